"""Temporal pooling heads: frame features (B, N, D) + mask (B, N) -> video feature (B, D) (chapter 6).

Every head returns ``(pooled (B, D), scores (B, N) or None)``; scores are the per-frame
weights when the head has them (0 at padded frames). Build one by name with
:func:`make_head`. A mask of None means no sequence is padded; masks are checked by the
caller (:class:`reidlib.models.VideoReIDNet` checks them once per batch). Padded frames may hold
anything, NaN and inf included: every head replaces them by zeros (``masked_fill``) before any
arithmetic, since multiplying by the mask would turn NaN * 0 into NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .fcn import FCNTemporalAttention
from .masks import sequence_lengths
from .rnn import CELLS, RCNPool, RNNTemporalAttention


def zero_padding(features: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Padded frames set to 0, whatever they held (NaN and inf too): (B, N, D) -> (B, N, D) (chapter 6)."""
    return features if mask is None else features.masked_fill(~mask[..., None], 0.0)


def masked_mean(features: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor) -> torch.Tensor:
    """(1/N_b) sum over the real frames: features (B, N, D) -> (B, D)."""
    return zero_padding(features, mask).sum(1) / lengths[:, None].to(features.dtype)


def weighted_mean(features: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_i w_i z_i / sum_i w_i: features (B, N, D), weights (B, N) >= 0, 0 at padding -> (B, D)."""
    return (weights[..., None] * features).sum(1) / weights.sum(1, keepdim=True).clamp_min(1e-8)


class Pool(nn.Module):
    """A head whose output may be scaled to unit L2 norm before the distance (the paper's Figure 2).

    Subclasses define ``raw(features, mask, ...) -> (F (B, D), scores or None)``, F before any
    normalisation: what the identity classifier reads (:meth:`reidlib.models.VideoReIDNet.encode`).
    """

    def __init__(self, l2_normalize: bool = False):
        super().__init__()
        self.l2_normalize = l2_normalize

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None, *extra):
        pooled, scores = self.raw(features, mask, *extra)
        return (F.normalize(pooled, dim=1) if self.l2_normalize else pooled), scores


class MeanPool(Pool):
    """Temporal mean over the real frames: (1/N) sum_i z_i (McLaughlin et al.); ``l2_normalize=True``
    scales it to unit length, the paper's protocol without attention."""

    def raw(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        mask, lengths = sequence_lengths(features, mask, "MeanPool")
        return masked_mean(features, mask, lengths), None


class MaxPool(nn.Module):
    """Temporal max over the real frames, per feature dimension."""

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        mask, _ = sequence_lengths(features, mask, "MaxPool")
        return (features if mask is None else features.masked_fill(~mask[..., None], float("-inf"))).amax(1), None


class OraclePool(Pool):
    """The ceiling of attention: pools with lambda = the true visibility of each frame (synthetic data only).

    F = sum_i v_i z_i / sum_i v_i, a weighted mean with the generator's visible share v_i of
    the person; nothing in it is learned. Frames that show none of the person (v = 0) get no
    weight; a video that never shows the person falls back to the plain mean. ``l2_normalize=True``
    scales F to unit length (the ceiling of the paper's protocol).
    forward: features (B, N, D), mask, visibility (B, N) -> (pooled (B, D), visibility as scores).
    """

    needs_visibility = True

    def raw(
        self, features: torch.Tensor, mask: torch.Tensor | None = None, visibility: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mask, lengths = sequence_lengths(features, mask, "OraclePool")
        if visibility is None or visibility.shape != features.shape[:2]:
            found = None if visibility is None else tuple(visibility.shape)
            raise ValueError(
                f"the oracle head pools with the true visibility of each frame: pass visibility (B, N) = "
                f"{tuple(features.shape[:2])}; found {found}. Only the synthetic benchmark knows it "
                "(Tracklet.visibility)."
            )
        v = visibility.to(features.dtype).clamp(0, 1)
        if mask is not None:
            v = v.masked_fill(~mask, 0.0)
        blind = v.sum(1, keepdim=True) <= 0  # no visible frame at all: the plain mean
        v = torch.where(blind, torch.ones_like(v) if mask is None else mask.to(v.dtype), v)
        return self.weigh(features, v, mask), v

    def weigh(self, features: torch.Tensor, weights: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """F before any L2 normalisation from given per-frame weights (B, N) >= 0: the weighted mean."""
        return weighted_mean(zero_padding(features, mask), weights)


class AttentionPool(Pool):
    """Attention pooling, Eq. 2 of the paper: gamma = sum_i lambda_i z_i (a plain sum).

    Args:
        feature_dim: D.
        scorer: who gives lambda: "fcn" (the paper's :class:`FCNTemporalAttention`) or a recurrent
            cell "lstm" / "gru" / "rnn" (:class:`RNNTemporalAttention`, the baseline).
        activation: "sigmoid" (the paper) or "softmax".
        normalize: divide gamma by sum_i lambda_i (a weighted mean instead of a weighted sum).
        combine: return F = (gamma + mean_i z_i) / 2, the paper's final video feature.
        l2_normalize: scale the result to unit L2 norm (the paper's Figure 2 normalises F before the
            distance; :meth:`raw` gives F before it, which the identity classifier reads).
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
        super().__init__(l2_normalize)
        if scorer == "fcn":
            self.scorer = FCNTemporalAttention(feature_dim, activation=activation, **scorer_kw)
        elif scorer in CELLS:
            self.scorer = RNNTemporalAttention(feature_dim, cell=scorer, activation=activation, **scorer_kw)
        else:
            raise ValueError(f"scorer must be 'fcn' or one of {list(CELLS)}; found {scorer!r}.")
        self.normalize, self.combine = normalize, combine

    def raw(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(F before any L2 normalisation (B, D), scores (B, N)): what the identity classifier reads."""
        mask, _ = sequence_lengths(features, mask, type(self).__name__)
        features = zero_padding(features, mask)  # NaN or inf in the padding must not reach the sums
        scores = self.scorer(features, mask)  # (B, N), 0 at padding
        return self.weigh(features, scores, mask), scores

    def weigh(self, features: torch.Tensor, weights: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """F before any L2 normalisation from per-frame weights (B, N), 0 at padding: the head's formula
        (Eq. 2's sum or the weighted mean, averaged with the mean when combined) with any lambda, so that
        a test can pool with a constant, shuffled or true-visibility lambda instead of the scorer's
        (:func:`reidlib.evaluation.lambda_ablation`)."""
        mask, lengths = sequence_lengths(features, mask, type(self).__name__)
        features = zero_padding(features, mask)
        pooled = weighted_mean(features, weights) if self.normalize else (weights[..., None] * features).sum(1)
        if self.combine:
            pooled = (pooled + masked_mean(features, mask, lengths)) / 2  # F = (gamma + mean) / 2
        return pooled


class CombinedPool(AttentionPool):
    """The paper's video feature: F = (sum_i lambda_i z_i + (1/N) sum_i z_i) / 2, lambda from the 1-D FCN,
    scaled to unit length (``l2_normalize=False`` keeps the raw sum: the "combined_sum" ablation)."""

    def __init__(self, feature_dim: int = 128, combine: bool = True, l2_normalize: bool = True, **kw):
        super().__init__(feature_dim, combine=combine, l2_normalize=l2_normalize, **kw)


HEADS = {
    "mean": lambda d, **kw: MeanPool(**kw),
    "max": lambda d, **kw: MaxPool(**kw),
    # lambda = the true visibility: the ceiling of what attention can gain (synthetic data)
    "oracle": lambda d, **kw: OraclePool(**kw),
    # Eq. 2 alone: the sigmoid-weighted sum, whose size grows with the number of frames
    "attention": lambda d, **kw: AttentionPool(d, **kw),
    # the sigmoid-weighted mean: separates "sum vs mean" from "sigmoid vs softmax"
    "attention_mean": lambda d, **kw: AttentionPool(d, normalize=kw.pop("normalize", True), **kw),
    # softmax attention: weights that sum to 1 over the frames (a weighted mean by construction)
    "softmax": lambda d, **kw: AttentionPool(d, activation=kw.pop("activation", "softmax"), **kw),
    # the paper's model: (Eq. 2 + mean) / 2, L2-normalised before the distance (Figure 2)
    "combined": lambda d, **kw: CombinedPool(d, **kw),
    # the same without the normalisation: an ablation (the feature's norm then follows the video length)
    "combined_sum": lambda d, **kw: CombinedPool(d, l2_normalize=kw.pop("l2_normalize", False), **kw),
    "rcn": lambda d, **kw: RCNPool(d, **kw),
    # the combination with lambda from an LSTM instead of the FCN: only the scorer differs
    "rnn_attention": lambda d, **kw: CombinedPool(d, scorer=kw.pop("scorer", "lstm"), **kw),
}


def make_head(name: str, feature_dim: int = 128, **kw) -> nn.Module:
    """A pooling head by name (see :data:`HEADS`): "mean", "max", "oracle", "attention",
    "attention_mean", "softmax", "combined", "combined_sum", "rcn", "rnn_attention".

    Extra keywords go to the head (e.g. ``l2_normalize=False``, ``windows=(5, 3)``, ``cell="gru"``).
    """
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; choose one of {list(HEADS)}.")
    try:
        return HEADS[name](feature_dim, **kw)
    except TypeError as e:
        raise TypeError(f"head {name!r} does not take these options {sorted(kw)}: {e}") from None
