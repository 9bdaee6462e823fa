"""Ranking metrics for re-ID: distance matrix, CMC and mean average precision.

Everything is vectorised over queries and gallery (no Python loop over either):
the cost is a few passes over the (Q, G) distance matrix, so 2,000 x 10,000
(MARS-sized) takes well under a second on a laptop CPU.

Ties. When a wrong gallery item is exactly as far from the query as a right one,
the wrong item is ranked first (the pessimistic convention). A model that maps
every video to the same feature therefore scores the worst possible CMC and mAP
instead of a score that depends on the order of the gallery. Ties among right
matches, or among wrong ones, do not change either metric.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray | Sequence


def distance_matrix(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Euclidean distances between the rows of ``a`` (Q, D) and ``b`` (G, D) -> (Q, G).

    Computed as ``sqrt(|a|^2 + |b|^2 - 2 a.b)`` (one matrix product), in float32
    unless the inputs are float64.
    """
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"distance_matrix expects a (Q, D) and b (G, D) with the same D; found {tuple(a.shape)} and "
            f"{tuple(b.shape)}. Stack one feature vector per row."
        )
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
    a, b = a.to(dtype), b.to(dtype)
    d2 = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2.0 * a @ b.T  # (Q, G)
    return d2.clamp_min_(0.0).sqrt_()


def _as_pids(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x))
    if t.ndim != 1 or (t.dtype.is_floating_point and len(t) > 0):
        raise ValueError(
            f"{name} must be a 1-D sequence of integer person ids; found dtype {t.dtype}, shape {tuple(t.shape)}."
        )
    return t.long()


def _check(distmat: ArrayLike, query_pids: ArrayLike, gallery_pids: ArrayLike):
    """Validate the inputs -> (distances (Q, G) float on cpu, query pids (Q,), gallery pids (G,))."""
    d = torch.as_tensor(distmat)
    if d.dtype not in (torch.float32, torch.float64):
        d = d.float()
    d = d.detach().cpu()
    qp, gp = _as_pids(query_pids, "query_pids"), _as_pids(gallery_pids, "gallery_pids")
    if d.ndim != 2 or d.shape != (len(qp), len(gp)):
        raise ValueError(
            f"distmat must have shape (num_queries, num_gallery) = ({len(qp)}, {len(gp)}); "
            f"found {tuple(d.shape)}. Compute it with distance_matrix(query_features, gallery_features)."
        )
    if len(qp) == 0:
        raise ValueError(
            "the query set is empty: there is nothing to evaluate. Check the split: its query list "
            "(camera 1 of the test persons) has no tracklets."
        )
    if not torch.isfinite(d).all():
        raise ValueError(
            "distmat contains NaN or inf; the features are not finite. Check the model's output "
            "(a diverged training run gives NaN features)."
        )
    missing = sorted(set(qp.tolist()) - set(gp.tolist()))
    if missing:
        raise ValueError(
            f"{len(missing)} query person(s) have no sequence in the gallery, e.g. pids {missing[:10]}; "
            "their rank is undefined. Every query person needs at least one gallery sequence: fix the "
            "split or drop those queries."
        )
    return d, qp, gp


def _ranks_and_ap(d: torch.Tensor, qp: torch.Tensor, gp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First-match rank (Q,) and average precision (Q,) of a block of queries (validated inputs).

    For the k-th nearest right match of a query, count the wrong gallery items at
    distance <= its distance (ties count against the model): its position is that
    count + k, and its precision k / position.
    """
    right = qp[:, None] == gp[None, :]  # (Q, G)
    num_right = right.sum(1)  # (Q,)
    q, k = len(qp), int(num_right.max())
    # Distances of the right matches, nearest first, padded with +inf: (Q, K).
    right_d = torch.topk(d.masked_fill(~right, float("inf")), k, dim=1, largest=False).values
    # For each wrong item, how many right matches are strictly nearer: a bin in 0..K-1 (Q, G).
    # Right items go to bin K, which is never read.
    bins = torch.searchsorted(right_d, d.contiguous(), out_int32=True).masked_fill_(right, k)
    bins += ((k + 1) * torch.arange(q, dtype=torch.int32))[:, None]  # one histogram per query
    hist = torch.bincount(bins.view(-1), minlength=q * (k + 1)).view(q, k + 1)
    wrong_before = hist.cumsum(1)[:, :k]  # (Q, K): wrong items at distance <= the k-th right distance
    kk = torch.arange(1, k + 1, dtype=torch.float64)
    precision = (kk / (wrong_before.double() + kk)) * (kk[None, :] <= num_right[:, None])  # (Q, K)
    return wrong_before[:, 0] + 1, precision.sum(1) / num_right.double()


def rank_metrics(
    distmat: ArrayLike, query_pids: ArrayLike, gallery_pids: ArrayLike, max_rank: int = 20, block: int = 256
) -> dict:
    """CMC, mAP and first-match ranks in one pass.

    Returns ``{"cmc": float array (max_rank,), "mAP": float, "ranks": int array (Q,)}``,
    with the definitions of :func:`cmc` and :func:`mean_average_precision`. Queries
    are processed ``block`` at a time (vectorised within a block), which bounds
    the memory and keeps it in cache.
    """
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1; found {max_rank}.")
    d, qp, gp = _check(distmat, query_pids, gallery_pids)
    parts = [_ranks_and_ap(d[i : i + block], qp[i : i + block], gp) for i in range(0, len(qp), block)]
    ranks = torch.cat([r for r, _ in parts]).numpy()  # (Q,) 1-based
    ap = torch.cat([a for _, a in parts])
    curve = (ranks[:, None] <= np.arange(1, max_rank + 1)[None, :]).mean(0)
    return {"cmc": curve, "mAP": float(ap.mean()), "ranks": ranks}


def first_match_rank(distmat: ArrayLike, query_pids: ArrayLike, gallery_pids: ArrayLike) -> np.ndarray:
    """1-based rank of the nearest right gallery match of every query -> int array (Q,)."""
    return rank_metrics(distmat, query_pids, gallery_pids, max_rank=1)["ranks"]


def cmc(distmat: ArrayLike, query_pids: ArrayLike, gallery_pids: ArrayLike, max_rank: int = 20) -> np.ndarray:
    """Cumulative matching characteristic -> float array (max_rank,).

    ``cmc(...)[r - 1]`` is the fraction of queries whose nearest right match is
    among the ``r`` nearest gallery items. ``distmat`` is (Q, G); ``query_pids``
    (Q,) and ``gallery_pids`` (G,) are person ids. In these datasets the gallery
    holds one sequence per person (camera 2) and the queries are camera 1; several
    gallery sequences per person (MARS) are handled too. Ties: see the module doc.
    """
    return rank_metrics(distmat, query_pids, gallery_pids, max_rank)["cmc"]


def mean_average_precision(distmat: ArrayLike, query_pids: ArrayLike, gallery_pids: ArrayLike) -> float:
    """Mean over queries of the average precision of their ranked gallery.

    AP = mean over the right matches of (right matches so far) / (position). With
    one gallery sequence per person, AP = 1 / rank. Ties: see the module doc.
    """
    return rank_metrics(distmat, query_pids, gallery_pids, max_rank=1)["mAP"]
