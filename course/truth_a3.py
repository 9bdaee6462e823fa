"""Hidden tests of assignment A3: camera-aware CMC and mAP with pessimistic ties, and the paired
difference over splits when some runs are missing. Autograder only (see grading.py).

The truths are loops over one query at a time, written for clarity; the cases include ties, gallery
items of the query's own camera, queries with no valid match and splits with missing scores.
"""

from __future__ import annotations

import numpy as np
from grading import call


def _valid_ranking(row, q_pid, q_cam, g_pids, g_cams):
    """Right/wrong labels of the valid gallery items, nearest first, ties with the wrong items first."""
    keep = ~((g_pids == q_pid) & (g_cams == q_cam))  # same person in the same camera: not a valid item
    d, right = row[keep], g_pids[keep] == q_pid
    order = sorted(range(len(d)), key=lambda i: (d[i], bool(right[i])))  # a tie counts against the model
    return right[order]


def cmc_truth(distmat, q_pids, g_pids, q_cams, g_cams, max_rank):
    hits, used = np.zeros(max_rank), 0
    for row, qp, qc in zip(distmat, q_pids, q_cams):
        right = _valid_ranking(row, qp, qc, g_pids, g_cams)
        if not right.any():
            continue  # no valid match: the query does not count
        used += 1
        first = int(np.flatnonzero(right)[0])
        hits[first:] += 1
    return hits / used


def map_truth(distmat, q_pids, g_pids, q_cams, g_cams):
    aps = []
    for row, qp, qc in zip(distmat, q_pids, q_cams):
        right = _valid_ranking(row, qp, qc, g_pids, g_cams)
        if not right.any():
            continue
        ranks = np.flatnonzero(right) + 1.0
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    return float(np.mean(aps))


def _cases():
    # Hand-made. Query 0 (person 0, camera 0): its gallery twin in camera 0 (item 0) is not valid;
    # its camera-1 video (item 2) ties with item 1 (a wrong person) at 0.3: the tie counts against
    # the model, rank 2. Query 1 (person 1, camera 0) has one valid match (item 1), at rank 1.
    # Query 2 (person 3, camera 1) has only a camera-1 video: no valid match, left out.
    d = np.array([[0.1, 0.3, 0.3, 0.9], [0.5, 0.2, 0.7, 0.4], [0.6, 0.4, 0.1, 0.2]])
    yield d, np.array([0, 1, 3]), np.array([0, 1, 0, 3]), np.array([0, 0, 1]), np.array([0, 1, 1, 1]), 4
    rng = np.random.default_rng(2024)
    for q, g, ids, cams, max_rank in [(12, 30, 10, 2, 10), (20, 45, 15, 3, 20), (9, 16, 16, 2, 16)]:
        g_pids = rng.permutation(np.arange(g) % ids)
        g_cams = rng.integers(0, cams, g)
        q_pids = rng.choice(ids, q)
        q_cams = rng.integers(0, cams, q)
        distmat = np.round(rng.random((q, g)), 1)  # one decimal: many ties
        yield distmat, q_pids, g_pids, q_cams, g_cams, max_rank


def check_cmc(cmc) -> None:
    for d, qp, gp, qc, gc, k in _cases():
        want = cmc_truth(d, qp, gp, qc, gc, k)
        got = call(
            "cmc", cmc, d.copy(), qp.copy(), gp.copy(), max_rank=k, query_camids=qc.copy(), gallery_camids=gc.copy()
        )
        got = np.asarray(got, dtype=float)
        assert got.shape == want.shape, f"cmc: expected shape {want.shape}, got {got.shape}"
        assert np.allclose(got, want, atol=1e-9), (
            f"cmc: expected {np.round(want, 3).tolist()}, got {np.round(got, 3).tolist()} for "
            f"{len(qp)} queries, {len(gp)} gallery items (ties, same-camera items and queries without a valid match)"
        )
    plain = _cases().__next__()
    d, qp, gp = plain[0][:2], plain[1][:2], plain[2]
    got = np.asarray(call("cmc", cmc, d, qp, gp, max_rank=4), dtype=float)  # without cameras: nothing is removed
    want = cmc_truth(d, qp, gp, np.zeros(2, int), np.ones(4, int), 4)
    assert np.allclose(got, want), f"cmc without camera ids: expected {want.tolist()}, got {got.tolist()}"


def check_map(mean_average_precision) -> None:
    for d, qp, gp, qc, gc, _ in _cases():
        want = map_truth(d, qp, gp, qc, gc)
        got = call(
            "mean_average_precision",
            mean_average_precision,
            d.copy(),
            qp.copy(),
            gp.copy(),
            query_camids=qc.copy(),
            gallery_camids=gc.copy(),
        )
        got = np.asarray(got, dtype=float)
        assert got.size == 1, f"mean_average_precision: expected one number, got shape {got.shape}"
        assert abs(float(got) - want) < 1e-9, (
            f"mean_average_precision: expected {want:.4f}, got {float(got):.4f} "
            f"({len(qp)} queries; ties, same-camera items and queries without a valid match)"
        )


def paired_truth(a, b):
    pairs = [(x, y) for x, y in zip(a, b) if np.isfinite(x) and np.isfinite(y)]
    diffs = [x - y for x, y in pairs]
    mean = sum(diffs) / len(diffs)
    var = sum((v - mean) ** 2 for v in diffs) / (len(diffs) - 1)
    return mean, (var / len(diffs)) ** 0.5


def check_paired(paired_difference) -> None:
    nan = float("nan")
    rng = np.random.default_rng(7)
    split = rng.normal(60, 8, 10)
    cases = [
        (np.array([61.0, 55.0, nan, 48.0, 70.0]), np.array([58.0, 57.0, 66.0, 50.0, nan])),  # both signs, gaps
        (np.array([52.0, 60.0, 71.0]), np.array([50.0, 56.0, 65.0])),  # nothing missing
        (split + 2 + rng.normal(0, 1, 10), np.where(np.arange(10) % 4 == 1, nan, split + rng.normal(0, 1, 10))),
    ]
    for a, b in cases:
        want = paired_truth(a, b)
        got = call("paired_difference", paired_difference, a.copy(), b.copy())
        try:
            got = tuple(float(v) for v in got)
        except TypeError:
            raise AssertionError(f"paired_difference: expected a pair (mean, standard error), got {got!r}") from None
        assert len(got) == 2, f"paired_difference: expected a pair (mean, standard error), got {got!r}"
        assert np.allclose(got, want, rtol=1e-9, atol=1e-9), (
            f"paired_difference: expected {np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()} "
            f"for a = {a.tolist()}, b = {b.tolist()}"
        )
    try:
        call("paired_difference", paired_difference, np.array([1.0, nan, 3.0]), np.array([nan, 2.0, 1.0]))
    except (ValueError, AssertionError) as e:
        if "returned" in str(e):
            raise
    else:
        raise AssertionError("paired_difference: one complete split is not enough; expected a ValueError")
