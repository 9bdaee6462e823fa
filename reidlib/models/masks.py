"""Padding masks for batches of sequences of different lengths, and the masked attention activation (chapter 6).

A batch of B sequences padded to N frames carries a bool mask (B, N): True marks a real
frame. Real frames come first (right padding), so each row is described by its length.
``mask=None`` means that no sequence is padded: heads and scorers then skip every masking
operation. The values of a mask are checked once, by :func:`check_mask` (which has to read
them back from the device); the heads and scorers only check shapes.
"""

from __future__ import annotations

import torch

ACTIVATIONS = ("sigmoid", "softmax")


def sequence_lengths(
    features: torch.Tensor, mask: torch.Tensor | None, who: str = "this module"
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Check the shapes of features (B, N, D) and mask (B, N) or None -> (mask, lengths (B,) long).

    Only shapes and dtypes are checked (no value is read, so nothing waits for the device).
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
        return None, torch.full((b,), n, dtype=torch.long, device=features.device)
    if mask.shape != (b, n):
        raise ValueError(
            f"{who} expects a mask of shape (B, N) = {(b, n)} matching the features; found {tuple(mask.shape)}."
        )
    if mask.dtype != torch.bool:
        raise ValueError(
            f"{who} expects a bool mask (True = real frame); found dtype {mask.dtype}. "
            "Use mask.bool() if it holds 0/1 values."
        )
    return mask, mask.sum(1)


def check_mask(mask: torch.Tensor, who: str = "this module") -> None:
    """Check the values of a (B, N) bool mask: right-padded, at least one real frame per row."""
    lengths = mask.sum(1)
    if bool((lengths == 0).any()):
        raise ValueError(
            f"{who}: sequence(s) {torch.nonzero(lengths == 0).flatten().tolist()} have no "
            "real frame in the mask; drop empty sequences from the batch."
        )
    prefix = torch.arange(mask.shape[1], device=mask.device) < lengths[:, None]
    if not torch.equal(prefix, mask):
        raise ValueError(
            f"{who} expects right-padded masks (real frames first, then padding); found a "
            "mask with a gap. Put each sequence's frames at the start of its row."
        )


def masked_activation(alpha: torch.Tensor, mask: torch.Tensor | None, activation: str) -> torch.Tensor:
    """Unnormalised scores alpha (B, N) -> weights (B, N), 0 at padded frames.

    "sigmoid": lambda_i = sigmoid(alpha_i) in (0, 1), each frame on its own (the paper);
    "softmax": lambda = softmax over the real frames of each row, summing to 1.
    """
    if activation == "sigmoid":
        scores = torch.sigmoid(alpha)
        return scores if mask is None else scores * mask
    if activation == "softmax":
        return torch.softmax(alpha if mask is None else alpha.masked_fill(~mask, float("-inf")), dim=1)
    raise ValueError(f"activation must be one of {ACTIVATIONS}; found {activation!r}.")


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
