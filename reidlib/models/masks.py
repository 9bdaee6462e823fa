"""Padding masks for batches of sequences of different lengths.

A batch of B sequences padded to N frames carries a bool mask (B, N): True marks a real
frame. Real frames come first (right padding), so each row is described by its length.
"""

from __future__ import annotations

import torch


def check_sequence(
    features: torch.Tensor, mask: torch.Tensor | None, who: str = "this module"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate features (B, N, D) and mask; return (mask (B, N) bool, lengths (B,) long).

    ``mask=None`` means every frame is real. A mask must be right-padded (True ... True
    False ... False) with at least one real frame per sequence.
    """
    if features.dim() != 3:
        raise ValueError(
            f"{who} expects features of shape (B, N, D); found {tuple(features.shape)}. "
            "Add a batch dimension with features.unsqueeze(0) for a single sequence."
        )
    b, n, _ = features.shape
    if n < 1:
        raise ValueError(f"{who} needs at least one frame per sequence; found N = 0.")
    if mask is None:
        return (
            torch.ones(b, n, dtype=torch.bool, device=features.device),
            torch.full((b,), n, dtype=torch.long, device=features.device),
        )
    if mask.shape != (b, n):
        raise ValueError(
            f"{who} expects a mask of shape (B, N) = {(b, n)} matching the features; found {tuple(mask.shape)}."
        )
    if mask.dtype != torch.bool:
        raise ValueError(
            f"{who} expects a bool mask (True = real frame); found dtype {mask.dtype}. "
            "Use mask.bool() if it holds 0/1 values."
        )
    lengths = mask.sum(1)
    if bool((lengths == 0).any()):
        raise ValueError(
            f"{who}: sequence(s) {torch.nonzero(lengths == 0).flatten().tolist()} have no "
            "real frame in the mask; drop empty sequences from the batch."
        )
    prefix = torch.arange(n, device=mask.device) < lengths[:, None]
    if not torch.equal(prefix, mask):
        raise ValueError(
            f"{who} expects right-padded masks (real frames first, then padding); found a "
            "mask with a gap. Put each sequence's frames at the start of its row."
        )
    return mask, lengths


def mask_from_lengths(lengths: torch.Tensor | list[int], max_len: int | None = None) -> torch.Tensor:
    """Lengths (B,) -> right-padded bool mask (B, max_len)."""
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    n = int(lengths.max()) if max_len is None else max_len
    return torch.arange(n, device=lengths.device) < lengths[:, None]


def pad_sequences(seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """A list of (N_b, ...) tensors -> (padded (B, max N, ...) zero-filled, mask (B, max N))."""
    if not seqs:
        raise ValueError("pad_sequences needs at least one sequence; found an empty list.")
    padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    return padded, mask_from_lengths([len(s) for s in seqs], padded.shape[1]).to(padded.device)
