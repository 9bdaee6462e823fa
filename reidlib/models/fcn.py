"""The paper's temporal attention: a 1-D fully convolutional network (FCN) over frames.

FCN (Long et al. 2015) labels every pixel of an image: an encoder of convolutions and
poolings makes a coarse score map, a 1x1 "score" convolution gives one channel, and a
transposed convolution initialised as (bi)linear interpolation upsamples it back to the
input size. The paper runs the same machine in 1-D: the N x D matrix of frame features
is a length-N signal with D channels and the output is one score per frame.

Building blocks shared with the 2-D FCN of chapter 5: :func:`interp_kernel`,
:func:`init_interpolation_` and :class:`Upsample1d`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .masks import ACTIVATIONS, masked_activation, sequence_lengths

VARIANTS = {"32s": 0, "16s": 1, "8s": 2}  # FCN name -> number of skip connections


def interp_kernel(factor: int, ndim: int = 1) -> torch.Tensor:
    """The linear (ndim=1) or bilinear (ndim=2) interpolation kernel, shape (2f,) * ndim.

    As the weight of a transposed convolution with stride f, it puts every coarse value
    at the centre of its cell of f fine positions and interpolates linearly between them.
    """
    if factor < 1 or ndim < 1:
        raise ValueError(f"interp_kernel needs factor >= 1 and ndim >= 1; found factor={factor}, ndim={ndim}.")
    k = 2 * factor
    w = 1 - (torch.arange(k, dtype=torch.float32) - (k - 1) / 2).abs() / factor  # (2f,)
    out = w
    for _ in range(ndim - 1):
        out = out[..., None] * w  # outer product: (2f, 2f) for ndim=2
    return out


def init_interpolation_(deconv: nn.ConvTranspose1d | nn.ConvTranspose2d) -> nn.Module:
    """Initialise a transposed conv (C -> C channels, kernel 2f, stride f) as per-channel interpolation."""
    ndim = deconv.weight.dim() - 2
    f = deconv.stride[0]
    c_in, c_out = deconv.in_channels, deconv.out_channels
    if (
        c_in != c_out
        or deconv.groups != 1
        or any(s != f for s in deconv.stride)
        or any(k != 2 * f for k in deconv.kernel_size)
    ):
        raise ValueError(
            "init_interpolation_ expects a transposed conv with in_channels == out_channels, groups=1, "
            f"stride f and kernel 2f on every axis; found in={c_in}, out={c_out}, groups={deconv.groups}, "
            f"stride={deconv.stride}, kernel={deconv.kernel_size}."
        )
    with torch.no_grad():
        deconv.weight.zero_()
        kernel = interp_kernel(f, ndim)
        for c in range(c_in):
            deconv.weight[c, c] = kernel
        if deconv.bias is not None:
            deconv.bias.zero_()
    return deconv


class Upsample1d(nn.Module):
    """Learned x f upsampling of a padded batch, initialised as linear interpolation.

    (B, C, M) coarse values of sequences with ``lengths`` (B,) real cells -> (B, C, L).
    Each sequence is extended by one cell at each end with its edge value (as linear
    interpolation with clamped edges does, so the first and last frames are not pulled
    towards 0), upsampled by a transposed conv (kernel 2f, stride f) and cropped at the
    fixed offset 3f/2 that aligns each coarse cell's centre with its f fine positions.
    The offset does not depend on the length, so padding never shifts or leaks into a
    sequence: fine position i < f * length only sees real cells.
    """

    def __init__(self, channels: int, factor: int):
        super().__init__()
        if factor < 2 or factor % 2:
            raise ValueError(f"Upsample1d needs an even factor >= 2; found {factor}.")
        self.factor = factor
        self.deconv = init_interpolation_(nn.ConvTranspose1d(channels, channels, 2 * factor, stride=factor, bias=False))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, out_len: int) -> torch.Tensor:
        b, c, m = x.shape
        # x must be 0 beyond each length; copy the last real cell into the first padded one.
        last = x.gather(2, (lengths - 1).view(b, 1, 1).expand(b, c, 1))  # (B, C, 1)
        ext = torch.cat([x[:, :, :1], x, x.new_zeros(b, c, 1)], dim=2)  # (B, C, M + 2)
        ext = ext.scatter(2, (lengths + 1).view(b, 1, 1).expand(b, c, 1), last)
        y = self.deconv(ext)  # (B, C, (M + 3) f)
        start = self.factor + self.factor // 2
        return y[:, :, start : start + out_len]  # (B, C, L)


class TemporalConv(nn.Conv1d):
    """A Conv1d (same weights and state_dict) that also takes (B, C, 1, L) and runs as a (1 x w) Conv2d.

    (B, C_in, L) -> (B, C_out, L) as usual, or (B, C_in, 1, L) -> (B, C_out, 1, L). The
    (B, C, 1, L) view of (B, L, C) features is channels-last, the layout oneDNN convolves
    fastest on a CPU, so the features are read in place instead of being transposed.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return super().forward(x)
        return F.conv2d(x, self.weight.unsqueeze(2), self.bias, padding=(0, self.padding[0]))


def _pool_relu(
    x: torch.Tensor, mask: torch.Tensor | None, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """ReLU(max-pool by 2 over time), ignoring padding. (B, C, 1, L) -> (B, C, 1, ceil(L/2)), mask, lengths.

    Max-pooling before the ReLU gives the same result (they commute) on half the values.
    Pooling is in ceil mode: an odd length keeps its last frame as a cell of its own.
    Padded frames are set to -inf, so they never win a max, and cells made only of padding
    come out as ReLU(-inf) = 0, ready to be the zero padding of the next conv. A mask of
    None (no padding) stays None.
    """
    if mask is not None:
        x = x.masked_fill(~mask[:, None, None], float("-inf"))
    x = F.relu(F.max_pool2d(x, (1, 2), ceil_mode=True))
    lengths = (lengths + 1) // 2
    return x, None if mask is None else torch.arange(x.shape[-1], device=x.device) < lengths[:, None], lengths


class FCNTemporalAttention(nn.Module):
    """Per-frame attention scores from a 1-D FCN.  features (B, N, D), mask (B, N) -> scores (B, N).

    Encoder: for each window size w_k, a temporal conv (w_k, zero "same" padding) -> ReLU ->
    max-pool 2; a 1x1 score conv; learned upsampling back to N; sigmoid (the paper) or a
    softmax over the real frames. Works for every N >= 1: pooling is in ceil mode, so even
    one frame stays one cell, and upsampling crops to exactly N.

    Defaults: two stages with windows (w1, w2) = (5, 3), as the paper's Figure 3 names two
    window sizes; with pooling in between the encoder sees 12 consecutive frames (half a
    second at 25 fps, about one step) and the final interpolation widens that to 16, the
    training window of McLaughlin et al.'s code (the paper states none). 64 channels give it
    about as many weights as the LSTM-attention baseline with 64 hidden units (53k vs 50k) and
    under 1% of the frame CNN's multiply-adds on a 16-frame window (0.75M vs 417M).

    Padding: padded frames are zeroed before the first conv and come out of every pooling
    as 0 (exactly the zero padding a lone sequence gets at its end), never win a max-pool,
    and are masked before every upsampling, so a padded batch gives each sequence the
    scores it gets alone.

    Args:
        feature_dim: D, channels of the input signal.
        windows: temporal window of each encoder conv (odd); len(windows) = number of poolings.
        hidden: channels of each encoder conv (an int for all).
        variant: "32s" (FCN-32s style: upsample the coarsest scores in one step, the paper),
            "16s" / "8s" (add 1 / 2 skip connections from finer levels, upsampling by 2 at each;
            the finest skip level may be the input features themselves).
        activation: "sigmoid" (lambda_i in (0, 1), the paper) or "softmax" (sums to 1 over real frames).
    """

    def __init__(
        self,
        feature_dim: int = 128,
        windows: Sequence[int] = (5, 3),
        hidden: int | Sequence[int] = 64,
        variant: str = "32s",
        activation: str = "sigmoid",
    ):
        super().__init__()
        windows = tuple(windows)
        hidden = (hidden,) * len(windows) if isinstance(hidden, int) else tuple(hidden)
        if not windows or any(w < 1 or w % 2 == 0 for w in windows) or len(hidden) != len(windows):
            raise ValueError(
                f"FCNTemporalAttention needs odd window sizes and one hidden size per window; "
                f"found windows={windows}, hidden={hidden}."
            )
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}; found {variant!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}; found {activation!r}.")
        skips = VARIANTS[variant]
        if skips > len(windows):
            raise ValueError(
                f"variant {variant!r} needs at least {skips} pooling stages; found {len(windows)} "
                f"windows. Pass more windows, e.g. windows=(5, 3, 3)."
            )
        self.windows, self.variant, self.activation = windows, variant, activation
        channels = (feature_dim, *hidden)  # channels at level 0 (input), 1, ..., K
        self.convs = nn.ModuleList(
            TemporalConv(channels[k], channels[k + 1], w, padding=w // 2) for k, w in enumerate(windows)
        )
        k_levels = len(windows)
        self.score = TemporalConv(channels[-1], 1, 1)
        # skip j fuses level K-1-j: its own 1x1 score + the x2 upsampled coarser scores
        self.skip_scores = nn.ModuleList(TemporalConv(channels[k_levels - 1 - j], 1, 1) for j in range(skips))
        self.skip_ups = nn.ModuleList(Upsample1d(1, 2) for _ in range(skips))
        final = 2 ** (k_levels - skips)
        self.final_up = Upsample1d(1, final) if final > 1 else None

    def logits(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Unnormalised scores alpha (B, N); 0 at padded frames. ``mask=None``: no padding, and
        every masking operation is skipped."""
        mask, lengths = sequence_lengths(features, mask, "FCNTemporalAttention")
        x = features.transpose(1, 2).unsqueeze(2)  # (B, D, 1, N), a view
        if mask is not None:
            x = x * mask[:, None, None]  # padding = the convs' zero padding
        levels = [(x, mask, lengths)]  # level 0 = the input
        for conv in self.convs:
            x, mask, lengths = _pool_relu(conv(x), mask, lengths)  # (B, C_k, 1, ceil(L_k / 2))
            levels.append((x, mask, lengths))
        s = self.score(x)[:, :, 0]  # (B, 1, L_K)
        for j, (skip, up) in enumerate(zip(self.skip_scores, self.skip_ups, strict=True)):
            x_f, mask_f, lengths_f = levels[-2 - j]
            s = up(s if mask is None else s * mask[:, None], lengths, x_f.shape[-1]) + skip(x_f)[:, :, 0]
            mask, lengths = mask_f, lengths_f
        if self.final_up is not None:
            s = self.final_up(s if mask is None else s * mask[:, None], lengths, features.shape[1])  # (B, 1, N)
        first = levels[0][1]
        return s[:, 0] if first is None else s[:, 0] * first  # (B, N)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return masked_activation(self.logits(features, mask), mask, self.activation)  # (B, N)
