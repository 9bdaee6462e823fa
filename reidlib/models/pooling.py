"""Temporal pooling heads: frame features (B, N, D) + mask (B, N) -> video feature (B, D).

Every head returns ``(pooled (B, D), scores (B, N) or None)``; scores are the per-frame
attention weights when the head has them (0 at padded frames). Build one by name with
:func:`make_head`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .fcn import FCNTemporalAttention
from .masks import check_sequence
from .rnn import CELLS, RCNPool, RNNTemporalAttention


class MeanPool(nn.Module):
    """Temporal mean over the real frames: (1/N) sum_i z_i (McLaughlin et al.)."""

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        mask, lengths = check_sequence(features, mask, "MeanPool")
        total = (features * mask[..., None]).sum(1)  # (B, D)
        return total / lengths[:, None].to(features.dtype), None


class MaxPool(nn.Module):
    """Temporal max over the real frames, per feature dimension."""

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        mask, _ = check_sequence(features, mask, "MaxPool")
        return features.masked_fill(~mask[..., None], float("-inf")).amax(1), None


class AttentionPool(nn.Module):
    """Attention pooling, Eq. 2 of the paper: gamma = sum_i lambda_i z_i (a plain sum).

    Args:
        feature_dim: D.
        scorer: who gives lambda: "fcn" (the paper's :class:`FCNTemporalAttention`) or a recurrent
            cell "lstm" / "gru" / "rnn" (:class:`RNNTemporalAttention`, the baseline).
        activation: "sigmoid" (the paper) or "softmax".
        normalize: divide gamma by sum_i lambda_i (a weighted mean instead of a weighted sum).
        combine: return F = (gamma + mean_i z_i) / 2, the paper's final video feature.
        l2_normalize: scale the result to unit L2 norm.
        **scorer_kw: passed to the scorer (e.g. windows=, hidden=, variant= for the FCN).
    """

    def __init__(
        self,
        feature_dim: int = 128,
        scorer: str = "fcn",
        activation: str = "sigmoid",
        normalize: bool = False,
        combine: bool = False,
        l2_normalize: bool = False,
        **scorer_kw,
    ):
        super().__init__()
        if scorer == "fcn":
            self.scorer = FCNTemporalAttention(feature_dim, activation=activation, **scorer_kw)
        elif scorer in CELLS:
            self.scorer = RNNTemporalAttention(feature_dim, cell=scorer, activation=activation, **scorer_kw)
        else:
            raise ValueError(f"scorer must be 'fcn' or one of {list(CELLS)}; found {scorer!r}.")
        self.normalize, self.combine, self.l2_normalize = normalize, combine, l2_normalize

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mask, lengths = check_sequence(features, mask, type(self).__name__)
        scores = self.scorer(features, mask)  # (B, N), 0 at padding
        pooled = (scores[..., None] * features).sum(1)  # (B, D)  Eq. 2
        if self.normalize:
            pooled = pooled / scores.sum(1, keepdim=True).clamp_min(1e-8)
        if self.combine:
            mean = (features * mask[..., None]).sum(1) / lengths[:, None].to(features.dtype)
            pooled = (pooled + mean) / 2  # F = (gamma + mean) / 2
        if self.l2_normalize:
            pooled = F.normalize(pooled, dim=1)
        return pooled, scores


class CombinedPool(AttentionPool):
    """The paper's video feature: F = (sum_i lambda_i z_i + (1/N) sum_i z_i) / 2, lambda from the 1-D FCN."""

    def __init__(self, feature_dim: int = 128, **kw):
        super().__init__(feature_dim, combine=kw.pop("combine", True), **kw)


HEADS = {
    "mean": lambda d, **kw: MeanPool(**kw),
    "max": lambda d, **kw: MaxPool(**kw),
    "attention": lambda d, **kw: AttentionPool(d, **kw),
    "combined": lambda d, **kw: CombinedPool(d, **kw),
    # the paper's Sec. 3.2 experiment: the combination with softmax in place of sigmoid
    "softmax": lambda d, **kw: CombinedPool(d, activation=kw.pop("activation", "softmax"), **kw),
    "rcn": lambda d, **kw: RCNPool(d, **kw),
    # the combination with lambda from an LSTM instead of the FCN: only the scorer differs
    "rnn_attention": lambda d, **kw: CombinedPool(d, scorer=kw.pop("scorer", "lstm"), **kw),
}


def make_head(name: str, feature_dim: int = 128, **kw) -> nn.Module:
    """A pooling head by name: "mean", "max", "attention", "combined", "softmax", "rcn", "rnn_attention".

    Extra keywords go to the head (e.g. ``l2_normalize=True``, ``windows=(5, 3)``, ``cell="gru"``).
    """
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; choose one of {list(HEADS)}.")
    try:
        return HEADS[name](feature_dim, **kw)
    except TypeError as e:
        raise TypeError(f"head {name!r} does not take these options {sorted(kw)}: {e}") from None
