"""Does attention follow visibility? Correlations of attention scores with the synthetic truth (chapter 10)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from .protocol import rank_features


def attention_visibility(scores: Sequence, visibility: Sequence) -> dict:
    """How well per-frame attention scores follow the true visibility of the person.

    Args:
        scores: one (T_i,) score tensor/array per video (from ``extract_features``), or one (T,)
            array for a single video.
        visibility: for each video its tracklet (``Tracklet.visibility``, synthetic data) or a
            (T_i,) array; or one (T,) array for a single video.

    Returns a dict:
        ``per_tracklet``: Spearman's rho *within* each video whose visibility varies (a video with
        constant scores counts as 0), averaged: does a model lower the scores of a video's hidden
        frames? This is what attention pooling needs, since each video is pooled on its own.
        ``n``: how many such videos (``per_tracklet`` is NaN when there is none);
        ``pearson``, ``spearman``: the correlations pooled over every frame of every video
        (Spearman: Pearson's r of the ranks, ties averaged; NaN when either side is constant);
        ``frames``: how many frames.
    """
    if any(s is None for s in scores):
        raise ValueError(
            "some scores are None: this model's head has no attention (mean pooling?). Use a head "
            "with scores (combined, attention, softmax, rnn_attention, oracle)."
        )
    if len(scores) and np.ndim(_values(scores[0], "scores")) == 0:  # a single video given as two arrays
        scores, visibility = [scores], [visibility]
    if len(scores) != len(visibility):
        raise ValueError(
            f"got scores of {len(scores)} videos and visibility of {len(visibility)}; expected one visibility "
            "(array or tracklet) per score array."
        )
    pairs = []
    for s, v in zip(scores, visibility, strict=True):
        s, v = _values(s, "scores"), _visibility(v)
        if s.shape != v.shape:
            raise ValueError(f"a video has {s.shape[0]} scores for {v.shape[0]} frames; score every frame.")
        pairs.append((s, v))
    within = [stats.spearmanr(s, v).statistic if np.ptp(s) > 0 else 0.0 for s, v in pairs if np.ptp(v) > 0]
    s_all = np.concatenate([s for s, _ in pairs]) if pairs else np.zeros(0)
    v_all = np.concatenate([v for _, v in pairs]) if pairs else np.zeros(0)
    varies = len(s_all) > 1 and np.ptp(s_all) > 0 and np.ptp(v_all) > 0
    return {
        "per_tracklet": float(np.mean(within)) if within else float("nan"),
        "n": len(within),
        "pearson": float(stats.pearsonr(s_all, v_all)[0]) if varies else float("nan"),
        "spearman": float(stats.spearmanr(s_all, v_all).statistic) if varies else float("nan"),
        "frames": len(s_all),
    }


def _values(x, what: str) -> np.ndarray:
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)
    if a.ndim > 1:
        raise ValueError(f"{what} must be (T,) per video; found shape {a.shape}.")
    return a


def _visibility(v) -> np.ndarray:
    if hasattr(v, "frames"):  # a tracklet
        if v.visibility is None:
            raise ValueError(f"{v!r} has no visibility; only synthetic tracklets carry the true visibility.")
        v = v.visibility
    return _values(v, "visibility")


# ----------------------------------------------------------------------------- does attention act?
LAMBDAS = ("own", "constant", "shuffled", "visibility")


def lambda_variants(scores: torch.Tensor, visibility=None, generator: torch.Generator | None = None) -> dict:
    """A video's own weights lambda (T,) and the stand-ins a test-time ablation pools with instead.

    ``constant``: every frame gets the video's mean lambda; ``shuffled``: the same values in a random
    order; ``visibility``: the true visible share of each frame, scaled to the same total weight
    (a video that never shows the person gets the constant). Each keeps the sum of lambda, so a
    head's Eq. 2 sum keeps its size: only *which* frames weigh more changes. ``visibility`` is left
    out when the video has none (real data).
    """
    lam = scores.float()
    out = {
        "own": lam,
        "constant": torch.full_like(lam, float(lam.mean())),
        "shuffled": lam[torch.randperm(len(lam), generator=generator)],
    }
    if visibility is not None:
        v = torch.as_tensor(np.asarray(visibility), dtype=torch.float32).clamp(0, 1)
        out["visibility"] = v * (lam.sum() / v.sum()) if v.sum() > 0 else out["constant"]
    return out


@torch.inference_mode()
def lambda_ablation(
    head: torch.nn.Module,
    query_z: Sequence[torch.Tensor],
    gallery_z: Sequence[torch.Tensor],
    query: list,
    gallery: list,
    seed: int = 0,
    scores: tuple[Sequence[torch.Tensor], Sequence[torch.Tensor]] | None = None,
) -> dict:
    """Does a head's attention act at test time? Pool the same frame features with the head's own
    lambda, a constant, a shuffled and the true-visibility lambda (:func:`lambda_variants`), each
    with and without L2 normalisation, and rank every version.

    Args:
        head: a pooling head with weights and a ``weigh`` method (``AttentionPool`` and its kin,
            ``OraclePool``); a head without weights (mean pooling) gets the own/L2 rows only.
        query_z, gallery_z: per-frame features (T_i, D) of each video
            (:func:`reidlib.evaluation.frame_features`, or a lab's cache).
        query, gallery: their tracklets (pids, camids, and the visibility of synthetic ones).
        seed: of the shuffles.
        scores: the weights (T_i,) of each query and gallery video when the head's own scorer does not
            make them from ``*_z`` (a quality branch that reads other features).

    Returns ``{variant: {"raw": metrics, "l2": metrics}}`` with the metrics of
    :func:`reidlib.evaluation.rank_features` (``details``: ``ranks`` and ``ap`` per query).
    """
    generator = torch.Generator().manual_seed(seed)
    needs_vis = getattr(head, "needs_visibility", False)
    weighs = hasattr(head, "weigh")
    pooled: dict[str, tuple[list, list]] = {}
    given = scores or (None, None)
    for side, (zs, tracklets) in enumerate(((query_z, query), (gallery_z, gallery))):
        for i, (z, t) in enumerate(zip(zs, tracklets, strict=True)):
            z = z.float()[None]  # (1, T, D)
            if weighs:
                if given[side] is not None:
                    own = given[side][i]
                else:
                    extra = (torch.as_tensor(np.asarray(t.visibility), dtype=torch.float32)[None],) if needs_vis else ()
                    own = head.raw(z, None, *extra)[1][0]
                variants = {
                    k: head.weigh(z, lam[None])[0] for k, lam in lambda_variants(own, t.visibility, generator).items()
                }
            else:
                variants = {"own": head.raw(z, None)[0][0] if hasattr(head, "raw") else head(z)[0][0]}
            for k, f in variants.items():
                pooled.setdefault(k, ([], []))[side].append(f)
    out = {}
    for k, (qf, gf) in pooled.items():
        qf, gf = torch.stack(qf), torch.stack(gf)
        out[k] = {
            "raw": rank_features(qf, gf, query, gallery, details=True),
            "l2": rank_features(F.normalize(qf, dim=1), F.normalize(gf, dim=1), query, gallery, details=True),
        }
    return out
