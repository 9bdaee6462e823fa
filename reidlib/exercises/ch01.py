"""Chapter 1: ranking a gallery by Euclidean distance."""
from __future__ import annotations

import numpy as np

from ._core import as_numpy, call, fail, passed


def _cases(seed: int = 0):
    rng = np.random.default_rng(seed)
    # A hand-made case: distances 5, 1 and 2 from the origin -> order 1, 2, 0.
    yield np.zeros(2), np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]]), np.array([1, 2, 0])
    for _ in range(3):
        q, g = rng.normal(size=8), rng.normal(size=(12, 8))
        yield q, g, np.argsort(np.sqrt(((g - q) ** 2).sum(1)), kind="stable")


def check_rank_gallery(rank_gallery) -> bool:
    """Check ``rank_gallery(query (D,), gallery (G, D)) -> indices (G,)``, nearest first."""
    title = "rank_gallery"
    for q, g, want in _cases():
        got = as_numpy(call(title, rank_gallery, q.copy(), g.copy()))
        if got.shape != want.shape:
            fail(title, f"{len(want)} gallery indices", f"shape {got.shape}",
                 "return one index per gallery item, e.g. from np.argsort")
        if not np.array_equal(got.astype(int), want):
            fail(title, want.tolist(), got.tolist(),
                 "sort by the Euclidean distance sqrt(sum((g - q)**2)), smallest first")
    return passed(title, "The nearest gallery item comes first.")
