"""Recurrent baselines: RCN (McLaughlin et al. 2016) and RNN temporal attention (Zhou et al. 2017 style) (chapter 11).

Both read a padded batch with ``pack_padded_sequence``, so a recurrent layer never steps
over padding and each sequence gets the same outputs as when it runs alone.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .masks import ACTIVATIONS, masked_activation, sequence_lengths

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def run_packed(
    rnn: nn.RNNBase, features: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor
) -> torch.Tensor:
    """Run a batch_first recurrent layer over the real frames only. (B, N, D) -> (B, N, H'), 0 at padding.

    ``mask=None`` (no padding) runs the layer directly: packing would only cost time."""
    if mask is None:
        return rnn(features)[0]
    packed = pack_padded_sequence(features, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=features.shape[1])
    return out


def _make_rnn(cell: str, input_size: int, hidden: int, bidirectional: bool = False) -> nn.RNNBase:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)}; found {cell!r}.")
    return CELLS[cell](input_size, hidden, batch_first=True, bidirectional=bidirectional)


class RCNPool(nn.Module):
    """RCN head: a recurrent layer over the frame features, then the mean over time.

    features (B, N, D), mask (B, N) -> (pooled (B, D), None). McLaughlin et al. use
    h_t = tanh(W z_t + U h_{t-1}) with D hidden units (cell="rnn", the default).
    """

    def __init__(self, feature_dim: int = 128, cell: str = "rnn"):
        super().__init__()
        self.rnn = _make_rnn(cell, feature_dim, feature_dim)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        mask, lengths = sequence_lengths(features, mask, "RCNPool")
        h = run_packed(self.rnn, features, mask, lengths)  # (B, N, D), 0 at padding
        return h.sum(1) / lengths[:, None].to(h.dtype), None  # (B, D)


class RNNTemporalAttention(nn.Module):
    """Per-frame attention scores from a recurrent layer: (B, N, D), mask -> scores (B, N).

    alpha_t = w . h_t + b over the hidden states h_t of an LSTM/GRU/RNN; then sigmoid
    (as our FCN) or softmax over the real frames (as Zhou et al.). The same interface as
    :class:`~reidlib.models.fcn.FCNTemporalAttention`, so either can score the frames of a
    pooling head; a unidirectional cell sees only past frames, a bidirectional one both sides.
    """

    def __init__(
        self,
        feature_dim: int = 128,
        hidden: int = 64,
        cell: str = "lstm",
        bidirectional: bool = False,
        activation: str = "sigmoid",
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; found {activation!r}.")
        self.activation = activation
        self.rnn = _make_rnn(cell, feature_dim, hidden, bidirectional)
        self.score = nn.Linear(hidden * (2 if bidirectional else 1), 1)

    def logits(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Unnormalised scores alpha (B, N); 0 at padded frames."""
        mask, lengths = sequence_lengths(features, mask, "RNNTemporalAttention")
        h = run_packed(self.rnn, features, mask, lengths)  # (B, N, H')
        alpha = self.score(h)[..., 0]  # (B, N)
        return alpha if mask is None else alpha * mask

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return masked_activation(self.logits(features, mask), mask, self.activation)  # (B, N)
