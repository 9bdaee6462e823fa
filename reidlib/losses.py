"""Siamese losses (chapter 7): the hinge on the feature distance and the identity losses, Eq. 4;
the batch-hard triplet loss of the modern recipe (chapter 13)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def squared_hinge(
    distance: torch.Tensor, same: torch.Tensor, margin: float = 2.0, squared: bool = True
) -> torch.Tensor:
    """Per-pair hinge loss on distances d (B,) with labels same (B,) bool -> (B,).

    squared=True (the paper):  same -> d^2 / 2,  different -> max(0, margin - d)^2 / 2.
    squared=False (McLaughlin et al.'s code, Torch's HingeEmbeddingCriterion):
    same -> d,  different -> max(0, margin - d).
    """
    if distance.dim() != 1 or same.shape != distance.shape:
        raise ValueError(
            f"squared_hinge expects distance (B,) and same (B,); found {tuple(distance.shape)} "
            f"and {tuple(same.shape)}. Compute one distance per pair, e.g. (f1 - f2).norm(dim=1)."
        )
    if same.dtype != torch.bool:
        raise ValueError(f"same must be a bool tensor (True = same person); found dtype {same.dtype}. Use same.bool().")
    if margin <= 0:
        raise ValueError(f"margin must be > 0; found {margin}.")
    push = (margin - distance).clamp_min(0)
    if squared:
        return torch.where(same, distance.pow(2), push.pow(2)) / 2
    return torch.where(same, distance, push)


def siamese_loss(
    f1: torch.Tensor,
    f2: torch.Tensor,
    same: torch.Tensor,
    logits1: torch.Tensor,
    logits2: torch.Tensor,
    labels1: torch.Tensor,
    labels2: torch.Tensor,
    margin: float = 2.0,
    squared: bool = True,
    id_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 4: identity CE of branch 1 + hinge on ||f1 - f2|| + identity CE of branch 2.

    ``id_weight`` scales both identity terms in the total (the paper: 1; 0 trains on the hinge
    alone, an ablation); the parts are reported unscaled.

    f1, f2: video features (B, D); same: (B,) bool; logits*: (B, K); labels*: (B,) class indices.
    Returns (total, parts) with parts = {"id1", "hinge", "id2", "total"}, 0-d tensors on the
    features' device (reading one waits for the device: do it only when logging); each term is
    the mean over the B pairs.
    """
    if f1.shape != f2.shape or f1.dim() != 2:
        raise ValueError(
            f"siamese_loss expects f1 and f2 of the same shape (B, D); found {tuple(f1.shape)} and {tuple(f2.shape)}."
        )
    # clamp keeps the gradient of sqrt finite when a pair has identical features
    distance = (f1 - f2).pow(2).sum(1).clamp_min(1e-12).sqrt()  # (B,)
    hinge = squared_hinge(distance, same, margin, squared).mean()
    id1 = F.cross_entropy(logits1, labels1)
    id2 = F.cross_entropy(logits2, labels2)
    total = id_weight * id1 + hinge + id_weight * id2  # id_weight = 1: the same bits as id1 + hinge + id2
    return total, {"id1": id1, "hinge": hinge, "id2": id2, "total": total}


def batch_hard_triplet(
    features: torch.Tensor, pids: torch.Tensor, margin: float = 0.3, soft: bool = False
) -> torch.Tensor:
    """Batch-hard triplet loss (Hermans, Beyer, Leibe 2017, "In Defense of the Triplet Loss") -> scalar.

    features (B, D), pids (B,) person ids of a PK batch. For every anchor: its farthest positive
    (same person, another sample) and its nearest negative, at Euclidean distances; the loss is
    the mean over anchors of max(0, margin + d_pos - d_neg), or softplus(d_pos - d_neg) with
    ``soft=True`` (the paper's soft margin, no margin to choose). Every person needs at least
    two samples and the batch at least two persons.
    """
    if features.dim() != 2 or pids.shape != features.shape[:1]:
        raise ValueError(
            f"batch_hard_triplet expects features (B, D) and pids (B,); found {tuple(features.shape)} and "
            f"{tuple(pids.shape)}."
        )
    if pids.dtype.is_floating_point or pids.dtype == torch.bool:
        raise ValueError(f"pids must be integer person ids (or class labels); found dtype {pids.dtype}.")
    if not soft and margin <= 0:
        raise ValueError(f"margin must be > 0 (or use soft=True); found {margin}.")
    same = pids[:, None] == pids[None, :]  # (B, B)
    positive = same & ~torch.eye(len(pids), dtype=torch.bool, device=pids.device)
    alone = pids[~positive.any(1)].unique().tolist()
    if alone or same.all():
        raise ValueError(
            f"batch_hard_triplet needs at least 2 samples of every person and at least 2 persons per batch; found "
            f"{len(pids)} samples of {len(pids.unique())} persons, {len(alone)} of them once (e.g. {alone[:5]}). "
            "Use a PK batch (reidlib.training.PKSampler) with K >= 2."
        )
    # clamp keeps the gradient of sqrt finite for identical features
    d = (features[:, None, :] - features[None, :, :]).pow(2).sum(-1).clamp_min(1e-12).sqrt()  # (B, B)
    hardest_positive = d.masked_fill(~positive, float("-inf")).amax(1)  # (B,)
    hardest_negative = d.masked_fill(same, float("inf")).amin(1)  # (B,)
    gap = hardest_positive - hardest_negative
    return (F.softplus(gap) if soft else (gap + margin).clamp_min(0)).mean()
