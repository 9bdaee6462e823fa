"""Ranking metrics for re-ID: distance matrix, CMC and mean average precision (chapter 9).

Everything is vectorised over queries and gallery (no Python loop over either):
the cost is a few passes over the (Q, G) distance matrix, so 2,000 x 10,000
(MARS-sized) takes well under a second on a laptop CPU.

Cameras. Given camera ids, each query ignores the gallery items of its own person
seen by its own camera (the Market-1501 / MARS protocol): finding the same person
in the same camera is tracking, not re-identification. Other persons in that
camera still count as wrong matches. Without camera ids every gallery item counts.

Queries without a right match (their person is missing from the gallery, or only
seen by the query's camera) have no rank: they are skipped, a
:class:`~reidlib.data.SkippedDataWarning` counts them, and CMC and mAP are means
over the other queries. :func:`rank_metrics` reports both counts.

Ties. When a wrong gallery item is exactly as far from the query as a right one,
the wrong item is ranked first (the pessimistic convention). A model that maps
every video to the same feature therefore scores the worst possible CMC and mAP
instead of a score that depends on the order of the gallery. Ties among right
matches, or among wrong ones, do not change either metric.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from ..data.tracklet import SkippedDataWarning

ArrayLike = torch.Tensor | np.ndarray | Sequence


def distance_matrix(a: ArrayLike, b: ArrayLike) -> torch.Tensor:
    """Euclidean distances between the rows of ``a`` (Q, D) and ``b`` (G, D) -> (Q, G), in the inputs'
    floating type (float32 unless one of them is float64).

    Computed in float64 as ``sqrt(|a|^2 + |b|^2 - 2 a.b)`` (one matrix product) after moving the
    origin to the mean of all rows, which changes no distance. In float32 that expansion cancels:
    for features of norm 100, distances of 0.02 and 0.03 both come out 0. Centred and in float64
    the error of a squared distance is about 1e-16 times the squared spread of the features around
    their mean, so features of any scale rank correctly; only the result is rounded to float32.
    """
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"distance_matrix expects a (Q, D) and b (G, D) with the same D; found {tuple(a.shape)} and "
            f"{tuple(b.shape)}. Stack one feature vector per row."
        )
    dtype = torch.float64 if torch.float64 in (a.dtype, b.dtype) else torch.float32
    where = a.device if a.device.type != "mps" else torch.device("cpu")  # MPS has no float64
    a, b = a.to(where, torch.float64), b.to(where, torch.float64)
    if len(a) and len(b):
        centre = torch.cat([a, b]).mean(0)
        a, b = a - centre, b - centre
    d2 = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2.0 * a @ b.T  # (Q, G)
    return d2.clamp_min(0.0).sqrt().to(dtype)


def _as_ids(x: ArrayLike, name: str, what: str = "person ids") -> torch.Tensor:
    arr = np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x)
    if arr.dtype.kind not in "iub" and arr.size:
        raise ValueError(
            f"{name} must be integer {what}; found {arr.dtype} values such as {arr.reshape(-1)[:3].tolist()}. "
            "Number them first, e.g. ids = {p: i for i, p in enumerate(sorted(set(names)))}."
        )
    t = torch.as_tensor(arr)
    if t.ndim != 1 or (t.dtype.is_floating_point and len(t) > 0):
        raise ValueError(
            f"{name} must be a 1-D sequence of integer {what}; found dtype {t.dtype}, shape {tuple(t.shape)}."
        )
    return t.long()


def _check(distmat: ArrayLike, query_pids: ArrayLike, gallery_pids: ArrayLike, query_camids, gallery_camids):
    """Validate the inputs -> (distances (Q, G) float on cpu, query pids (Q,), gallery pids (G,),
    query camids (Q,) or None, gallery camids (G,) or None)."""
    d = torch.as_tensor(distmat)
    if d.dtype not in (torch.float32, torch.float64):
        d = d.float()
    d = d.detach().cpu()
    qp, gp = _as_ids(query_pids, "query_pids"), _as_ids(gallery_pids, "gallery_pids")
    if d.ndim != 2 or d.shape != (len(qp), len(gp)):
        raise ValueError(
            f"distmat must have shape (num_queries, num_gallery) = ({len(qp)}, {len(gp)}); "
            f"found {tuple(d.shape)}. Compute it with distance_matrix(query_features, gallery_features)."
        )
    if isinstance(query_camids, (int, np.integer)):
        raise ValueError(
            f"query_camids must be one camera id per query; found the number {query_camids!r}. The fourth "
            f"argument is query_camids: pass the maximum rank by name, max_rank={query_camids!r}."
        )
    if (query_camids is None) != (gallery_camids is None):
        raise ValueError(
            "pass camera ids for both the queries and the gallery (camera-aware protocol) or for neither; "
            f"found query_camids {'None' if query_camids is None else 'given'} and gallery_camids "
            f"{'None' if gallery_camids is None else 'given'}."
        )
    qc = gc = None
    if query_camids is not None:
        qc, gc = (
            _as_ids(query_camids, "query_camids", "camera ids"),
            _as_ids(gallery_camids, "gallery_camids", "camera ids"),
        )
        if len(qc) != len(qp) or len(gc) != len(gp):
            raise ValueError(
                f"expected one camera id per query ({len(qp)}) and per gallery item ({len(gp)}); found "
                f"{len(qc)} query and {len(gc)} gallery camera ids."
            )
    if len(qp) == 0:
        raise ValueError(
            "the query set is empty: there is nothing to evaluate. Check the split: its query list "
            "(camera 1 of the test persons) has no tracklets."
        )
    if len(gp) == 0:
        raise ValueError(
            "the gallery is empty: there is nothing to rank the queries against. Check the split: its gallery "
            "(camera 2 of the test persons) has no tracklets."
        )
    if not torch.isfinite(d).all():
        raise ValueError(
            "distmat contains NaN or inf; the features are not finite. Check the model's output "
            "(a diverged training run gives NaN features)."
        )
    if float(d.min()) < 0:
        raise ValueError(
            f"distmat holds negative values (down to {float(d.min()):.4g}); expected distances, >= 0, smaller "
            "meaning more alike. Similarities (larger = more alike) would rank the worst match first: pass "
            "distance_matrix(query_features, gallery_features), or 1 - cosine similarity."
        )
    return d, qp, gp, qc, gc


def _ranks_and_ap(
    d: torch.Tensor, qp: torch.Tensor, gp: torch.Tensor, qc: torch.Tensor | None, gc: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """First-match rank (Q,), average precision (Q,) and number of right matches (Q,) of a block of
    queries (validated inputs); rank and AP are meaningless where there is no right match.

    For the k-th nearest right match of a query, count the wrong gallery items at
    distance <= its distance (ties count against the model): its position is that
    count + k, and its precision k / position. Items of the query's person are either
    right matches or, with cameras, ignored (same camera): neither kind is wrong.
    """
    same = qp[:, None] == gp[None, :]  # (Q, G)
    right = same if qc is None else same & (qc[:, None] != gc[None, :])
    num_right = right.sum(1)  # (Q,)
    q, k = len(qp), max(int(num_right.max()), 1)
    # Distances of the right matches, nearest first, padded with +inf: (Q, K).
    right_d = torch.topk(d.masked_fill(~right, float("inf")), k, dim=1, largest=False).values
    # For each wrong item, how many right matches are strictly nearer: a bin in 0..K-1 (Q, G).
    # Items of the query's person go to bin K, which is never read.
    bins = torch.searchsorted(right_d, d.contiguous(), out_int32=True).masked_fill_(same, k)
    bins += ((k + 1) * torch.arange(q, dtype=torch.int32))[:, None]  # one histogram per query
    hist = torch.bincount(bins.view(-1), minlength=q * (k + 1)).view(q, k + 1)
    wrong_before = hist.cumsum(1)[:, :k]  # (Q, K): wrong items at distance <= the k-th right distance
    kk = torch.arange(1, k + 1, dtype=torch.float64)
    precision = (kk / (wrong_before.double() + kk)) * (kk[None, :] <= num_right[:, None])  # (Q, K)
    return wrong_before[:, 0] + 1, precision.sum(1) / num_right.clamp_min(1).double(), num_right


def _rank_metrics(distmat, query_pids, gallery_pids, query_camids, gallery_camids, *, max_rank: int, block: int = 256):
    """What :func:`rank_metrics` returns, ``block`` queries at a time. Called by the public functions only: its
    warning about skipped queries points at their caller."""
    if max_rank < 1:
        raise ValueError(f"max_rank must be >= 1; found {max_rank}.")
    d, qp, gp, qc, gc = _check(distmat, query_pids, gallery_pids, query_camids, gallery_camids)
    parts = [
        _ranks_and_ap(d[i : i + block], qp[i : i + block], gp, None if qc is None else qc[i : i + block], gc)
        for i in range(0, len(qp), block)
    ]
    evaluated = torch.cat([n for _, _, n in parts]).numpy() > 0  # (Q,)
    ranks = np.where(evaluated, torch.cat([r for r, _, _ in parts]).numpy(), 0)  # (Q,) 1-based, 0 = skipped
    ap_all = torch.cat([a for _, a, _ in parts]).numpy()
    ap = ap_all[evaluated]
    skipped = int((~evaluated).sum())
    rule = "no gallery item shows the query's person" + (" in another camera" if qc is not None else "")
    if skipped == len(qp):
        raise ValueError(
            f"none of the {len(qp)} queries has a right match ({rule}), so no rank is "
            "defined. Check that the gallery holds the query persons (the split's test persons) and, with "
            "camera ids, that they are seen by cameras other than the query's."
        )
    if skipped:
        pids = sorted(set(qp[torch.from_numpy(~evaluated)].tolist()))
        warnings.warn(
            f"Skipped {skipped} of {len(qp)} queries without a right match ({rule}), e.g. pids "
            f"{pids[:10]}; CMC and mAP are over the other {len(qp) - skipped} queries, as the standard "
            "protocol does.",
            SkippedDataWarning,
            stacklevel=3,  # the caller of rank_metrics, cmc, ...
        )
    curve = (ranks[evaluated, None] <= np.arange(1, max_rank + 1)[None, :]).mean(0)
    return {
        "cmc": curve,
        "mAP": float(ap.mean()),
        "ranks": ranks,
        "ap": np.where(evaluated, ap_all, np.nan),
        "evaluated": evaluated,
        "num_evaluated": len(qp) - skipped,
        "num_skipped": skipped,
    }


def rank_metrics(
    distmat: ArrayLike,
    query_pids: ArrayLike,
    gallery_pids: ArrayLike,
    query_camids: ArrayLike | None = None,
    gallery_camids: ArrayLike | None = None,
    max_rank: int = 20,
    block: int = 256,
) -> dict:
    """CMC, mAP and first-match ranks in one pass.

    Returns ``{"cmc": float array (max_rank,), "mAP": float, "ranks": int array (Q,), "ap": float
    array (Q,), "evaluated": bool array (Q,), "num_evaluated": int, "num_skipped": int}``, with the
    definitions of :func:`cmc` and :func:`mean_average_precision`; ``ranks`` is 1-based,
    0 for a skipped query; ``ap`` is each query's average precision (NaN for a skipped one).
    Queries are processed ``block`` at a time (vectorised within a block), which bounds the
    memory and keeps it in cache.
    """
    return _rank_metrics(
        distmat, query_pids, gallery_pids, query_camids, gallery_camids, max_rank=max_rank, block=block
    )


def first_match_rank(
    distmat: ArrayLike,
    query_pids: ArrayLike,
    gallery_pids: ArrayLike,
    query_camids: ArrayLike | None = None,
    gallery_camids: ArrayLike | None = None,
) -> np.ndarray:
    """1-based rank of the nearest right gallery match of every query -> int array (Q,); 0 = skipped."""
    return _rank_metrics(distmat, query_pids, gallery_pids, query_camids, gallery_camids, max_rank=1)["ranks"]


def cmc(
    distmat: ArrayLike,
    query_pids: ArrayLike,
    gallery_pids: ArrayLike,
    query_camids: ArrayLike | None = None,
    gallery_camids: ArrayLike | None = None,
    max_rank: int = 20,
) -> np.ndarray:
    """Cumulative matching characteristic -> float array (max_rank,).

    ``cmc(...)[r - 1]`` is the fraction of queries whose nearest right match is
    among the ``r`` nearest gallery items. ``distmat`` is (Q, G); ``query_pids``
    (Q,) and ``gallery_pids`` (G,) are person ids; ``query_camids`` (Q,) and
    ``gallery_camids`` (G,) camera ids, for the camera-aware protocol of MARS (see
    the module doc). Several gallery sequences per person are handled. Ties and
    skipped queries: see the module doc.
    """
    return _rank_metrics(distmat, query_pids, gallery_pids, query_camids, gallery_camids, max_rank=max_rank)["cmc"]


def mean_average_precision(
    distmat: ArrayLike,
    query_pids: ArrayLike,
    gallery_pids: ArrayLike,
    query_camids: ArrayLike | None = None,
    gallery_camids: ArrayLike | None = None,
) -> float:
    """Mean over queries of the average precision of their ranked gallery.

    AP = mean over the right matches of (right matches so far) / (position). With
    one gallery sequence per person, AP = 1 / rank. Arguments, cameras, ties and
    skipped queries: as for :func:`cmc`.
    """
    return _rank_metrics(distmat, query_pids, gallery_pids, query_camids, gallery_camids, max_rank=1)["mAP"]
