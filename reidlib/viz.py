"""Figures for the attention chapters: frames framed by their attention scores, scores vs visibility.

* :func:`attention_strip`: the frames of a sequence, each with a border coloured by its
  score (as the paper's Figure 4), optionally captioned with the true visibility.
* :func:`attention_timeline`: scores over time, with the visibility curve and marked frames.
* :func:`attention_vs_visibility`: a scatter of scores against visibility with the correlations
  of :func:`reidlib.evaluation.attention_visibility`.
* :func:`paste_occluder`: a copy of a sequence with a grey box pasted on chosen frames,
  for "what if this frame were hidden?" experiments.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from .evaluation import attention_visibility

CMAP = "RdYlGn"  # red = low score (distrusted), green = high score (trusted)


def _as_1d(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be one value per frame, shape (T,); found shape {x.shape}. "
            "Pass the scores of a single sequence (e.g. scores[0] of a batch)."
        )
    return x


def _check_frames(frames, name: str = "frames") -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"{name} must be uint8 RGB frames of shape (T, H, W, 3); found {frames.dtype} {frames.shape}. "
            "Read them with reidlib.data.load_frames(tracklet)."
        )
    return frames


def score_colours(scores, cmap: str = CMAP, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """Scores (T,) -> RGB colours (T, 3) in [0, 1] of ``cmap``, scores clipped to [vmin, vmax]."""
    s = _as_1d(scores, "scores")
    if not vmax > vmin:
        raise ValueError(f"the colour range needs vmin < vmax; found vmin={vmin}, vmax={vmax}.")
    return colormaps[cmap](Normalize(vmin, vmax, clip=True)(s))[:, :3]


def add_border(frame: np.ndarray, colour, width: int = 4) -> np.ndarray:
    """A uint8 frame (H, W, 3) inside a border of ``colour`` (RGB in [0, 1]) -> (H + 2w, W + 2w, 3)."""
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(f"add_border expects one RGB frame (H, W, 3); found shape {frame.shape}.")
    if width < 0:
        raise ValueError(f"the border width must be >= 0 pixels; found {width}.")
    c = np.asarray(colour, dtype=np.float64)
    if c.shape != (3,) or c.min() < 0 or c.max() > 1:
        raise ValueError(f"colour must be RGB values in [0, 1], shape (3,); found {c.tolist()}.")
    out = np.empty((frame.shape[0] + 2 * width, frame.shape[1] + 2 * width, 3), np.uint8)
    out[:] = np.rint(c * 255).astype(np.uint8)
    out[width : width + frame.shape[0], width : width + frame.shape[1]] = frame
    return out


def attention_strip(
    frames,
    scores,
    visibility=None,
    *,
    columns: int | None = None,
    width: int = 4,
    cmap: str = CMAP,
    vmin: float = 0.0,
    vmax: float = 1.0,
    title: str = "",
    frame_ids: Sequence | None = None,
    colorbar: bool = True,
    scale: float = 0.75,
):
    """Frames (T, H, W, 3) uint8 with borders coloured by ``scores`` (T,) -> a matplotlib Figure.

    Each frame is captioned with its index and score (and the true ``visibility`` (T,) when
    given). ``columns`` wraps the strip into rows (default: one row); ``frame_ids`` are the
    captions' frame numbers or labels (default 0..T-1, useful when showing a subset of a
    sequence). Scores get as many decimals as the colour range [vmin, vmax] needs.
    """
    frames = _check_frames(frames)
    s = _as_1d(scores, "scores")
    v = None if visibility is None else _as_1d(visibility, "visibility")
    ids = np.arange(len(frames)) if frame_ids is None else np.asarray(frame_ids)
    if len(s) != len(frames) or (v is not None and len(v) != len(frames)) or len(ids) != len(frames):
        raise ValueError(
            f"attention_strip needs one score (and visibility, frame id) per frame: {len(frames)} frames, "
            f"{len(s)} scores, {None if v is None else len(v)} visibilities, {len(ids)} frame ids."
        )
    cols = len(frames) if columns is None else max(1, min(int(columns), len(frames)))
    rows = -(-len(frames) // cols)
    h, w = frames.shape[1:3]
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(scale * cols * 2.9 * w / h + (0.8 if colorbar else 0), scale * rows * 2.9),
        squeeze=False,
        layout="constrained",
    )
    colours = score_colours(s, cmap, vmin, vmax)
    digits = max(2, int(np.ceil(-np.log10(vmax - vmin) - 1e-9)) + 1)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= len(frames):
            continue
        ax.imshow(add_border(frames[k], colours[k], width))
        name = f"#{ids[k]}" if np.issubdtype(ids.dtype, np.integer) else str(ids[k])
        caption = f"{name}\nλ={s[k]:.{digits}f}" + ("" if v is None else f"\nv={v[k]:.2f}")
        ax.set_title(caption, fontsize=8)
    if colorbar:
        fig.colorbar(
            plt.cm.ScalarMappable(Normalize(vmin, vmax), cmap),
            ax=axes,
            fraction=0.02,
            pad=0.01,
            aspect=30,
            label="attention score λ",
        )
    if title:
        fig.suptitle(title)
    return fig


def attention_timeline(
    scores, visibility=None, *, marked: Sequence[int] = (), ax=None, label: str = "attention λ", title: str = ""
):
    """Scores (T,) over time as a line, the true ``visibility`` (T,) dashed, ``marked`` frames shaded -> Figure."""
    s = _as_1d(scores, "scores")
    fig, ax = plt.subplots(figsize=(7, 2.6)) if ax is None else (ax.figure, ax)
    t = np.arange(len(s))
    for i in marked:
        if not 0 <= i < len(s):
            raise IndexError(f"marked frame {i} is outside the sequence of {len(s)} frames.")
        ax.axvspan(i - 0.5, i + 0.5, color="0.85", lw=0)
    ax.plot(t, s, "o-", ms=3, label=label)
    if visibility is not None:
        v = _as_1d(visibility, "visibility")
        if len(v) != len(s):
            raise ValueError(f"visibility has {len(v)} values but scores have {len(s)}; expected one per frame.")
        ax.plot(t, v, "k--", lw=1, label="true visibility v")
    ax.set(xlabel="frame", ylim=(-0.05, 1.05), xlim=(-0.5, len(s) - 0.5))
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def attention_vs_visibility(scores: Sequence, visibility: Sequence, *, ax=None, title: str = ""):
    """Scatter of every frame's score against its true visibility, with the correlations -> Figure.

    ``scores`` and ``visibility`` are as in :func:`reidlib.evaluation.attention_visibility`.
    """
    corr = attention_visibility(scores, visibility)
    if not np.isfinite(corr["pearson"]):
        raise ValueError(
            f"a correlation needs values that vary; found {corr['frames']} frames with constant scores or "
            "visibility. Include occluded videos (visibility < 1)."
        )
    single = len(scores) and np.ndim(scores[0]) == 0
    s = np.concatenate([_as_1d(x, "scores") for x in ([scores] if single else scores)])
    v = np.concatenate(
        [_as_1d(getattr(x, "visibility", x), "visibility") for x in ([visibility] if single else visibility)]
    )
    fig, ax = plt.subplots(figsize=(4.5, 3.6)) if ax is None else (ax.figure, ax)
    ax.scatter(v, s, s=8, alpha=0.4, edgecolors="none")
    ax.set(xlabel="true visibility v (share of the person in view)", ylabel="attention score λ", xlim=(-0.05, 1.05))
    ax.set_title(
        title or f"{corr['frames']} frames: Pearson r = {corr['pearson']:.2f}, Spearman ρ = {corr['spearman']:.2f}",
        fontsize=9,
    )
    return fig


def paste_occluder(
    frames,
    indices: Sequence[int],
    box: tuple[float, float, float, float] = (0.25, 0.0, 0.5, 1.0),
    colour: Sequence[int] = (90, 90, 90),
) -> np.ndarray:
    """A copy of ``frames`` (T, H, W, 3) uint8 with a solid box pasted on the frames ``indices``.

    ``box`` = (top, left, height, width) as fractions of the frame (default: the middle half of
    the rows, full width: it hides the torso, where most of a person's colour is). The input
    is not changed.
    """
    frames = _check_frames(frames)
    idx = np.asarray(list(indices), dtype=int)
    if idx.size and (idx.min() < 0 or idx.max() >= len(frames)):
        raise IndexError(f"occluded frame indices must lie in [0, {len(frames)}); found {idx.min()}..{idx.max()}.")
    top, left, height, width = (float(b) for b in box)
    if not (0 <= top < 1 and 0 <= left < 1 and 0 < height <= 1 - top + 1e-9 and 0 < width <= 1 - left + 1e-9):
        raise ValueError(
            f"box = (top, left, height, width) must be fractions with the box inside the frame; found {box}."
        )
    c = np.asarray(colour)
    if c.shape != (3,) or c.min() < 0 or c.max() > 255:
        raise ValueError(f"colour must be RGB in 0..255, shape (3,); found {list(colour)}.")
    H, W = frames.shape[1:3]
    r0, c0 = int(round(top * H)), int(round(left * W))
    r1, c1 = min(H, r0 + max(1, int(round(height * H)))), min(W, c0 + max(1, int(round(width * W))))
    out = frames.copy()
    out[idx, r0:r1, c0:c1] = c.astype(np.uint8)
    return out
