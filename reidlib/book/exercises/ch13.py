"""Chapter 13: batch-hard mining, camera-aware CMC (the MARS protocol) and k-reciprocal neighbours.

The answers are computed here by plain loops, one anchor, query or item at a time, from the
definitions the chapter states; the library's vectorised versions are not used.
"""

from __future__ import annotations

import numpy as np

from ._core import as_numpy, call, fail, passed

# ---------------------------------------------------------------- batch-hard mining


def _batch_hard_truth(dist: np.ndarray, pids: np.ndarray, margin: float) -> np.ndarray:
    out = np.zeros(len(pids))
    for a in range(len(pids)):
        pos = [dist[a, j] for j in range(len(pids)) if j != a and pids[j] == pids[a]]
        neg = [dist[a, j] for j in range(len(pids)) if pids[j] != pids[a]]
        out[a] = max(0.0, margin + max(pos) - min(neg))
    return out


def _points(rng: np.random.Generator, pids: np.ndarray, spread: float) -> np.ndarray:
    """Distances among 2-D points clustered by person (symmetric, zero diagonal, no ties)."""
    centres = {p: rng.normal(0.0, 1.0, 2) for p in np.unique(pids)}
    x = np.stack([centres[p] + rng.normal(0.0, spread, 2) for p in pids])
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def _batch_hard_cases():
    # Hand-made: persons 7 (rows 0-2) and 9 (rows 3-4). Anchor 0: positives at 0.2 and 0.9 (hardest
    # 0.9), negatives at 1.0 and 1.6 (hardest 1.0): loss max(0, 0.5 + 0.9 - 1.0) = 0.4.
    d = np.array(
        [
            [0.0, 0.2, 0.9, 1.0, 1.6],
            [0.2, 0.0, 0.4, 0.3, 1.2],
            [0.9, 0.4, 0.0, 2.5, 2.0],
            [1.0, 0.3, 2.5, 0.0, 0.7],
            [1.6, 1.2, 2.0, 0.7, 0.0],
        ]
    )
    yield d, np.array([7, 7, 7, 9, 9]), 0.5
    rng = np.random.default_rng(13)
    for p, k, spread, margin in [(3, 3, 0.4, 0.3), (4, 2, 0.6, 1.0), (5, 4, 0.3, 0.2)]:
        pids = rng.permutation(np.repeat(rng.choice(100, p, replace=False), k))  # not person-major
        yield _points(rng, pids, spread), pids, margin
    pids = np.array([3, 3, 3, 3, 8, 8, 5, 5, 5])  # uneven K
    yield _points(rng, pids, 0.5), pids, 0.4


def check_batch_hard(batch_hard) -> bool:
    """Check ``batch_hard(dist (B, B), pids (B,), margin) -> losses (B,)``.

    For every anchor a: the hardest positive is the farthest other sample of a's person, the hardest
    negative the nearest sample of another person, and the loss max(0, margin + d_pos - d_neg).
    """
    title = "batch_hard"
    for dist, pids, margin in _batch_hard_cases():
        want = _batch_hard_truth(dist, pids, margin)
        got = as_numpy(call(title, batch_hard, dist.copy(), pids.copy(), margin)).astype(np.float64)
        if got.shape != want.shape:
            fail(
                title,
                f"one loss per anchor, shape {want.shape}",
                f"shape {got.shape}",
                "return the vector of per-anchor losses; the mean comes later",
            )
        if not np.allclose(got, want, atol=1e-9):
            pos = [max(dist[a, pids == pids[a]]) for a in range(len(pids))]
            neg = [min(dist[a, pids != pids[a]]) for a in range(len(pids))]
            easy_pos = [min(dist[a, (pids == pids[a]) & (np.arange(len(pids)) != a)]) for a in range(len(pids))]
            hint = "hardest positive = the farthest sample of the same person; hardest negative = the nearest other"
            if np.allclose(got, np.maximum(0, margin + np.array(easy_pos) - neg)):
                hint = "that is the easiest positive (the nearest); batch-hard takes the farthest one"
            elif np.allclose(got, margin + np.array(pos) - neg):
                hint = "clip at zero: an anchor whose negative is already far enough costs nothing"
            elif np.any(got < 0):
                hint = "a hinge is never negative: max(0, ...)"
            a = int(np.argmax(np.abs(got - want)))
            fail(title, f"{want[a]:.4f} for anchor {a} (pids {pids.tolist()}, margin {margin})", f"{got[a]:.4f}", hint)
    return passed(title, "Every anchor is pulled to its farthest positive and pushed from its nearest negative.")


# ---------------------------------------------------------------- camera-aware CMC


def _camera_cmc_truth(
    dist, qp, gp, qc, gc, max_rank, whole_camera: bool = False, optimistic: bool = False
) -> np.ndarray:
    """The CMC of the MARS protocol, ties counted against the model (chapter 9): rank = 1 + the kept wrong
    items at a distance <= the nearest right one. ``whole_camera`` drops every item of the query's camera,
    ``optimistic`` counts only strictly nearer wrong items (two mistakes)."""
    ranks = []
    for i in range(len(qp)):
        keep = [j for j in range(len(gp)) if not ((whole_camera or gp[j] == qp[i]) and gc[j] == qc[i])]
        right = [dist[i, j] for j in keep if gp[j] == qp[i]]
        if not right:
            continue  # no right match left: the query is skipped
        wrong = [dist[i, j] for j in keep if gp[j] != qp[i]]
        ranks.append(1 + sum(d < min(right) if optimistic else d <= min(right) for d in wrong))
    ranks = np.array(ranks)
    return np.array([(ranks <= k).mean() for k in range(1, max_rank + 1)])


def _camera_cases():
    # Hand-made: queries (person, camera) (1, 0), (2, 1), (3, 0). Gallery: 0 (1, cam 0), 1 (2, cam 0),
    # 2 (1, cam 1), 3 (3, cam 0), 4 (2, cam 1), 5 (4, cam 1).
    # Query 0: its nearest item 0 is the rest of its walk in its own camera (ignored); then 1 and 5
    #   (wrong) and 2 (right): rank 3 (naive: rank 1; dropping every camera-0 item, other persons'
    #   too, would give rank 2). Query 1: item 4 is its person in its camera (ignored); item 1 at 0.3 is
    #   right (camera 0): rank 1. Query 2: its only match, item 3, shares its camera: skipped.
    #   CMC = [1/2, 1/2, 1, 1].
    d = np.array(
        [
            [0.1, 0.4, 0.5, 0.9, 0.8, 0.45],
            [0.6, 0.3, 0.8, 0.5, 0.1, 0.4],
            [0.7, 0.6, 0.5, 0.1, 0.9, 0.4],
        ]
    )
    yield d, np.array([1, 2, 3]), np.array([1, 2, 1, 3, 2, 4]), np.array([0, 1, 0]), np.array([0, 0, 1, 0, 1, 1]), 4
    rng = np.random.default_rng(31)
    for q, persons, cams, per_cam, max_rank in [(12, 8, 3, 2, 6), (20, 10, 4, 2, 10), (15, 6, 6, 1, 8)]:
        gp = np.repeat(np.arange(persons), cams * per_cam)
        gc = np.tile(np.repeat(np.arange(cams), per_cam), persons)
        qp, qc = rng.integers(persons, size=q), rng.integers(cams, size=q)
        # same person, same camera: the nearest items (as a tracker's pieces of one walk are)
        same = (qp[:, None] == gp[None]).astype(float)
        dist = rng.uniform(0.2, 1.0, (q, len(gp))) - 0.25 * same - 0.3 * same * (qc[:, None] == gc[None])
        keep = rng.random(len(gp)) > 0.2  # gallery items lost at random
        for i in range(2):  # two queries seen again only by their own camera: they must be skipped
            keep &= ~((gp == qp[i]) & (gc != qc[i]))
        yield dist[:, keep], qp, gp[keep], qc, gc[keep], max_rank
    # a case where no query is skipped, but other persons share the queries' cameras
    gp, gc = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 0, 1])
    dist = np.array([[0.1, 0.5, 0.2, 0.7, 0.3, 0.9], [0.8, 0.6, 0.2, 0.1, 0.4, 0.3]])
    yield dist, np.array([0, 1]), gp, np.array([0, 1]), gc, 3
    # ties count against the model: query 0's right match (item 1, camera 1) is exactly as far as item 2
    # (another person): rank 2, not 1; query 1's (item 2, camera 0) ties with items 4 and 5: rank 3
    dist = np.array([[0.8, 0.5, 0.5, 0.7, 0.6, 0.9], [0.8, 0.6, 0.4, 0.9, 0.4, 0.4]])
    yield dist, np.array([0, 1]), gp, np.array([0, 1]), gc, 3


def check_camera_aware_cmc(camera_aware_cmc) -> bool:
    """Check ``camera_aware_cmc(distmat (Q, G), query_pids, gallery_pids, query_camids, gallery_camids,
    max_rank) -> (max_rank,)``, the CMC curve of the MARS protocol.

    Each query ignores the gallery items of its own person in its own camera; other persons' items in
    that camera still count. A query with no right match left is skipped (not counted at all). Ties count
    against the model, as in chapter 9.
    """
    title = "camera_aware_cmc"
    for case in _camera_cases():
        dist, qp, gp, qc, gc, max_rank = case
        want = _camera_cmc_truth(dist, qp, gp, qc, gc, max_rank)
        got = as_numpy(
            call(title, camera_aware_cmc, dist.copy(), qp.copy(), gp.copy(), qc.copy(), gc.copy(), max_rank)
        ).astype(np.float64)
        if got.shape != want.shape:
            fail(title, f"one value per rank, shape {want.shape}", f"shape {got.shape}", "return cmc[0 .. max_rank-1]")
        if not np.allclose(got, want, atol=1e-9):
            no_cams = _camera_cmc_truth(dist, qp, gp, qc - 10**6, gc, max_rank)  # nothing is ever ignored
            hint = "per query: drop its person's items from its camera, skip it if no match is left, then rank"
            if np.allclose(got, no_cams):
                hint = "that is the naive CMC: ignore the query's person in the query's own camera"
            elif np.allclose(got, _camera_cmc_truth(dist, qp, gp, qc, gc, max_rank, whole_camera=True)):
                hint = "ignore only the query's own person in its camera: other persons there still count as wrong"
            elif np.allclose(got, 100 * want):
                hint = "return fractions in [0, 1], not percentages"
            elif np.allclose(got, _camera_cmc_truth(dist, qp, gp, qc, gc, max_rank, optimistic=True)):
                hint = (
                    "ties count against the model (chapter 9): a wrong item exactly as far as the right one "
                    "ranks before it; np.argsort breaks ties by gallery order"
                )
            elif np.any(np.diff(got) < -1e-12):
                hint = "a CMC curve never goes down"
            fail(title, np.round(want, 4).tolist(), np.round(got, 4).tolist(), hint)
    return passed(title, "The hand-made case: ranks 3 and 1 for two queries (the third is skipped): CMC 1/2, 1/2, 1.")


# ---------------------------------------------------------------- k-reciprocal neighbours


def _neighbours(dist: np.ndarray, p: int, k: int) -> set[int]:
    """N(p, k): p and its k nearest other items."""
    others = sorted((j for j in range(len(dist)) if j != p), key=lambda j: dist[p, j])
    return {p, *others[:k]}


def _reciprocal_truth(dist: np.ndarray, p: int, k: int) -> list[int]:
    return sorted(i for i in _neighbours(dist, p, k) if p in _neighbours(dist, i, k))


def _reciprocal_cases():
    # Hand-made, 5 points on a line at 0, 1, 1.5, 4, 4.2. With k = 2, N(0) = {0, 1, 2}; N(1) = {1, 2, 0};
    # N(2) = {2, 1, 0}: R(0, 2) = [0, 1, 2]. N(3) = {3, 4, 2}, but N(2) does not contain 3: R(3, 2) = [3, 4].
    x = np.array([0.0, 1.0, 1.5, 4.0, 4.2])
    line = np.abs(x[:, None] - x[None])
    yield line, 0, 2
    yield line, 3, 2
    rng = np.random.default_rng(17)
    for n, k in [(12, 3), (20, 5), (30, 4), (16, 1)]:
        pids = np.arange(n) % max(n // 4, 2)
        dist = _points(rng, pids, 0.6)
        for p in rng.choice(n, 3, replace=False):
            yield dist, int(p), k


def check_k_reciprocal(k_reciprocal) -> bool:
    """Check ``k_reciprocal(dist (N, N), p, k) -> sorted list of indices``, R(p, k) of Zhong et al.

    N(i, k) is item i itself and its k nearest other items; R(p, k) holds the i in N(p, k) with p in
    N(i, k) (p itself included).
    """
    title = "k_reciprocal"
    for dist, p, k in _reciprocal_cases():
        want = _reciprocal_truth(dist, p, k)
        raw = call(title, k_reciprocal, dist.copy(), p, k)
        try:
            got = sorted(int(i) for i in as_numpy(raw).ravel())
        except (TypeError, ValueError):
            fail(title, "a list of item indices", repr(raw), "return the indices i of the k-reciprocal neighbours")
        if got != want:
            hint = "keep i in N(p, k) only when p is in N(i, k) too"
            nearest = sorted(_neighbours(dist, p, k))
            if got == nearest:
                hint = "these are the k nearest neighbours of p; keep only those that have p among theirs"
            elif got == [i for i in want if i != p]:
                hint = "include p itself: N(p, k) starts with p"
            elif got == _reciprocal_truth_k_with_self(dist, p, k):
                hint = "N(p, k) is p and its k nearest *other* items: k + 1 items in all"
            fail(title, f"{want} for p={p}, k={k}", got, hint)
    return passed(title, "A true match tends to have you among its neighbours too; an impostor often does not.")


def _reciprocal_truth_k_with_self(dist: np.ndarray, p: int, k: int) -> list[int]:
    """The off-by-one: k items in all, p included (k - 1 others)."""
    near = lambda i: _neighbours(dist, i, k - 1) if k > 1 else {i}  # noqa: E731
    return sorted(i for i in near(p) if p in near(i))
