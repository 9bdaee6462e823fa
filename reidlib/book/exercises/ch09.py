"""Chapter 9: the CMC curve and mean average precision, from a distance matrix."""

from __future__ import annotations

import numpy as np

from ._core import as_numpy, call, close, fail, passed


def _first_match_ranks(distmat: np.ndarray, qp: np.ndarray, gp: np.ndarray) -> np.ndarray:
    """1-based rank of the first right gallery item of each query, ties counted against the model (Q,):
    1 + the number of wrong items at a distance <= the nearest right one."""
    ranks = []
    for row, q in zip(distmat, qp, strict=True):
        right, wrong = row[gp == q], row[gp != q]
        ranks.append(1 + int((wrong <= right.min()).sum()))
    return np.array(ranks)


def _cmc_truth(distmat, qp, gp, max_rank):
    first = _first_match_ranks(distmat, qp, gp)
    return np.array([(first <= k).mean() for k in range(1, max_rank + 1)])


def _precisions(distmat, qp, gp) -> list[np.ndarray]:
    """Per query, the precision at each right item, nearest first; ties count against the model: the k-th
    nearest right item sits at position k + (wrong items at a distance <= its own)."""
    out = []
    for row, q in zip(distmat, qp, strict=True):
        right, wrong = np.sort(row[gp == q]), row[gp != q]
        k = np.arange(1, len(right) + 1)
        out.append(k / (k + (wrong[None, :] <= right[:, None]).sum(1)))
    return out


def _ap_truth(distmat, qp, gp):
    return float(np.mean([p.mean() for p in _precisions(distmat, qp, gp)]))


def _pooled_precision(distmat, qp, gp) -> float:
    """The near-miss: one mean over every (query, right item) pair instead of a mean of per-query APs."""
    return float(np.mean(np.concatenate(_precisions(distmat, qp, gp))))


def _tie_mistakes(distmat, qp, gp) -> dict[str, tuple[np.ndarray, float]]:
    """The first-match ranks (Q,) and mAP of the usual mistakes with ties, by name."""
    out = {}
    hits = gp[np.argsort(distmat, axis=1, kind="stable")] == qp[:, None]  # ties broken by gallery order
    k = np.cumsum(hits, 1)
    positions = np.arange(1, hits.shape[1] + 1)
    out["gallery order"] = hits.argmax(1) + 1, float(np.mean((k / positions * hits).sum(1) / hits.sum(1)))
    firsts, aps, firsts_all, aps_all = [], [], [], []
    for row, q in zip(distmat, qp, strict=True):
        right, wrong = np.sort(row[gp == q]), row[gp != q]
        kk = np.arange(1, len(right) + 1)
        firsts.append(1 + (wrong < right[0]).sum())  # optimistic: only strictly nearer items count
        aps.append(np.mean(kk / (kk + (wrong[None] < right[:, None]).sum(1))))
        firsts_all.append((row <= right[0]).sum())  # every item as near, right ones included
        aps_all.append(np.mean(kk / (row[None] <= right[:, None]).sum(1)))
    out["optimistic"] = np.array(firsts), float(np.mean(aps))
    out["every tied item"] = np.array(firsts_all), float(np.mean(aps_all))
    return out


TIE_HINTS = {
    "gallery order": "ties are broken by the gallery's order (np.argsort): when a wrong item is exactly as far "
    "as a right one, rank the wrong one first (ties count against the model)",
    "optimistic": "ties count against the model: a wrong item exactly as far as a right one ranks before it "
    "(count the wrong items at distance <= the right one's, not <)",
    "every tied item": "only wrong items push a right one down: a tie between two right items changes nothing "
    "(count the wrong items at distance <= the right one's, plus the right items already found)",
}


def _cases(seed: int = 0):
    # Hand-made: 3 queries (persons 0, 1, 2), gallery persons [0, 1, 2, 3].
    # query 0 finds its match first; query 1 second; query 2 fourth.
    d = np.array([[0.1, 0.5, 0.7, 0.9], [0.2, 0.3, 0.8, 0.9], [0.1, 0.2, 0.9, 0.3]])
    yield d, np.array([0, 1, 2]), np.array([0, 1, 2, 3]), 4
    # Uneven numbers of right items: query 5 has three (ranks 1, 3, 5: AP = (1 + 2/3 + 3/5) / 3),
    # query 6 one (rank 2: AP = 1/2). mAP = (34/45 + 1/2) / 2; pooling all five precisions instead
    # gives (1 + 2/3 + 3/5 + 1/2) / 4.
    d = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.6, 0.1, 0.5, 0.2, 0.4, 0.3]])
    yield d, np.array([5, 6]), np.array([5, 6, 5, 7, 5, 8]), 6
    # Ties count against the model. Query 0 (person 0): its match, gallery item 0, is exactly as far as
    # item 1 (0.4) and item 2 is nearer: rank 3 (np.argsort would say 2). Query 1 (person 1): its match,
    # item 1, ties with items 2 and 3 at 0.5, and item 0 is nearer: rank 4 (np.argsort: 2).
    d = np.array([[0.4, 0.4, 0.1, 0.7], [0.2, 0.5, 0.5, 0.5]])
    yield d, np.array([0, 1]), np.array([0, 1, 2, 3]), 4
    # Person 5 has two right items, tied with each other and with one wrong item at 0.3; another wrong
    # item is nearer: first match at rank 1 + 2 = 3; the right items sit at positions 3 and 4
    # (AP = (1/3 + 2/4) / 2): a tie between two right items changes nothing.
    yield np.array([[0.3, 0.3, 0.3, 0.1]]), np.array([5]), np.array([5, 5, 7, 8]), 4
    # A collapsed model (every distance 0) is last for every query: CMC 0, 0, 0, 1; AP 1/4.
    yield np.zeros((4, 4)), np.arange(4), np.array([2, 0, 3, 1]), 4
    rng = np.random.default_rng(seed)
    for q, g, ids, max_rank, levels in [
        (10, 15, 15, 10, 0),
        (12, 30, 10, 20, 0),
        (25, 25, 25, 20, 5),  # distances in steps of 1/4: many ties
        (15, 40, 12, 25, 3),
    ]:
        gp = rng.permutation(np.arange(g) % ids)  # ids may repeat in the gallery, some more often than others
        qp = rng.choice(np.unique(gp), size=q)  # every query has a match
        dist = rng.random((q, g)) if not levels else rng.integers(0, levels, size=(q, g)) / (levels - 1)
        yield dist, qp, gp, max_rank


def _cmc_hint(distmat, qp, gp, max_rank, got) -> str:
    want = _cmc_truth(distmat, qp, gp, max_rank)
    if np.allclose(got, 100 * want):
        return "return fractions in [0, 1], not percentages"
    if np.allclose(got, _cmc_truth(-distmat, qp, gp, max_rank)):
        return "a small distance means a good match: sort ascending (np.argsort(distmat[i]))"
    for name, (first, _) in _tie_mistakes(distmat, qp, gp).items():
        if np.allclose(got, [(first <= k).mean() for k in range(1, max_rank + 1)]):
            return TIE_HINTS[name]
    if np.allclose(got[1:], want[:-1]):
        return "an off-by-one: cmc[0] is rank 1, the share of queries whose match is the very first item"
    if np.any(np.diff(got) < -1e-9):
        return "the curve must never go down: a query found at rank r counts for every k >= r"
    return "for each query find the rank r of its first correct gallery item; cmc[k-1] = share of queries with r <= k"


def check_cmc(cmc) -> bool:
    """Check ``cmc(distmat (Q, G), query_pids (Q,), gallery_pids (G,), max_rank) -> (max_rank,)``.

    cmc[k-1] is the fraction of queries whose first correct gallery item is within the k nearest. Ties
    count against the model: a wrong item exactly as far as the right one ranks before it.
    """
    title = "cmc"
    for distmat, qp, gp, max_rank in _cases():
        want = _cmc_truth(distmat, qp, gp, max_rank)
        got = as_numpy(call(title, cmc, distmat.copy(), qp.copy(), gp.copy(), max_rank)).astype(np.float64)
        if got.shape == want.shape and not np.allclose(got, want, atol=1e-6):
            fail(
                title, np.round(want, 3).tolist(), np.round(got, 3).tolist(), _cmc_hint(distmat, qp, gp, max_rank, got)
            )
        close(title, want, got, atol=1e-6, hint=f"return one value per rank 1..max_rank, shape ({max_rank},)")
    return passed(title, "Rank 1 of the hand-made case is 1/3, rank 2 is 2/3 and rank 4 is 1; ties count against you.")


def check_mean_average_precision(mean_average_precision) -> bool:
    """Check ``mean_average_precision(distmat (Q, G), query_pids (Q,), gallery_pids (G,)) -> float``.

    AP of one query = mean, over its correct gallery items, of the precision at the rank of each;
    mAP = mean of AP over the queries. Ties count against the model: the k-th nearest right item
    ranks after every wrong item at a distance <= its own, at position k + (their number).
    """
    title = "mean_average_precision"
    for distmat, qp, gp, _ in _cases():
        want = _ap_truth(distmat, qp, gp)
        got = as_numpy(call(title, mean_average_precision, distmat.copy(), qp.copy(), gp.copy()))
        if got.size != 1:
            fail(title, "one number", f"an array of shape {got.shape}", "average the per-query APs into one float")
        got = float(got)
        hint = (
            "for each query: precision at the rank of each correct item (hits so far / rank), averaged over its "
            "correct items"
        )
        if abs(got - 100 * want) < 1e-6:
            hint = "return a fraction in [0, 1], not a percentage"
        elif abs(got - _ap_truth(-distmat, qp, gp)) < 1e-9:
            hint = "a small distance means a good match: sort ascending"
        elif abs(got - float(np.mean(1.0 / _first_match_ranks(distmat, qp, gp)))) < 1e-9:
            hint = "that is the mean reciprocal rank of the first match; AP averages over every correct item"
        elif abs(got - _pooled_precision(distmat, qp, gp)) < 1e-9:
            hint = (
                "average the precisions of each query first (its AP), then the APs over the queries: "
                "a query with many right items must not count more"
            )
        else:
            for name, (_, ap) in _tie_mistakes(distmat, qp, gp).items():
                if abs(got - ap) < 1e-9:
                    hint = TIE_HINTS[name]
                    break
        close(title, want, got, atol=1e-6, hint=hint)
    return passed(title, "The hand-made case has mAP = (1 + 1/2 + 1/4) / 3 = 0.583.")


def _paired_truth(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = np.subtract(a, b)
    return float(np.mean(d)), float(np.sqrt(np.var(d, ddof=1) / d.size))


def check_paired_difference(paired_difference) -> bool:
    """Check ``paired_difference(a (S,), b (S,)) -> (mean difference, standard error)``.

    ``a`` and ``b`` are the scores of two methods on the same S splits; the difference is
    paired split by split: mean of (a - b), and std(a - b, ddof=1) / sqrt(S).
    """
    title = "paired_difference"
    rng = np.random.default_rng(0)
    # hand-made: differences 2, 4, 6 -> mean 4, std 2, standard error 2 / sqrt(3)
    cases = [(np.array([52.0, 60.0, 71.0]), np.array([50.0, 56.0, 65.0]))]
    for s in (5, 10):
        split_effect = rng.normal(60, 8, size=s)  # some splits are harder for both methods
        cases.append((split_effect + 3 + rng.normal(0, 1.5, s), split_effect + rng.normal(0, 1.5, s)))
    # a method that wins on some splits and loses on others: differences of both signs
    cases.append((np.array([61.0, 55.0, 70.0, 48.0]), np.array([58.0, 57.0, 66.0, 50.0])))
    for a, b in cases:
        got = call(title, paired_difference, a.copy(), b.copy())
        try:
            mean, err = (float(v) for v in got)
        except (TypeError, ValueError):
            fail(
                title,
                "a pair of numbers (mean difference, standard error)",
                repr(got),
                "return d.mean(), d.std(ddof=1) / np.sqrt(len(d)) with d = a - b",
            )
        want_mean, want_err = _paired_truth(a, b)
        if abs(mean - want_mean) > 1e-6 * max(1.0, abs(want_mean)):
            hint = "the mean of a - b, split by split, with its sign"
            if abs(mean + want_mean) < 1e-6:
                hint = "the sign is flipped: a - b, not b - a"
            elif abs(mean - np.abs(a - b).mean()) < 1e-6:
                hint = "keep the sign of each difference: a split where b wins counts against a"
            fail(title, f"mean difference {want_mean:.4f}", f"{mean:.4f}", hint)
        if abs(err - want_err) > 1e-6 * max(1.0, want_err):
            d, s = a - b, len(a)
            hint = "the standard error of the mean of the split-by-split differences: d.std(ddof=1) / sqrt(S)"
            if abs(err - np.sqrt(a.var(ddof=1) / s + b.var(ddof=1) / s)) < 1e-6:
                hint = (
                    "that is the unpaired standard error; both methods ran on the same splits, so take "
                    "the differences split by split first (d = a - b): split difficulty cancels"
                )
            elif abs(err - d.std(ddof=0) / np.sqrt(s)) < 1e-6:
                hint = "use the sample standard deviation, ddof=1 (numpy's default is ddof=0)"
            elif abs(err - d.std(ddof=1)) < 1e-6:
                hint = "divide the standard deviation of the differences by sqrt(S) to get the standard error"
            fail(title, f"standard error {want_err:.4f}", f"{err:.4f}", hint)
    return passed(title, "Paired by split, the split-to-split difficulty cancels out.")
