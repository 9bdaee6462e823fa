"""Does attention follow visibility? Correlations of attention scores with the synthetic truth."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


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
    for s, v in zip(scores, visibility):
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
