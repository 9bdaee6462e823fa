"""Paired comparisons of an ablation table (reidlib.experiments.compare) against scipy and hand-made runs."""

import numpy as np
import pytest
from scipy import stats as sps

from reidlib.experiments.compare import difference, gap_closed, summarize_table


def _runs(rank1_per_split, queries=None):
    """Runs with rank-1 values; with ``queries`` (one list of 0/1 hits per split) also per-query ranks."""
    runs = []
    for s, v in enumerate(rank1_per_split):
        r = {"split": s, "rank1": v, "rank5": v, "rank10": v, "rank20": v, "mAP": v}
        if queries is not None:
            hits = queries[s]
            r.update(query_pids=list(range(len(hits))), ranks=[1 if h else 2 for h in hits])
            r["rank1"] = 100.0 * np.mean(hits)
        runs.append(r)
    return runs


def test_difference_is_scipys_paired_t_and_gives_the_detectable_effect():
    a, b = [54.0, 66.0, 75.0, 61.0], [50.0, 60.0, 70.0, 60.0]
    c = difference(_runs(a), _runs(b))
    ref = sps.ttest_rel(a, b)
    assert c["t"]["diff"] == pytest.approx(4.0) and c["t"]["p"] == pytest.approx(ref.pvalue)
    assert (c["t"]["low"], c["t"]["high"]) == pytest.approx(tuple(ref.confidence_interval()))
    assert c["mde"] > 0 and "bootstrap" not in c  # no per-query ranks recorded


def test_difference_refuses_other_splits():
    with pytest.raises(ValueError, match="same splits"):
        difference(_runs([1.0, 2.0]), _runs([1.0, 2.0, 3.0]))


def test_bootstrap_when_queries_are_recorded():
    rng = np.random.default_rng(0)
    qa = [rng.random(40) < 0.7 for _ in range(5)]
    qb = [rng.random(40) < 0.5 for _ in range(5)]
    c = difference(_runs([0] * 5, qa), _runs([0] * 5, qb))
    d = np.concatenate([100.0 * (a.astype(float) - b) for a, b in zip(qa, qb, strict=True)])
    assert c["bootstrap"]["diff"] == pytest.approx(d.mean())
    assert c["bootstrap"]["n"] == 40  # persons: the same 40 pids in every split
    assert c["t"]["diff"] == pytest.approx(d.mean())


def test_gap_closed_hand_computed():
    mean, oracle, paper = _runs([50, 60, 70]), _runs([60, 70, 80]), _runs([54, 66, 75])
    assert gap_closed(paper, mean, oracle) == {"share": pytest.approx(0.5)}  # (65 - 60) / (70 - 60)
    assert gap_closed(paper, mean, _runs([50, 60, 70])) is None  # no gap to close


def test_summarize_table_families_and_holm():
    table = {
        "methods": {
            "mean": {"splits": _runs([50, 60, 70, 55, 65])},
            "oracle": {"splits": _runs([60, 70, 80, 66, 74])},
            "paper": {"splits": _runs([54, 66, 75, 58, 70])},
            "softmax": {"splits": _runs([51, 59, 71, 56, 64])},
        }
    }
    summarize_table(table, {"mean": ("oracle", None)})
    m = table["methods"]
    for name in ("paper", "softmax", "oracle"):
        c = m[name]["summary"]["vs_mean"]
        assert c["family"] == 3 and c["holm_p"] >= c["t"]["p"]
    assert m["paper"]["summary"]["vs_mean"]["decision"] == 1  # +4, +6, +5, +3, +5: clearly higher
    assert m["softmax"]["summary"]["vs_mean"]["decision"] == 0  # +1, -1, +1, +1, -1
    assert m["paper"]["summary"]["vs_mean"]["gap_closed"]["share"] == pytest.approx(4.6 / 10.0)
    assert "gap_closed" not in m["oracle"]["summary"]["vs_mean"]
    assert m["paper"]["summary"]["rank1"]["mean"] == pytest.approx(64.6)


def test_test_time_ablation_is_compared_on_the_trained_side():
    own = [[1, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 0]]
    const = [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 0]]
    runs = _runs([0, 0, 0], own)
    for r, o, c in zip(runs, own, const, strict=True):
        ranks = lambda hits: [1 if h else 2 for h in hits]
        r["ablation"] = {
            "own": {"l2": {"rank1": r["rank1"], "ranks": ranks(o)}, "raw": {"rank1": 0.0, "ranks": [2] * 4}},
            "constant": {"l2": {"rank1": 100 * np.mean(c), "ranks": ranks(c)}, "raw": {"rank1": 0, "ranks": [2] * 4}},
        }
    table = {"methods": {"paper": {"splits": runs}}}
    summarize_table(table, {})
    tt = table["methods"]["paper"]["summary"]["test_time"]
    assert table["methods"]["paper"]["summary"]["trained_side"] == "l2"
    assert tt["own_vs_constant"]["t"]["diff"] == pytest.approx(100 * (9 - 6) / 12)
    assert tt["own_vs_l2"]["t"]["diff"] == pytest.approx(75.0)


def test_a_row_with_fewer_splits_is_paired_on_the_splits_it_has():
    """A method still running (splits 0-2 of 5) is compared with mean pooling on those three splits only."""
    mean = _runs([50, 60, 70, 55, 65])
    partial = _runs([54, 66, 75])
    table = summarize_table({"methods": {"mean": {"splits": mean}, "paper": {"splits": partial}}})
    s = table["methods"]["paper"]["summary"]
    ref = sps.ttest_rel([54, 66, 75], [50, 60, 70])
    assert s["splits"] == 3 and table["methods"]["mean"]["summary"]["splits"] == 5
    assert s["vs_mean"]["t"]["n"] == 3 and s["vs_mean"]["t"]["p"] == pytest.approx(ref.pvalue)
    assert s["vs_mean"]["t"]["diff"] == pytest.approx(5.0)
    one = summarize_table({"methods": {"mean": {"splits": mean}, "paper": {"splits": partial[:1]}}})
    assert "vs_mean" not in one["methods"]["paper"]["summary"]  # one split: no interval, no comparison
