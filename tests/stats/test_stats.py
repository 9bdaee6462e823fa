"""reidlib.stats against scipy, hand-computed cases, brute force and simulation."""

import math
import statistics

import numpy as np
import pytest
from scipy import stats as sps

from reidlib import stats


def test_mean_std_is_the_sample_standard_deviation_and_zero_for_one_run():
    values = [61.0, 55.5, 70.25]
    assert stats.mean_std(values) == pytest.approx({"mean": statistics.mean(values), "std": statistics.stdev(values)})
    assert stats.mean_std([42.0]) == {"mean": 42.0, "std": 0.0}  # one split: no spread measured, not NaN
    with pytest.raises(ValueError, match="one number per run"):
        stats.mean_std([])


def test_paired_t_equals_scipy_ttest_rel():
    rng = np.random.default_rng(1)
    for n in (2, 3, 10, 40):
        a, b = rng.normal(50, 5, n), rng.normal(48, 5, n)
        d = stats.paired_t(a, b)
        ref = sps.ttest_rel(a, b)
        ci = ref.confidence_interval(0.95)
        assert d.p == pytest.approx(ref.pvalue, rel=1e-9)
        assert (d.low, d.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
        assert d.diff == pytest.approx(np.mean(a - b)) and d.n == n


def test_three_splits_need_4_30_standard_errors():
    """The old 2-SE rule at 2 degrees of freedom: the headline case 7.5, 7.5, 0 has t = 2 exactly."""
    d = stats.paired_t([7.5, 7.5, 0.0], [0.0, 0.0, 0.0])
    assert d.diff == 5.0 and d.se == pytest.approx(2.5)
    assert (d.high - d.diff) / d.se == pytest.approx(4.302652729749464)
    assert stats.decide(d) == 0


def test_verdict_does_not_flip_on_the_last_bit():
    """t = 2.000 (the case that decided the old verdict by a floating-point tie) and cases on the edge of
    the printed interval give the same verdict after perturbations of 1e-12."""
    rng = np.random.default_rng(0)
    base = np.array([7.5, 7.5, 0.0])
    verdicts = {stats.decide(stats.paired_t(base + rng.normal(0, 1e-12, 3), np.zeros(3))) for _ in range(200)}
    assert verdicts == {0}
    checked = 0
    for _ in range(2000):
        a = rng.normal(1.0, 2.0, 10)
        d = stats.paired_t(a, np.zeros(10))
        edges = np.array([d.low, d.high])
        if np.min(np.abs(np.abs(edges) - 0.05)) < 1e-6:  # exactly on a printing boundary: skip
            continue
        for _ in range(3):
            assert stats.decide(stats.paired_t(a + rng.normal(0, 1e-12, 10), np.zeros(10))) == stats.decide(d)
        checked += 1
    assert checked > 1900


def test_decide_agrees_with_the_printed_interval():
    rng = np.random.default_rng(2)
    for _ in range(500):
        d = stats.paired_t(rng.normal(rng.normal(0, 1), 1, 5), np.zeros(5))
        text = stats.interval_text(d)
        low, high = (float(x) for x in text.split("CI ")[1].rstrip(")").split(" to "))
        assert stats.decide(d) == (1 if low > 0 else -1 if high < 0 else 0), text


def test_equal_differences_give_no_interval_and_no_verdict():
    """'sigmoid weighted mean vs mean: -2.5 ± 0.0' was called a loss on a zero standard error of 3 splits."""
    d = stats.paired_t([40.0, 42.5, 37.5], [42.5, 45.0, 40.0])
    assert d.diff == -2.5 and d.se == 0.0 and math.isnan(d.low) and stats.decide(d) == 0
    assert "the same in all 3 splits, so no interval" in stats.interval_text(d)
    one = stats.paired_t([3.0], [1.0])
    assert math.isnan(one.se) and stats.decide(one) == 0 and "one of the splits" in stats.interval_text(one)


def test_interval_text():
    d = stats.Difference(4.0, 0.8, 2.4, 5.6, 0.001, 10, "splits", "t")
    assert stats.interval_text(d) == "+4.0 points (95% CI 2.4 to 5.6)"


def test_holm_hand_computed_and_monotone():
    # p = 0.01, 0.04, 0.03, 0.005 -> sorted 0.005, 0.01, 0.03, 0.04 x 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04
    # -> cumulative max 0.02, 0.03, 0.06, 0.06
    adj = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adj == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    nan = stats.holm([0.01, math.nan, 0.02])
    assert nan[0] == pytest.approx(0.02) and math.isnan(nan[1]) and nan[2] == pytest.approx(0.02)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        stats.holm([1.5])


def test_holm_is_bonferroni_for_the_smallest_and_never_below_the_raw_p():
    rng = np.random.default_rng(3)
    for m in (1, 2, 5, 17):
        p = rng.uniform(0, 0.2, m)
        adj = stats.holm(p)
        assert (adj >= p - 1e-15).all() and (adj <= 1).all()
        assert adj[np.argmin(p)] == pytest.approx(min(1, m * p.min()))


def test_detectable_effect_has_the_asked_power_by_simulation():
    """Simulate normal differences with the returned effect: the t-test finds it 80% of the time."""
    sd, n = 3.0, 10
    effect = stats.detectable_effect(sd, n)
    approx = (sps.t.ppf(0.975, n - 1) + sps.t.ppf(0.8, n - 1)) * sd / math.sqrt(n)
    assert effect == pytest.approx(approx, rel=0.05)
    rng = np.random.default_rng(4)
    d = rng.normal(effect, sd, (20_000, n))
    p = sps.ttest_1samp(d, 0.0, axis=1).pvalue
    assert (p < 0.05).mean() == pytest.approx(0.8, abs=0.01)
    assert stats.detectable_effect(sd, 40) < effect and math.isnan(stats.detectable_effect(sd, 1))
    two = stats.detectable_effect(1.0, 2)  # one degree of freedom: the solver must not stop on a NaN tail
    p2 = sps.ttest_1samp(rng.normal(two, 1.0, (20_000, 2)), 0.0, axis=1).pvalue
    assert (p2 < 0.05).mean() == pytest.approx(0.8, abs=0.01)
    assert stats.detectable_effect_normal(1.0) == pytest.approx(1.959964 + 0.841621, rel=1e-5)


def test_person_bootstrap_matches_brute_force():
    rng = np.random.default_rng(5)
    persons = np.repeat(np.arange(12), 3)  # each person tested in 3 splits
    d = rng.normal(1, 3, persons.size) + np.repeat(rng.normal(0, 2, 12), 3)  # correlated within a person
    res = stats.person_bootstrap(d, persons, resamples=2000, seed=7)
    # brute force: the same draws, person by person
    draw_rng = np.random.default_rng(7)
    counts = draw_rng.multinomial(12, np.full(12, 1 / 12), size=2000)
    brute = np.array(
        [np.concatenate([np.repeat(d[persons == p], c) for p, c in enumerate(row)]).mean() for row in counts]
    )
    assert (res.low, res.high) == pytest.approx(tuple(np.quantile(brute, [0.025, 0.975])))
    assert res.diff == pytest.approx(d.mean()) and res.n == 12 and res.unit == "persons"


def test_person_bootstrap_one_row_per_person_is_scipys_bootstrap():
    rng = np.random.default_rng(6)
    d = rng.normal(2, 5, 150)
    ours = stats.person_bootstrap(d, np.arange(150), resamples=40_000, seed=1)
    ref = sps.bootstrap((d,), np.mean, n_resamples=40_000, method="percentile", random_state=2)
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.1)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.1)
    assert ours.se == pytest.approx(ref.standard_error, rel=0.03)


def test_person_bootstrap_is_wider_when_splits_share_persons():
    """The same person in every split is one piece of evidence, not ten: clustering widens the interval."""
    rng = np.random.default_rng(8)
    person_effect = rng.normal(0, 4, 30)
    persons = np.tile(np.arange(30), 10)  # 10 splits of the same 30 persons
    d = person_effect[persons] + rng.normal(0, 1, persons.size)
    clustered = stats.person_bootstrap(d, persons, resamples=4000)
    naive = stats.person_bootstrap(d, np.arange(d.size), resamples=4000)
    assert clustered.high - clustered.low > 2 * (naive.high - naive.low)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: stats.paired_t([1, 2], [1, 2, 3]), "same length"),
        (lambda: stats.paired_t([1, math.nan], [1, 2]), "finite"),
        (lambda: stats.paired_t([], []), "at least one pair"),
        (lambda: stats.person_bootstrap([1.0, 2.0], [1]), "one person id per query row"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_person_bootstrap_of_a_ratio():
    """The share of a gap: sum(num) / sum(den), resampled by person; hand-checked draws."""
    num = np.array([1.0, 0.0, 1.0, 0.0])
    den = np.array([1.0, 1.0, 1.0, 0.0])
    res = stats.person_bootstrap(num, np.array([0, 0, 1, 1]), resamples=500, denominator=den)
    assert res.diff == pytest.approx(2 / 3)
    # person 0 contributes (1, 2), person 1 (1, 1): any draw is 2/4, 2/3 or 1/1... so every draw lies in [1/2, 1]
    assert 0.5 <= res.low <= res.high <= 1.0
