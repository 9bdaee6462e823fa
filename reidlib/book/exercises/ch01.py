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
            fail(
                title,
                f"{len(want)} gallery indices",
                f"shape {got.shape}",
                "return one index per gallery item, e.g. from np.argsort",
            )
        if not np.array_equal(got.astype(int), want):
            fail(
                title,
                want.tolist(),
                got.tolist(),
                "sort by the Euclidean distance sqrt(sum((g - q)**2)), smallest first",
            )
    return passed(title, "The nearest gallery item comes first.")


def check_pairwise_distances(pairwise_distances) -> bool:
    """Check ``pairwise_distances(a (Q, D), b (G, D)) -> (Q, G)`` Euclidean distances.

    Besides small cases: identical rows, where |a|^2 + |b|^2 - 2 a.b rounds slightly below 0 (its square
    root is NaN unless clamped at 0), and 30 x 40 close points far from the origin, where the same formula
    in float32 loses most digits (torch.cdist switches to it above 25 rows).
    """
    title = "pairwise_distances"
    rng = np.random.default_rng(1)
    # Hand-made: (0,0) to (3,4) is 5; (1,1) to (1,1) is 0; (1,1) to (3,4) is sqrt(13).
    cases = [
        (
            np.array([[0.0, 0.0], [1.0, 1.0]]),
            np.array([[3.0, 4.0], [1.0, 1.0]]),
            np.array([[5.0, np.sqrt(2.0)], [np.sqrt(13.0), 0.0]]),
        )
    ]
    same = rng.normal(size=(30, 32))
    for q, g in [
        (rng.normal(size=(5, 8)), rng.normal(size=(7, 8))),
        (rng.normal(size=(1, 3)), rng.normal(size=(4, 3))),
        (rng.normal(size=(6, 4)), rng.normal(size=(6, 4))),  # square: a transposed answer has the right shape
        (3 + 0.01 * rng.normal(size=(3, 5)), 3 + 0.01 * rng.normal(size=(4, 5))),  # close points far from 0
        (same, np.concatenate([same[::-1], rng.normal(size=(10, 32))])),  # 30 identical pairs: distance 0
        (3 + 0.01 * rng.normal(size=(30, 8)), 3 + 0.01 * rng.normal(size=(40, 8))),  # a gallery of 40
    ]:
        cases.append((q, g, np.sqrt(((q[:, None, :] - g[None, :, :]) ** 2).sum(-1))))
    for q, g, want in cases:
        got = as_numpy(call(title, pairwise_distances, q.copy(), g.copy()))
        if got.shape != want.shape or got.dtype.kind not in "fiu":
            fail(
                title,
                f"shape {want.shape} (one row per query, one column per gallery item)",
                f"shape {got.shape} of {got.dtype}",
                "broadcast a[:, None, :] - b[None, :, :] to get all pairs",
            )
        if not np.isfinite(got).all():
            fail(
                title,
                "finite distances (0 between identical points)",
                f"{int((~np.isfinite(got)).sum())} NaN or inf values",
                "|a|^2 + |b|^2 - 2 a.b can round to slightly below 0 for identical points: clamp it at 0 before "
                "the square root, or take the differences a[:, None] - b[None] directly",
            )
        if not np.allclose(got, want, atol=1e-6, rtol=1e-5):
            hint = "take the square root of the summed squared differences over the feature axis"
            if len(q) > 2 and np.abs(q).min() > 2:
                hint = (
                    "these points are close to each other and far from the origin: |a|^2 + |b|^2 - 2 a.b in "
                    "float32 cancels most digits (torch.cdist uses it for more than 25 rows). Keep float64, or "
                    "take the differences a[:, None] - b[None] directly"
                )
            fail(title, np.round(want, 4).tolist(), np.round(got, 4).tolist(), hint)
    return passed(title, "One row per query, one column per gallery item.")
