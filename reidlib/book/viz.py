"""The book's figures, so that a chapter's cell shows the idea and not the matplotlib plumbing.

Colours are safe for colour-blind readers: scores use ``cividis`` (dark blue = low, yellow =
high; it reads the same in grey), lines and marks use the Okabe-Ito palette (both in
:mod:`reidlib.book.palette`, the one palette of the book), and no figure tells two things apart
by red against green alone.

* :func:`use_palette`: the palette below for every line and bar of a chapter's figures.
* :func:`image_grid` (chapters 2-4): images in a grid, axes off, with titles and row labels.
* :func:`ranking_figure` (chapter 1): a query and its nearest gallery videos, true matches marked.
* :func:`flow_regions` (chapter 3): where a synthetic frame pair's true flow is known.
* :func:`filter_grid` (chapter 4): the first-layer filters of a CNN, one row per input channel.
* :func:`attention_strip` (chapter 10): the frames of a sequence, each with a border coloured
  by its score (as the paper's Figure 4), optionally captioned with the true visibility.
* :func:`attention_timeline`: scores over time, with the visibility curve and marked frames.
* :func:`attention_vs_visibility`: a scatter of scores against visibility with the correlations
  of :func:`reidlib.evaluation.attention_visibility`.
* :func:`paste_occluder`: a copy of a sequence with a grey box pasted on chosen frames,
  for "what if this frame were hidden?" experiments.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize

from ..evaluation import attention_visibility
from .palette import CMAP, MATCH, OKABE_ITO, SERIES

LINE_COLOURS = SERIES[:5]  # the colour cycle of use_palette
MATCH_COLOUR = MATCH  # the true match in a ranking


def use_palette() -> None:
    """Draw the lines and bars of later figures in :data:`LINE_COLOURS` (matplotlib's default
    cycle puts red next to green). A chapter calls it once, after its imports."""
    plt.rcParams["axes.prop_cycle"] = plt.cycler(color=list(LINE_COLOURS))


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
    colour = LINE_COLOURS[sum(line.get_label() != "true visibility v" for line in ax.lines) % len(LINE_COLOURS)]
    ax.plot(t, s, "o-", ms=3, color=colour, label=label)
    if visibility is not None:
        v = _as_1d(visibility, "visibility")
        if len(v) != len(s):
            raise ValueError(f"visibility has {len(v)} values but scores have {len(s)}; expected one per frame.")
        if "true visibility v" not in [line.get_label() for line in ax.lines]:
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
    ax.scatter(v, s, s=8, alpha=0.4, edgecolors="none", color=OKABE_ITO["blue"])
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


def _as_image(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] not in (3, 4)):
        raise ValueError(
            f"an image must be (H, W) or (H, W, 3); found shape {x.shape}. "
            "Pass one frame or one channel at a time (e.g. frames[t] or x[t, 0])."
        )
    return x


def image_grid(
    images: Sequence,
    titles: Sequence[str] | None = None,
    *,
    columns: int | None = None,
    row_labels: Sequence[str] | None = None,
    cmap=None,
    vmin: float | None = None,
    vmax: float | None = None,
    width: float = 7.5,
    title: str = "",
    fontsize: int = 9,
):
    """Images, each (H, W) or (H, W, 3), in a grid of ``columns`` (default: one row) -> a Figure.

    ``cmap``, ``vmin`` and ``vmax`` apply to single-channel images; each may also be a list with
    one entry per image. ``row_labels`` name the rows; the figure is ``width`` inches wide (7.5:
    a page width, so that the text stays readable) and as tall as the images need.
    """
    imgs = [_as_image(x) for x in images]
    if not imgs:
        raise ValueError("image_grid got no images; pass at least one (H, W) or (H, W, 3) array.")
    n = len(imgs)
    cols = n if columns is None else max(1, min(int(columns), n))
    rows = -(-n // cols)
    per = lambda x: list(x) if isinstance(x, (list, tuple)) else [x] * n  # noqa: E731
    cmaps, lows, highs = per(cmap), per(vmin), per(vmax)
    if titles is not None and len(titles) != n or any(len(v) != n for v in (cmaps, lows, highs)):
        raise ValueError(f"image_grid needs one title (and cmap, vmin, vmax when lists) per image: {n} images.")
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"row_labels must name each of the {rows} rows; found {len(row_labels)} labels.")
    aspect = max(x.shape[0] / x.shape[1] for x in imgs)
    cell = width / cols
    extra = 0.35 if titles is not None else 0.1
    fig, axes = plt.subplots(
        rows, cols, figsize=(width, rows * (0.82 * cell * aspect + extra) + (0.4 if title else 0)), squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        if k >= n:
            continue
        x = imgs[k]
        ax.imshow(x, **(dict(cmap=cmaps[k], vmin=lows[k], vmax=highs[k]) if x.ndim == 2 else {}))
        if titles is not None:
            ax.set_title(titles[k], fontsize=fontsize)
    for r, label in enumerate(row_labels or []):
        axes[r, 0].set_ylabel(label, fontsize=fontsize)
    if title:
        fig.suptitle(title, fontsize=fontsize + 1)
    fig.tight_layout()
    return fig


def ranking_figure(query, ranked, distances, matches, *, title: str = "", labels: Sequence[str] | None = None):
    """A query image (H, W, 3) and the gallery images ``ranked`` (K, H, W, 3), nearest first -> a Figure.

    ``distances`` (K,) caption each gallery image; ``matches`` (K,) bool marks the true matches
    with a thick border and the words "same person" (not colour alone). ``labels`` (K,) replace
    the default captions' first line ("rank k").
    """
    ranked = _check_frames(ranked, "ranked")
    query = _check_frames(np.asarray(query)[None], "query")[0]
    d, m = _as_1d(distances, "distances"), np.asarray(matches, dtype=bool).reshape(-1)
    if not len(d) == len(m) == len(ranked):
        raise ValueError(
            f"ranking_figure needs one distance and one match flag per gallery image: {len(ranked)} images, "
            f"{len(d)} distances, {len(m)} flags."
        )
    names = [f"rank {k + 1}" for k in range(len(ranked))] if labels is None else list(labels)
    pad = 6
    grey = np.array(colormaps["Greys"](0.35)[:3])
    green = np.array(plt.matplotlib.colors.to_rgb(MATCH_COLOUR))
    white = np.ones(3)

    def tile(frame, hit):  # the same size for all: a thick coloured border, or a thin grey one in white
        return add_border(frame, green, pad) if hit else add_border(add_border(frame, grey, 2), white, pad - 2)

    tiles = [add_border(query, white, pad)] + [tile(f, hit) for f, hit in zip(ranked, m, strict=True)]
    captions = ["query\n(camera 1)"] + [
        f"{name}\nd = {dist:.2f}" + ("\nsame person" if hit else "")
        for name, dist, hit in zip(names, d, m, strict=True)
    ]
    return image_grid(tiles, captions, width=min(7.5, 1.1 * len(tiles)), title=title)


def flow_regions(render, t: int, margin: int = 5, erode: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Where the true flow from frame t-1 to t of a synthetic rendering is known -> (torso, background).

    ``render`` is :meth:`reidlib.data.SyntheticReID.render`'s result. ``torso`` (H, W) bool: the
    torso (a rigid part, moving by ``render.flow_truth[t]``) fully covers the pixel in both frames.
    ``background`` (H, W) bool: the person is absent from both frames within ``erode`` // 2 pixels
    and the pixel is at least ``margin`` pixels from the border (the scene moves by
    ``render.meta["background_flow"]``). Chapter 3 measures flow errors on them.
    """
    if not 1 <= t < len(render.frames):
        raise IndexError(f"t must be in [1, {len(render.frames)}) to have a previous frame; found {t}.")
    torso = (render.torso[t - 1] > 0.99) & (render.torso[t] > 0.99)
    empty = ((render.person[t - 1] == 0) & (render.person[t] == 0)).astype(np.uint8)
    background = cv2.erode(empty, np.ones((erode, erode), np.uint8)) > 0
    inner = np.zeros_like(background)
    inner[margin:-margin, margin:-margin] = True
    return torso, background & inner


def filter_grid(weights, channel_names: Sequence[str], *, columns: int = 16, title: str = ""):
    """First-layer filters (F, C, k, k) -> a Figure: one column per filter, one row per input channel.

    Filters wrap into blocks of ``columns``; every block repeats the channel names, and each
    filter is titled with its number. Red is positive, blue negative, on one symmetric scale
    for all filters.
    """
    w = weights.detach().cpu().numpy() if hasattr(weights, "detach") else np.asarray(weights)
    if w.ndim != 4 or w.shape[1] != len(channel_names):
        raise ValueError(
            f"filter_grid expects filters (F, C, k, k) with one name per input channel; found shape {w.shape} "
            f"and {len(channel_names)} names."
        )
    f, c = w.shape[:2]
    cols = min(columns, f)
    vmax = float(np.abs(w).max()) or 1.0
    images, titles = [], []
    for first in range(0, f, cols):
        for ch in range(c):
            for k in range(first, first + cols):
                images.append(w[k, ch] if k < f else np.full(w.shape[2:], np.nan))
                titles.append(str(k) if ch == 0 and k < f else "")
    return image_grid(
        images,
        titles,
        columns=cols,
        row_labels=list(channel_names) * (-(-f // cols)),
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        title=title,
        fontsize=8,
    )
