"""Chapter 5: bilinear upsampling by a transposed convolution, receptive fields, the 1-D FCN."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._core import CheckFailed, as_numpy, call, close, fail, passed


# ---------------------------------------------------------------- bilinear weights
def check_bilinear_weight(bilinear_weight) -> bool:
    """Check ``bilinear_weight(channels, factor) -> (channels, channels, 2f, 2f)`` for an even factor f.

    The truth is behavioural: a transposed convolution with these weights, stride
    ``factor`` and padding ``factor // 2`` must reproduce
    ``F.interpolate(mode="bilinear", align_corners=False)`` away from the border.
    """
    title = "bilinear_weight"
    # Hand-computed: factor 2 -> kernel 4, taps (1 - |x - 1.5| / 2) = 0.25, 0.75, 0.75, 0.25.
    taps = np.array([0.25, 0.75, 0.75, 0.25])
    got = as_numpy(call(title, bilinear_weight, 1, 2))
    close(
        title,
        np.outer(taps, taps)[None, None],
        got,
        hint="the 1-D taps for factor 2 are 0.25, 0.75, 0.75, 0.25; the 2-D kernel is their outer product",
    )
    rng = np.random.default_rng(0)
    for channels, factor in [(2, 2), (3, 4), (1, 6), (2, 8)]:
        k = 2 * factor
        w = as_numpy(call(title, bilinear_weight, channels, factor))
        if w.shape != (channels, channels, k, k):
            fail(
                title,
                f"shape {(channels, channels, k, k)} for channels={channels}, factor={factor}",
                f"shape {w.shape}",
                "ConvTranspose2d weights are (in_channels, out_channels, k, k) with k = 2 * factor",
            )
        off = w.copy()
        off[range(channels), range(channels)] = 0
        if np.abs(off).max() > 1e-6:
            fail(
                title,
                "zeros wherever the input and output channels differ",
                f"max |w| there = {np.abs(off).max():.3g}",
                "each output channel must copy only its own input channel: fill w[c, c] and leave the rest 0",
            )
        x = torch.tensor(rng.normal(size=(1, channels, 6, 5)), dtype=torch.float32)
        up = F.conv_transpose2d(x, torch.as_tensor(w, dtype=torch.float32), stride=factor, padding=factor // 2)
        want = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
        inner = (..., slice(factor, -factor), slice(factor, -factor))  # the border differs: zeros vs clamping
        close(
            title,
            want[inner],
            up[inner],
            atol=1e-5,
            hint=f"with factor {factor} the upsampled image should equal bilinear interpolation; "
            "the 1-D taps are 1 - |x - c| / factor for x = 0 .. 2f - 1, with centre c = factor - 0.5",
        )
    return passed(title, "Your transposed convolution starts out as bilinear interpolation.")


# ---------------------------------------------------------------- receptive field
def measured_receptive_field(layers) -> int:
    """Receptive field of a stack of 1-D layers ``[(kernel, stride), ...]``, measured by autograd.

    Every layer becomes a convolution with all-ones weights; the gradient of the first
    output with respect to a positive input is non-zero exactly on the inputs it sees.
    The input grows until the field no longer reaches its end.
    """
    length = 8
    while True:
        x = torch.ones(1, 1, length, requires_grad=True)
        y = x
        for k, s in layers:
            if y.shape[-1] < k:
                break
            y = F.conv1d(y, torch.ones(1, 1, k), stride=s)
        else:
            y[0, 0, 0].backward()
            last = int(torch.nonzero(x.grad[0, 0]).max())
            if last < length - 1:
                return last + 1
        length *= 2


def check_receptive_field(receptive_field) -> bool:
    """Check ``receptive_field(layers) -> int`` for 1-D layers given as ``[(kernel, stride), ...]``."""
    title = "receptive_field"
    cases = [
        [(3, 1)],  # one 3-tap conv sees 3 frames
        [(3, 1), (3, 1)],  # 5
        [(3, 1), (2, 2), (3, 1)],  # 3 + 1 + 2*2 = 8
        [(5, 1), (2, 2), (3, 1)],  # the chapter's 1-D FCN
        [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1)],
        [(7, 2), (3, 2), (3, 1)],
    ]
    for layers in cases:
        want = measured_receptive_field(layers)
        got = call(title, receptive_field, list(layers))
        try:
            ok = int(got) == want and float(got) == want
        except (TypeError, ValueError):
            ok = False
        if not ok:
            fail(
                title,
                f"{want} input frames for layers {layers}",
                repr(got),
                "start from r = 1; each layer adds (kernel - 1) times the product of the strides of the "
                "layers before it",
            )
    return passed(title, "You can read a network's field of view from its layers.")


# ---------------------------------------------------------------- the 1-D FCN attention module
def _scores(title: str, module, z, mask=None) -> torch.Tensor:
    out = call(title, module, z, mask) if mask is not None else call(title, module, z)
    if isinstance(out, tuple):
        raise CheckFailed(f"{title}: forward returned a tuple; it should return one tensor of scores (B, N).")
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{title}: forward returned {type(out).__name__}; it should return a torch.Tensor (B, N).")
    return out


def _check_sigmoid(title: str, module, feature_dim: int, g: torch.Generator) -> None:
    """Eq. 1b: lambda_i = sigmoid(alpha_i), one frame at a time; no softmax, no clipping."""
    for n in (7, 16, 33):
        s = _scores(title, module, torch.randn(3, n, feature_dim, generator=g))
        if (s.sum(1) - 1).abs().max() < 1e-4:
            fail(
                title,
                "a sigmoid score per frame (Eq. 1b), each in (0, 1) on its own",
                f"scores that sum to 1 over the {n} frames of every video: a softmax",
                "Eq. 1b asks for lambda_i = sigmoid(alpha_i); a softmax makes the frames compete for one unit of "
                "weight (chapter 6 compares the two)",
            )
    # A clamp or a hard sigmoid is linear in the middle and flat at 0 and 1. Scale the input until the
    # scores spread out (median |lambda - 1/2| >= 0.4, |alpha| about 2.2 for a sigmoid): a sigmoid then
    # gives almost no exact 0 or 1 (that needs |alpha| > 16 in float32), a clamp gives many.
    z = torch.randn(4, 64, feature_dim, generator=g)
    for scale in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
        s = _scores(title, module, scale * z)
        if (s - 0.5).abs().median() >= 0.4:
            edge = ((s == 0) | (s == 1)).float().mean().item()
            if edge > 0.05:
                fail(
                    title,
                    "scores strictly between 0 and 1, as a sigmoid gives for moderate inputs",
                    f"{edge:.0%} of the scores exactly 0 or 1 (input scaled by {scale:g})",
                    "end with torch.sigmoid(alpha) (Eq. 1b), not a clamp or a hard sigmoid",
                )
            break
    # A score must not depend on frames far outside its receptive field (a softmax or any statistic of
    # the whole video does): change the last 64 of 320 frames; the first 64 scores must not move.
    z = torch.randn(2, 320, feature_dim, generator=g)
    far = z.clone()
    far[:, 256:] += 10 * torch.randn(2, 64, feature_dim, generator=g)
    moved = (_scores(title, module, z)[:, :64] - _scores(title, module, far)[:, :64]).abs().max().item()
    if moved > 1e-6:
        fail(
            title,
            "the scores of frames 0-63 unchanged when frames 256-319 change (200 frames away)",
            f"scores that moved by up to {moved:.3g}",
            "each score must come from its neighbourhood only: a sigmoid per frame (Eq. 1b), not a softmax over "
            "the frames, and no normalisation or mean over the whole video",
        )


def _support_balance(
    title: str, module, feature_dim: int, g: torch.Generator, n: int = 160, frames=range(64, 96)
) -> float:
    """Mean of (first + last) frame offset that each score in ``frames`` depends on, measured by autograd.

    Aligned FCNs (odd windows with "same" padding, pooling by 2, upsampling cropped at f/2) see as far
    back as ahead, averaged over one period of the pooling grid: 0. A crop off by f/2, causal padding or
    even windows shift the scores in time and make it non-zero.
    """
    z = torch.randn(6, n, feature_dim, generator=g, requires_grad=True)
    s = _scores(title, module, z)
    balance = []
    for i in frames:
        (grad,) = torch.autograd.grad(s[:, i].sum(), z, retain_graph=True)
        seen = torch.nonzero(grad.abs().sum((0, 2))).flatten()
        balance.append(int(seen.min()) + int(seen.max()) - 2 * i)
    return sum(balance) / len(balance)


def _check_temporal_structure(title: str, module, feature_dim: int, g: torch.Generator) -> None:
    """Context, downsampling, interpolating upsampling and alignment, tested by how the scores respond."""
    n, i = 32, 16
    # Context: frame i's score must change when frame i - 2 or frame i + 2 changes.
    for j in (i - 2, i + 2):
        for _ in range(4):  # a ReLU or a max-pool may switch one path off: try a few inputs
            z = torch.randn(1, n, feature_dim, generator=g)
            moved = z.clone()
            moved[0, j] += 3 * torch.randn(feature_dim, generator=g)
            if (_scores(title, module, z)[0, i] - _scores(title, module, moved)[0, i]).abs() > 1e-6:
                break
        else:
            fail(
                title,
                f"the score of frame {i} to depend on frame {j} (two frames away)",
                f"a score of frame {i} that never changes when frame {j} changes",
                "the scores need temporal context: convolutions with a window along time (e.g. 5, then 3 after "
                "pooling), not a per-frame layer",
            )
    # Downsampling: a stride-1 network shifts its scores exactly with its input, by any number of
    # frames; pooling by 2 makes a one-frame shift differ.
    base = torch.randn(1, 130, feature_dim, generator=g)
    a, b = _scores(title, module, base[:, :128]), _scores(title, module, base[:, 1:129])
    if (a[0, 33:97] - b[0, 32:96]).abs().max() < 1e-4:
        fail(
            title,
            "an encoder that pools (max-pool 2) before its last convolution",
            "scores that follow a one-frame shift of the input exactly (no downsampling)",
            "downsample with max-pooling (kernel 2, stride 2), then upsample the coarse scores back to N frames",
        )
    # Upsampling by interpolation: repeating each coarse score makes neighbouring frames equal.
    s = a[0, 8:120]
    for start in (0, 1):
        pairs = s[start : start + 2 * ((len(s) - start) // 2)].reshape(-1, 2)
        if (pairs[:, 0] - pairs[:, 1]).abs().max() < 1e-7:
            fail(
                title,
                "scores interpolated between coarse cells",
                "equal scores for every pair of neighbouring frames (nearest-neighbour upsampling)",
                "upsample with a transposed convolution initialised as linear interpolation (chapter 5), then crop",
            )
    # Alignment: the score of frame i must be centred on frame i.
    with torch.enable_grad():
        balance = _support_balance(title, module, feature_dim, g)
    if abs(balance) >= 1:
        fail(
            title,
            "scores centred on their frames: each depends on as many frames before it as after it, on average",
            f"scores shifted by about {balance / 2:+.1f} frames (they see {abs(balance):.1f} frames more "
            f"{'ahead' if balance > 0 else 'back'})",
            "crop the transposed convolution's output at f/2 on each side (f = the total pooling stride), and "
            "use odd windows w with padding w // 2 on both sides",
        )


def check_fcn_attention(make_module, feature_dim: int = 16, seed: int = 0) -> bool:
    """Check a fully convolutional attention module: ``make_module(feature_dim)`` -> nn.Module.

    Its ``forward(features (B, N, D), mask (B, N) bool or None)`` must return scores
    (B, N) in [0, 1] for any N >= 1, exactly 0 on padded frames, the same scores for a
    sequence whether or not it is padded in a batch, be a sigmoid per frame (Eq. 1b: no
    softmax over the frames, no clipping, nothing from far-away frames), shift with the
    input (it is convolutional along time), depend on frames two away (temporal context),
    come from a downsampled (pooled) encoder and an interpolating upsampling centred on
    each frame, and pass gradients to every parameter.
    """
    title = "FCN attention"
    torch.manual_seed(seed)
    module = call(title, make_module, feature_dim)
    if not isinstance(module, torch.nn.Module):
        raise CheckFailed(
            f"{title}: make_module({feature_dim}) returned {type(module).__name__}; expected a torch.nn.Module."
        )
    module.eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n in (1, 2, 3, 7, 16, 33):  # any length, odd ones included
            s = _scores(title, module, torch.randn(2, n, feature_dim, generator=g))
            if tuple(s.shape) != (2, n):
                fail(
                    title,
                    f"scores of shape (2, {n}) for features (2, {n}, {feature_dim})",
                    f"shape {tuple(s.shape)}",
                    "upsample back to the input length and crop the extra frames; drop the channel axis",
                )
            if not torch.isfinite(s).all() or s.min() < 0 or s.max() > 1:
                fail(
                    title,
                    "scores in [0, 1]",
                    f"values from {s.min().item():.3g} to {s.max().item():.3g}",
                    "end with a sigmoid (Eq. 1b)",
                )
        # Masks: a short sequence padded with garbage must score as it does alone.
        lengths = (20, 9)
        z = torch.randn(2, lengths[0], feature_dim, generator=g)
        z[1, lengths[1] :] = 50.0
        mask = torch.arange(lengths[0])[None] < torch.tensor(lengths)[:, None]
        s = _scores(title, module, z, mask)
        if tuple(s.shape) != (2, lengths[0]):
            fail(title, f"scores of shape (2, {lengths[0]}) with a mask", f"shape {tuple(s.shape)}")
        if s[1, lengths[1] :].abs().max() != 0:
            fail(
                title,
                "score 0 on every padded frame",
                f"up to {s[1, lengths[1] :].abs().max().item():.3g}",
                "multiply the scores by the mask at the end",
            )
        for b, n in enumerate(lengths):
            alone = _scores(title, module, z[b : b + 1, :n])
            close(
                title,
                alone[0],
                s[b, :n],
                atol=1e-5,
                hint="padded frames leak into the real ones: zero the padded positions after every layer "
                "(features, pooled maps and coarse scores), so the network sees what it sees without padding",
            )
        _check_sigmoid(title, module, feature_dim, g)
        # Convolutional along time: shifting the input by 64 frames shifts the scores.
        base = torch.randn(1, 384, feature_dim, generator=g)
        a, b = _scores(title, module, base[:, :320]), _scores(title, module, base[:, 64:])
        close(
            title,
            a[0, 192:256],
            b[0, 128:192],
            atol=1e-5,
            hint="a fully convolutional network treats every frame alike: use only convolutions, pooling and "
            "transposed convolutions along time; no Linear layer over time and no statistics of the whole "
            "sequence (a softmax over frames is one: use a sigmoid)",
        )
        _check_temporal_structure(title, module, feature_dim, g)
    module.train()
    for p in module.parameters():
        p.grad = None
    s = _scores(title, module, torch.randn(2, 16, feature_dim, generator=g))
    s.sum().backward()
    dead = [name for name, p in module.named_parameters() if p.requires_grad and p.grad is None]
    if dead:
        fail(
            title,
            "a gradient for every parameter",
            f"no gradient for {dead}",
            "every layer you create must be used in forward",
        )
    return passed(title, "Scores for any length, masks respected, and the same network at every frame.")
