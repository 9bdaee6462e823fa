"""The frame CNN of McLaughlin et al (chapter 4). (2016), used by the paper: one 128-d feature per frame.

Three stages of  zero-pad 4 -> conv 5x5 (stride 1) -> tanh -> max-pool 2x2,  with 16, 32
and 32 filters, turn a 5 x 56 x 40 frame (YUV + two optical-flow channels) into
32 x 10 x 8 = 2560 values; dropout and one linear layer give z_i in R^128.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..preprocess import CROP_SIZE


class FrameCNN(nn.Module):
    """Frames -> features.  (B, T, C, 56, 40) -> (B, T, D)  or  (B*T, C, 56, 40) -> (B*T, D).

    Args:
        in_channels: 5 (Y, U, V, flow x, flow y) or 3 without optical flow.
        feature_dim: D, the size of z_i (128 in the paper).
        dropout: dropout rate before the linear layer (0.6 in the paper).
        filters: filters of the three stages.
    """

    def __init__(
        self,
        in_channels: int = 5,
        feature_dim: int = 128,
        dropout: float = 0.6,
        filters: tuple[int, ...] = (16, 32, 32),
    ):
        super().__init__()
        self.in_channels, self.feature_dim = in_channels, feature_dim
        channels = (in_channels, *filters)
        self.convs = nn.ModuleList(
            nn.Conv2d(channels[k], f, kernel_size=5, stride=1, padding=4) for k, f in enumerate(filters)
        )
        c = filters[-1]
        h, w = CROP_SIZE
        for _ in filters:  # (h + 2*4 - 5 + 1) // 2 per stage: 56x40 -> 30x22 -> 17x13 -> 10x8
            h, w = (h + 4) // 2, (w + 4) // 2
        self.flat_dim = c * h * w  # 2560 for the paper's sizes
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.flat_dim, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (4, 5) or tuple(x.shape[-3:]) != (self.in_channels, *CROP_SIZE):
            raise ValueError(
                f"FrameCNN expects frames of shape (B, T, {self.in_channels}, 56, 40) or "
                f"(B*T, {self.in_channels}, 56, 40); found {tuple(x.shape)}. Crop the 64x48 "
                "preprocessed frames to 56x40 (reidlib.preprocess.crop_and_flip) and check in_channels "
                "(5 with optical flow, 3 without)."
            )
        lead = x.shape[:-3]  # (B, T) or (B*T,)
        z = self.fc(self.dropout(self.conv_features(x)))  # (B*T, D)
        return z.reshape(*lead, self.feature_dim)

    def conv_features(self, x: torch.Tensor) -> torch.Tensor:
        """The three conv stages, flattened: frames (..., C, 56, 40) -> (frames, 2560), before dropout and
        the linear layer (what the lab of chapter 11 caches)."""
        # channels-last is oneDNN's fast layout for the first conv, whose 5 input channels are few
        h = x.reshape(-1, *x.shape[-3:]).contiguous(memory_format=torch.channels_last)
        for conv in self.convs:
            # tanh is increasing, so tanh(max-pool(.)) equals the paper's max-pool(tanh(.)) exactly,
            # with 4x fewer tanh evaluations
            h = torch.tanh(F.max_pool2d(conv(h), 2)).contiguous()  # (B*T, 16, 30, 22) ... (B*T, 32, 10, 8)
        return h.flatten(1)
