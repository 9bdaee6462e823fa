"""Hidden tests of the demo assignment A0 (public, like its master): Euclidean distances and rank-1.

The truths are loops over one pair or one query at a time; the cases include ties between a right and
a wrong gallery item, integer features and a single query.
"""

from __future__ import annotations

import math

import numpy as np

from tools.grading.checks import call


def distances_truth(query, gallery):
    return np.array([[math.dist(q, g) for g in gallery] for q in query])


def rank1_truth(distmat, query_pids, gallery_pids):
    hits = 0
    for row, pid in zip(distmat, query_pids, strict=True):
        right = min(d for d, p in zip(row, gallery_pids, strict=True) if p == pid)
        wrong = min((d for d, p in zip(row, gallery_pids, strict=True) if p != pid), default=math.inf)
        hits += right < wrong  # a tie counts against the model
    return hits / len(query_pids)


def check_distances(euclidean_distances) -> None:
    rng = np.random.default_rng(0)
    cases = [
        (rng.normal(size=(5, 3)), rng.normal(size=(7, 3))),
        (rng.integers(-3, 4, (1, 4)), rng.integers(-3, 4, (6, 4))),
    ]
    for query, gallery in cases:
        want = distances_truth(query, gallery)
        got = np.asarray(call("euclidean_distances", euclidean_distances, query.copy(), gallery.copy()), dtype=float)
        assert got.shape == want.shape, f"euclidean_distances: expected shape {want.shape}, got {got.shape}"
        assert np.allclose(got, want, atol=1e-9), f"euclidean_distances: off by up to {np.abs(got - want).max():.3g}"


def check_rank1(rank1) -> None:
    rng = np.random.default_rng(1)
    pids = np.arange(8)
    cases = [(np.round(rng.random((8, 8)), 1), pids, rng.permutation(pids))]  # one decimal: many ties
    cases.append((np.array([[0.2, 0.2, 0.9]]), np.array([4]), np.array([4, 3, 4])))  # a tie: a miss
    for d, qp, gp in cases:
        want = rank1_truth(d, qp, gp)
        got = call("rank1", rank1, d.copy(), qp.copy(), gp.copy())
        assert np.size(got) == 1, f"rank1: expected one number, got shape {np.shape(got)}"
        assert abs(float(got) - want) < 1e-12, f"rank1: expected {want:.3f}, got {float(got):.3f} ({len(qp)} queries)"
