"""Chapter 11: the arithmetic cost of FCN and LSTM attention, counted by hand.

The truths below are formulas; the tests check them against ``reidlib.models.count_macs``,
which counts the multiply-accumulates (MACs) of the real modules with forward hooks.
"""

from __future__ import annotations

import numpy as np

from ._core import call, fail, passed


def fcn_encoder_macs(
    n: int,
    d: int = 128,
    hidden: int = 64,
    windows: tuple[int, ...] = (5, 3),
    halve=lambda length: -(-length // 2),
    score: bool = True,
) -> int:
    """MACs of the FCN's encoder convolutions and its 1x1 score conv, for one sequence of n frames.

    Stage k convolves L_k frames of C_k channels into ``hidden`` channels with a window w_k,
    then pooling halves the length (rounded up); the score conv maps the last channels to 1.
    """
    length, channels, total = n, d, 0
    for w in windows:
        total += length * channels * hidden * w
        length, channels = halve(length), hidden
    return total + (length * channels if score else 0)


def lstm_attention_macs(n: int, d: int = 128, hidden: int = 64) -> int:
    """MACs of LSTM attention for n frames: 4 gates x hidden x (d + hidden) per step, plus the score w . h_t."""
    return n * 4 * hidden * (d + hidden) + n * hidden


def _as_int(title: str, got) -> int:
    try:
        return int(round(float(got)))
    except (TypeError, ValueError):
        fail(title, "a whole number of multiply-accumulates", repr(got), "return an int")


def check_fcn_macs(fcn_macs) -> bool:
    """Check ``fcn_macs(n, d=128, hidden=64, windows=(5, 3)) -> int``: MACs of the encoder convs + score conv."""
    title = "fcn_macs"
    for n, d, hidden, windows in [
        (16, 128, 64, (5, 3)),
        (1, 128, 64, (5, 3)),
        (7, 8, 4, (3,)),
        (33, 128, 32, (5, 3, 3)),
        (127, 128, 64, (5, 3)),
    ]:
        want = fcn_encoder_macs(n, d, hidden, windows)
        got = _as_int(title, call(title, fcn_macs, n, d, hidden, tuple(windows)))
        if got != want:
            hint = (
                "each stage costs (frames) x (in channels) x (out channels) x (window); the frames halve after "
                "each stage, rounded up; add the 1x1 score conv at the end"
            )
            if got == fcn_encoder_macs(n, d, hidden, windows, halve=lambda length: length // 2):
                hint = "an odd length keeps its last frame as a cell of its own: halve with ceil, -(-L // 2)"
            elif got == fcn_encoder_macs(n, d, hidden, windows, score=False):
                hint = "add the 1x1 score conv: (last length) x (last channels) x 1"
            fail(title, f"{want:,} for n={n}, d={d}, hidden={hidden}, windows={windows}", f"{got:,}", hint)
    return passed(title, "The FCN's cost grows linearly with the number of frames, and all frames are done at once.")


def check_lstm_macs(lstm_macs) -> bool:
    """Check ``lstm_macs(n, d=128, hidden=64) -> int``: MACs of LSTM attention (the LSTM and its score layer)."""
    title = "lstm_macs"
    for n, d, hidden in [(16, 128, 64), (1, 128, 64), (50, 8, 3), (128, 128, 32)]:
        want = lstm_attention_macs(n, d, hidden)
        got = _as_int(title, call(title, lstm_macs, n, d, hidden))
        if got != want:
            hint = (
                "per frame, each of the 4 gates multiplies [x_t, h_(t-1)] (d + hidden values) by a matrix with "
                "hidden rows; then the score layer w . h_t costs hidden"
            )
            if got == n * 4 * hidden * (d + hidden):
                hint = "add the score layer alpha_t = w . h_t: hidden more per frame"
            elif got == n * hidden * (d + hidden) + n * hidden:
                hint = "an LSTM has 4 gates (input, forget, cell, output), each with its own weights"
            fail(title, f"{want:,} for n={n}, d={d}, hidden={hidden}", f"{got:,}", hint)
    return passed(title, "Similar arithmetic to the FCN, but the LSTM must do its frames one after another.")


def check_paired_interval(paired_interval) -> bool:
    """Check ``paired_interval(a, b) -> (mean, low, high)``: the mean of the paired differences a - b and
    its 95% Student-t confidence interval (n - 1 degrees of freedom)."""
    from ...stats import paired_t

    title = "paired_interval"
    rng = np.random.default_rng(11)
    cases = [([48.3, 52.5, 45.0], [43.3, 45.0, 45.0])]  # three splits, as chapter 11's first ablation had
    cases += [(rng.normal(60, 8, n).round(1).tolist(), rng.normal(57, 8, n).round(1).tolist()) for n in (4, 10, 25)]
    for a, b in cases:
        want = paired_t(a, b)
        got = call(title, paired_interval, np.array(a), np.array(b))
        try:
            mean, low, high = (float(v) for v in got)
        except (TypeError, ValueError):
            fail(title, "three numbers (mean, low, high)", repr(got), "return mean, low, high")
        if abs(mean - want.diff) > 1e-6:
            fail(title, f"mean difference {want.diff:.4f} for n = {len(a)}", f"{mean:.4f}", "the mean of a - b")
        if abs(low - want.low) > 1e-6 or abs(high - want.high) > 1e-6:
            half, se = (want.high - want.low) / 2, want.se
            hint = "mean ± t(0.975, n - 1) x std(a - b, ddof=1) / sqrt(n)"
            if abs((high - low) / 2 - 2 * se) < 1e-6:
                hint = f"two standard errors is a 95% interval only for many pairs; with n = {len(a)} use Student's t"
            elif abs((high - low) / 2 - 1.959964 * se) < 1e-4:
                hint = "that is the normal distribution's 1.96; with few pairs use Student's t with n - 1 dof"
            elif abs(high - low) / 2 > half * 1.5 or abs(high - low) / 2 < half / 1.5:
                hint = "pair the values: the interval is about the differences a - b, not about a and b apart"
            fail(title, f"[{want.low:.4f}, {want.high:.4f}] for n = {len(a)}", f"[{low:.4f}, {high:.4f}]", hint)
    return passed(title, "With 3 splits the 95% interval is mean ± 4.30 standard errors, not 2.")
