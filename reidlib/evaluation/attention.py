"""Does attention follow visibility? Spearman correlation of attention scores with the synthetic truth."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def attention_visibility(scores: list, tracklets: list) -> dict:
    """Spearman correlation between per-frame attention scores and true visibility.

    Args:
        scores: one (T_i,) score tensor/array per tracklet (from ``extract_features``).
        tracklets: the tracklets, with ``visibility`` (T_i,) (synthetic data).

    Returns ``{"per_tracklet": mean over tracklets whose visibility varies of the
    within-tracklet correlation (0 for constant scores), "pooled": the correlation
    over all their frames, "n": how many such tracklets}``. Within a tracklet is the question that matters:
    attention weighs the frames of one video against each other. NaN when no
    tracklet has varying visibility.
    """
    if len(scores) != len(tracklets):
        raise ValueError(f"expected one score array per tracklet; found {len(scores)} and {len(tracklets)}.")
    if any(s is None for s in scores):
        raise ValueError(
            "some scores are None: this model's head has no attention (mean pooling?). Use a head "
            "with scores (combined, attention, softmax, rnn_attention)."
        )
    per, all_s, all_v = [], [], []
    for s, t in zip(scores, tracklets):
        if t.visibility is None:
            raise ValueError(f"{t!r} has no visibility; only synthetic tracklets carry the true visibility.")
        s = np.asarray(s.cpu() if hasattr(s, "cpu") else s, dtype=float)
        v = np.asarray(t.visibility, dtype=float)
        if s.shape != v.shape:
            raise ValueError(f"{t!r}: {s.shape[0]} scores for {v.shape[0]} frames; score every frame.")
        if np.ptp(v) > 0:  # constant scores carry no ranking: they count as 0
            per.append(spearmanr(s, v).statistic if np.ptp(s) > 0 else 0.0)
            all_s.append(s)
            all_v.append(v)
    if not per:
        return {"per_tracklet": float("nan"), "pooled": float("nan"), "n": 0}
    pooled = spearmanr(np.concatenate(all_s), np.concatenate(all_v)).statistic
    return {"per_tracklet": float(np.mean(per)), "pooled": float(pooled), "n": len(per)}
