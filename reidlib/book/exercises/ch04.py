"""Chapter 4: output sizes of padded convolution and pooling; parameters and multiply-adds of a conv."""

from __future__ import annotations

import numpy as np

from ._core import call, fail, passed


def _output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def check_output_size(output_size) -> bool:
    """Check ``output_size(size, kernel, stride=1, padding=0) -> int`` for convolution and pooling."""
    title = "output_size"
    # (size, kernel, stride, padding) -> hand-computed answer, the frame CNN's layers first
    hand = [
        ((56, 5, 1, 4), 60),
        ((60, 2, 2, 0), 30),
        ((40, 5, 1, 4), 44),
        ((34, 2, 2, 0), 17),
        ((21, 2, 2, 0), 10),
        ((17, 5, 1, 4), 21),
        ((17, 2, 2, 0), 8),
        ((7, 3, 2, 1), 4),
        ((5, 5, 1, 0), 1),
    ]
    rng = np.random.default_rng(0)
    for _ in range(20):
        k, s, p = int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(0, 5))
        n = int(rng.integers(max(1, k - 2 * p), 80))
        hand.append(((n, k, s, p), _output_size(n, k, s, p)))
    for (n, k, s, p), want in hand:
        got = call(title, output_size, n, k, stride=s, padding=p)
        if isinstance(got, float) and got.is_integer():
            got = int(got)
        if not isinstance(got, (int, np.integer)):
            fail(
                title,
                f"an int for size={n}, kernel={k}, stride={s}, padding={p}",
                repr(got),
                "a size is a whole number: use integer division //",
            )
        if got != want:
            hint = "padding adds p pixels on BOTH sides: size + 2 * padding"
            if got == (n + 2 * p - k) // s:
                hint = "count the first position too: + 1"
            elif got == -(-(n + 2 * p - k) // s) + 1:
                hint = "a window that would run past the edge is dropped: round down (//), not up"
            fail(title, f"{want} for size={n}, kernel={k}, stride={s}, padding={p}", got, hint)
    return passed(title, "56x40 -> 60x44 -> 30x22 -> ... -> 10x8, as PyTorch computes it.")


def check_conv_cost(conv_cost) -> bool:
    """Check ``conv_cost(in_channels, out_channels, kernel, out_h, out_w) -> (params, macs)``.

    The cost of a 2-D convolution with bias."""
    title = "conv_cost"
    cases = [(5, 16, 5, 60, 44), (16, 32, 5, 34, 26), (32, 32, 5, 21, 17), (3, 8, 3, 10, 10), (1, 1, 1, 1, 1)]
    for c_in, c_out, k, h, w in cases:
        want = (c_out * (c_in * k * k + 1), h * w * c_out * c_in * k * k)
        got = call(title, conv_cost, c_in, c_out, k, h, w)
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            fail(title, "a pair (params, macs)", repr(got), "return two numbers: return params, macs")
        if len(got) != 2:
            fail(title, "a pair (params, macs)", repr(got), "return two numbers: return params, macs")
        args = f"in={c_in}, out={c_out}, kernel={k}, output {h}x{w}"
        if got[0] != want[0]:
            hint = (
                "each output channel also has one bias"
                if got[0] == c_out * c_in * k * k
                else "a filter spans all input channels: in_channels * kernel * kernel weights, plus a bias"
            )
            fail(title, f"params = {want[0]} for {args}", got[0], hint)
        if got[1] != want[1]:
            fail(
                title,
                f"macs = {want[1]} for {args}",
                got[1],
                "every output value (out_h * out_w * out_channels of them) needs in_channels * kernel * kernel "
                "multiply-adds; the bias add is not counted",
            )
    return passed(title, "the first conv has 2,016 parameters and does 5,280,000 multiply-adds per frame.")
