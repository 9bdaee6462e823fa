"""Comparing two methods honestly (chapters 9 and 11): paired intervals, a bootstrap over persons,
Holm's correction, and the smallest effect a design can detect.

Two methods measured on the same splits (or the same queries) are compared through their
paired differences d_i = a_i - b_i. :func:`paired_t` gives the mean of d with a Student-t
interval on n - 1 degrees of freedom: with 3 splits the 95% cut-off is 4.30 standard errors,
not 2. Random splits of one population share test persons, so the splits are not independent
and their interval is optimistic; :func:`person_bootstrap` resamples the *persons* (each with
all its queries in every split) as a cross-check. :func:`holm` corrects a family of p-values
for the number of comparisons, and :func:`detectable_effect` says how large a true difference
a design finds with 80% power.

:func:`decide` turns an interval into a verdict from the numbers as they are printed, so that a
verdict can never disagree with its own sentence, nor flip on the last bit of a float.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

CONFIDENCE = 0.95  # of every interval the book prints
POWER = 0.8  # of every "smallest detectable effect"
RESOLUTION = 0.1  # the precision, in points, at which the book prints and decides differences


@dataclass(frozen=True)
class Difference:
    """A paired difference a - b and its two-sided interval.

    ``diff``: the mean difference; ``se``: its standard error; ``low``, ``high``: the interval at
    ``confidence``; ``p``: the two-sided p-value of "no difference"; ``n``: the paired units
    (splits, queries or persons, named by ``unit``); ``method``: "t" or "bootstrap".
    """

    diff: float
    se: float
    low: float
    high: float
    p: float
    n: int
    unit: str
    method: str
    confidence: float = CONFIDENCE

    def to_dict(self) -> dict:
        return asdict(self)


def mean_std(values) -> dict:
    """``{"mean", "std"}`` of one number per run (split): the ``mean ± std`` of every table of runs, the
    sample standard deviation (ddof=1; 0 for a single run). A std says how runs spread, not how well the
    mean is known (that is the standard error, std / sqrt(n), of :func:`paired_t`)."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"mean_std needs one number per run, at least one; found shape {v.shape}.")
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0}


def _as_pairs(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"paired differences need two 1-D arrays of the same length (one value per split or query); "
            f"found shapes {a.shape} and {b.shape}."
        )
    if not np.isfinite(a).all() or not np.isfinite(b).all():
        raise ValueError("paired values must be finite; found NaN or inf. Drop the unfinished runs first.")
    return a - b


def paired_t(a, b, confidence: float = CONFIDENCE, unit: str = "splits") -> Difference:
    """Mean of a - b over paired units with a Student-t interval (n - 1 degrees of freedom).

    Equals ``scipy.stats.ttest_rel(a, b)`` (its p-value and ``confidence_interval``). With one
    pair, or with differences that are all equal, the sample gives no estimate of the spread
    (a zero standard deviation of 3 splits is luck, not certainty): the interval and p are NaN,
    and :func:`decide` calls it undecided.
    """
    d = _as_pairs(a, b)
    n = d.size
    if n == 0:
        raise ValueError("paired_t needs at least one pair; found none.")
    mean = float(d.mean())
    if n == 1:
        return Difference(mean, math.nan, math.nan, math.nan, math.nan, 1, unit, "t", confidence)
    se = float(d.std(ddof=1) / math.sqrt(n))
    if se == 0.0:  # every pair differs by the same amount: the spread cannot be estimated
        return Difference(mean, 0.0, math.nan, math.nan, math.nan, n, unit, "t", confidence)
    crit = float(sps.t.ppf((1 + confidence) / 2, n - 1))
    p = float(2 * sps.t.sf(abs(mean) / se, n - 1))
    return Difference(mean, se, mean - crit * se, mean + crit * se, p, n, unit, "t", confidence)


def person_bootstrap(
    diffs,
    persons,
    resamples: int = 10_000,
    confidence: float = CONFIDENCE,
    seed: int = 0,
    denominator=None,
) -> Difference:
    """Mean of per-query differences with a percentile interval from resampling *persons*.

    Args:
        diffs: one difference a - b per (split, query), e.g. 100 x (hit of a - hit of b) for rank-1.
        persons: the person id of each row. A person tested in several splits is one cluster: it is
            drawn (or not) with all its rows, so that persons shared by random splits are not
            counted as independent evidence.
        resamples: bootstrap draws. seed: their generator's seed (the result is reproducible).
        denominator: another difference per row (e.g. oracle - mean): the statistic is then the
            ratio sum(diffs) / sum(denominator), e.g. the share of the oracle's gap a head closes.

    The statistic is the mean over rows (with equal queries per split: the mean of the splits'
    differences). ``se`` is the bootstrap standard deviation; ``p`` is twice the smaller share of
    draws on either side of 0 (at least 1 / resamples); ``n`` counts persons.
    """
    d = np.asarray(diffs, dtype=float)
    persons = np.asarray(persons)
    den = np.ones_like(d) if denominator is None else np.asarray(denominator, dtype=float)
    if d.ndim != 1 or persons.shape != d.shape or den.shape != d.shape or d.size == 0:
        raise ValueError(
            f"person_bootstrap needs one difference and one person id per query row; found {d.shape} "
            f"differences, {den.shape} denominators and {persons.shape} ids."
        )
    if not (np.isfinite(d).all() and np.isfinite(den).all()):
        raise ValueError("the differences must be finite; found NaN or inf.")
    ids, cluster = np.unique(persons, return_inverse=True)
    sums = np.bincount(cluster, weights=d, minlength=len(ids))  # (P,) each person's sum of differences
    dens = np.bincount(cluster, weights=den, minlength=len(ids))  # (P,) each person's rows (or denominator)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(ids), np.full(len(ids), 1 / len(ids)), size=resamples)  # (R, P)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = (counts @ sums) / (counts @ dens)  # (R,) the statistic of each resample
    draws = draws[np.isfinite(draws)]
    alpha = 1 - confidence
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2 * max(min((draws <= 0).mean(), (draws >= 0).mean()), 1 / resamples))
    return Difference(
        float(d.sum() / den.sum()), float(draws.std(ddof=1)), float(low), float(high), float(p), len(ids),
        "persons", "bootstrap", confidence,
    )  # fmt: skip


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (same order as given).

    Sorted ascending, the k-th smallest (k = 0, 1, ...) is multiplied by (m - k), made
    non-decreasing, and capped at 1; a comparison is significant at level alpha when its
    adjusted p is below alpha. It controls the chance of any false claim in the family.
    NaN p-values (comparisons without a spread) stay NaN and do not count in m.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ValueError(f"p-values must lie in [0, 1]; found {p[ok].min()} .. {p[ok].max()}.")
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def detectable_effect(sd: float, n: int, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """The smallest true mean difference that a two-sided paired t-test on n pairs, whose differences
    have standard deviation ``sd``, finds with probability ``power`` at level 1 - ``confidence``.

    Solved exactly with the noncentral t distribution (df = n - 1, noncentrality delta sqrt(n) / sd);
    about (t_crit + t_power) sd / sqrt(n). NaN when n < 2 or sd is not finite; 0 when sd = 0.
    """
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if sd == 0:
        return 0.0
    df = n - 1
    crit = sps.t.ppf((1 + confidence) / 2, df)

    def shortfall(delta: float) -> float:
        nc = delta * math.sqrt(n) / sd
        below = sps.nct.cdf(-crit, df, nc)  # rejecting on the wrong side: negligible, and NaN where it underflows
        return sps.nct.sf(crit, df, nc) + (0.0 if math.isnan(below) else below) - power

    hi = sd / math.sqrt(n)
    while shortfall(hi) < 0:
        hi *= 2
    return float(optimize.brentq(shortfall, 0.0, hi, xtol=1e-10 * hi))


def detectable_effect_normal(se: float, confidence: float = CONFIDENCE, power: float = POWER) -> float:
    """The same for an estimate with a normal sampling distribution of standard error ``se`` (e.g. the
    bootstrap): (z_crit + z_power) x se, about 2.8 se."""
    return float((sps.norm.ppf((1 + confidence) / 2) + sps.norm.ppf(power)) * se)


def shown(x: float, resolution: float = RESOLUTION) -> float:
    """``x`` as it is printed at ``resolution`` (0.1: one decimal), as a number."""
    digits = max(0, -int(math.floor(math.log10(resolution) + 1e-9)))
    return float(f"{x:.{digits}f}")


def decide(d: Difference, p_adjusted: float | None = None, resolution: float = RESOLUTION) -> int:
    """+1 when a is higher, -1 when lower, 0 when the design cannot tell.

    Decided on the interval *as printed* at ``resolution``: +1 needs the printed lower bound
    above 0, -1 the printed upper bound below 0. A verdict therefore always agrees with the
    numbers beside it, and a difference that sits on the edge does not flip with the last bit
    of a float. With ``p_adjusted`` (e.g. from :func:`holm`), it must also be below 1 - confidence.
    """
    if not (math.isfinite(d.low) and math.isfinite(d.high)):
        return 0
    if p_adjusted is not None and not (p_adjusted < 1 - d.confidence):
        return 0
    if shown(d.low, resolution) > 0:
        return 1
    if shown(d.high, resolution) < 0:
        return -1
    return 0


def interval_text(d: Difference, resolution: float = RESOLUTION, what: str = "points") -> str:
    """ "+4.0 points (95% CI 2.4 to 5.6)": a difference and its interval, as the book writes them."""
    digits = max(0, -int(math.floor(math.log10(resolution) + 1e-9)))

    def num(x: float, sign: str = "") -> str:
        return f"{shown(x, resolution) + 0.0:{sign}.{digits}f}"  # + 0.0: no "-0.0"

    if not (math.isfinite(d.low) and math.isfinite(d.high)):
        why = f"one of the {d.unit}" if d.n < 2 else f"the same in all {d.n} {d.unit}"
        return f"{num(d.diff, '+')} {what} ({why}, so no interval)"
    level = f"{100 * d.confidence:.0f}% CI"
    return f"{num(d.diff, '+')} {what} ({level} {num(d.low)} to {num(d.high)})"
