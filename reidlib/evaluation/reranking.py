"""k-reciprocal re-ranking (Zhong, Zheng, Cao, Li, "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017): a better query-gallery distance from the neighbourhoods of
queries and gallery items, with no training (chapter 13).

The paper's steps, for every item p of the Q + G queries and gallery items pooled together:

1. N(p, k): p and its k nearest other items; R(p, k) = {i in N(p, k) : p in N(i, k)}, the
   k-reciprocal neighbours (a true match tends to be one; an impostor near p often is not).
2. R*(p, k1) = R(p, k1) plus R(q, k1/2) of every q in R(p, k1) that shares at least 2/3 of
   its R(q, k1/2) with R(p, k1) (recovers true matches the strict rule missed).
3. V_p[i] = exp(-d(p, i)) for i in R*(p, k1), else 0 (a Gaussian kernel encoding).
4. Local query expansion: V_p <- the mean of V_i over p's k2 nearest items (p included).
5. Jaccard distance d_J(p, g) = 1 - sum_i min(V_p[i], V_g[i]) / sum_i max(V_p[i], V_g[i]).
6. d*(p, g) = (1 - lambda) d_J(p, g) + lambda d(p, g).

The kernel exp(-d) depends on the scale of the distances: with unit-length features (distances
in [0, 2]) it is well spread. (The authors' released code also rescales every item's distances
by their maximum and normalises each V_p to sum 1; this follows the paper's equations instead.)
Memory is O((Q + G)^2): nothing for the book's data; for MARS's 11,310 test tracklets each (N, N)
float32 matrix takes 0.5 GB, and a few are alive at once.
"""

from __future__ import annotations

import torch

from .metrics import ArrayLike

RERANK_OPTIONS = {"k1": 20, "k2": 6, "lambda_value": 0.3}  # the options of rerank() and their defaults
BLOCK_ELEMENTS = 1 << 24  # bound on the (queries, gallery, columns) block of the Jaccard step


def rerank(
    q_g_dist: ArrayLike,
    q_q_dist: ArrayLike,
    g_g_dist: ArrayLike,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> torch.Tensor:
    """Re-ranked query-gallery distances (Q, G), from the distances q_g (Q, G), q_q (Q, Q) and g_g (G, G).

    ``k1`` sizes the k-reciprocal sets, ``k2`` the local query expansion (1: none),
    ``lambda_value`` the weight of the original distance (1 gives ``q_g_dist`` back). The
    result has the dtype of ``q_g_dist`` (float32 or float64); use it in place of the
    distance matrix in :func:`~reidlib.evaluation.rank_metrics`.
    """
    d, num_q = _pooled(q_g_dist, q_q_dist, g_g_dist)
    n = len(d)
    for name, k in (("k1", k1), ("k2", k2)):
        if int(k) != k or not 1 <= k < n:
            raise ValueError(
                f"{name} must be an integer in 1..{n - 1} (the {n} queries and gallery items, less one); found "
                f"{k}. Pass a smaller {name} for a small gallery."
            )
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f"lambda_value must be in [0, 1] (the weight of the original distance); found {lambda_value}.")
    order = torch.topk(d, k1 + 1, dim=1, largest=False).indices  # (N, k1 + 1): nearest first, p itself first
    v = torch.where(_expanded_reciprocal(order, k1), torch.exp(-d), torch.zeros((), dtype=d.dtype))  # (N, N)
    if k2 > 1:
        v = torch.cat([v[order[i : i + 256, :k2]].mean(1) for i in range(0, n, 256)])  # (N, N)
    jaccard = _jaccard(v[:num_q], v[num_q:])  # (Q, G)
    original = d[:num_q, num_q:]
    return (1.0 - lambda_value) * jaccard + lambda_value * original


def _pooled(q_g: ArrayLike, q_q: ArrayLike, g_g: ArrayLike) -> tuple[torch.Tensor, int]:
    """The checked (N, N) distances of queries then gallery items, N = Q + G, diagonal 0 -> (d, Q)."""
    qg, qq, gg = (torch.as_tensor(x).detach().cpu() for x in (q_g, q_q, g_g))
    dtype = qg.dtype if qg.dtype in (torch.float32, torch.float64) else torch.float32
    if qg.ndim != 2 or qq.shape != (qg.shape[0],) * 2 or gg.shape != (qg.shape[1],) * 2:
        raise ValueError(
            f"rerank expects q_g_dist (Q, G), q_q_dist (Q, Q) and g_g_dist (G, G); found {tuple(qg.shape)}, "
            f"{tuple(qq.shape)} and {tuple(gg.shape)}. Compute them with distance_matrix(query, gallery), "
            "distance_matrix(query, query) and distance_matrix(gallery, gallery)."
        )
    d = torch.cat([torch.cat([qq, qg], 1), torch.cat([qg.T, gg], 1)]).to(dtype)  # (N, N)
    if not torch.isfinite(d).all() or (d < 0).any():
        raise ValueError("rerank needs finite, non-negative distances; found NaN, inf or negative values.")
    scale = float(d.abs().max()) or 1.0
    for name, m in (("q_q_dist", qq), ("g_g_dist", gg)):
        if not torch.allclose(m.to(dtype), m.T.to(dtype), rtol=1e-4, atol=1e-5 * scale):
            raise ValueError(f"{name} is not symmetric; expected the distances among one set of items.")
    return d.fill_diagonal_(0.0), qg.shape[0]


def _reciprocal(neighbours: torch.Tensor) -> torch.Tensor:
    """R as a bool matrix (N, N) from each item's neighbour list (N, k): R[p, i] = i in N(p) and p in N(i)."""
    near = torch.zeros(len(neighbours), len(neighbours), dtype=torch.bool)
    near.scatter_(1, neighbours, True)
    return near & near.T


def _expanded_reciprocal(order: torch.Tensor, k1: int) -> torch.Tensor:
    """R*(p, k1) of every item as a bool matrix (N, N), from the neighbour lists ``order`` (N, k1 + 1)."""
    half = (k1 + 1) // 2  # k1 / 2, rounded up
    r_full, r_half = _reciprocal(order), _reciprocal(order[:, : half + 1])
    n, cand = len(order), order  # cand (N, k1 + 1): the candidates q of p are its members of R(p, k1)
    is_cand = r_full.gather(1, cand)
    members = order[:, : half + 1][cand]  # (N, k1 + 1, half + 1): N(q, half) of every candidate q
    valid = r_half[cand[..., None], members]  # member of R(q, half)
    shared = r_full.gather(1, members.view(n, -1)).view_as(members) & valid  # ... and of R(p, k1)
    accept = is_cand & (3 * shared.sum(-1) >= 2 * valid.sum(-1))  # (N, k1 + 1), exact integer test of 2/3
    out = r_full.clone()
    add = accept[..., None] & valid
    rows = torch.arange(n)[:, None, None].expand_as(members)
    out[rows[add], members[add]] = True
    return out


def _jaccard(vq: torch.Tensor, vg: torch.Tensor) -> torch.Tensor:
    """1 - sum min / sum max between the rows of vq (Q, N) and vg (G, N), all >= 0 -> (Q, G).

    sum max = sum vq + sum vg - sum min; the min is 0 outside a query's nonzero columns, so
    each block of queries compares only those."""
    sq, sg = vq.sum(1), vg.sum(1)
    nnz = max(int((vq > 0).sum(1).max()), 1)
    block = max(1, int((BLOCK_ELEMENTS / (len(vg) * nnz)) ** 0.5))
    out = []
    for i in range(0, len(vq), block):
        rows = vq[i : i + block]
        cols = (rows > 0).any(0).nonzero().squeeze(1)
        smin = torch.minimum(rows[:, None, cols], vg[None, :, cols]).sum(-1)  # (b, G)
        out.append(1.0 - smin / (sq[i : i + block, None] + sg[None, :] - smin))
    return torch.cat(out)
