"""Siamese losses (chapter 7): the hinge on the feature distance and the identity losses, Eq. 4."""

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
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 4: identity CE of branch 1 + hinge on ||f1 - f2|| + identity CE of branch 2.

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
    total = id1 + hinge + id2
    return total, {"id1": id1, "hinge": hinge, "id2": id2, "total": total}
