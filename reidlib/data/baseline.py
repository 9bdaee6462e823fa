"""A yardstick for how hard a dataset is: nearest-colour-histogram matching (chapter 2).

Each tracklet becomes the mean of its per-frame colour histograms (``levels**3`` cells,
square-rooted so that the Euclidean distance is the Hellinger distance); each query is
matched to the gallery tracklet with the nearest histogram. No learning: if this ranks
the true match first most of the time the benchmark is too easy, and if it is at chance
the identities carry no colour information at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .sampling import load_frames
from .tracklet import Tracklet

Weight = str | Callable[[Tracklet], np.ndarray]


def colour_histogram(frames: np.ndarray, weight: np.ndarray | None = None, levels: int = 4) -> np.ndarray:
    """Square root of the mean per-frame colour histogram, (levels**3,).

    Args:
        frames: uint8 (T, H, W, 3) RGB.
        weight: how much each pixel counts, (T, H, W) or (H, W); None counts all pixels equally.
            Each frame's histogram is normalised to sum 1 before averaging.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"colour_histogram expects uint8 frames (T, H, W, 3); found {frames.dtype} {frames.shape}.")
    if not 1 <= levels <= 256 or 256 % levels:
        raise ValueError(f"levels must divide 256 (e.g. 4 or 8); found {levels}.")
    T, H, W, _ = frames.shape
    cells = frames.astype(np.int64) // (256 // levels)  # (T, H, W, 3)
    index = (cells[..., 0] * levels + cells[..., 1]) * levels + cells[..., 2]  # (T, H, W)
    index += np.arange(T)[:, None, None] * levels**3  # one block of bins per frame
    w = np.ones((T, H, W)) if weight is None else np.broadcast_to(np.asarray(weight, np.float64), (T, H, W))
    hist = np.bincount(index.ravel(), weights=w.ravel(), minlength=T * levels**3).reshape(T, levels**3)
    hist /= np.maximum(hist.sum(1, keepdims=True), 1e-12)
    return np.sqrt(hist.mean(0))


def centre_weight(height: int = 128, width: int = 64) -> np.ndarray:
    """(H, W) weight 1 on the middle half of the columns, 0 elsewhere: where a tracker keeps the person."""
    w = np.zeros((height, width))
    w[:, width // 4 : width - width // 4] = 1.0
    return w


def histogram_ranks(
    query: Sequence[Tracklet], gallery: Sequence[Tracklet], weight: Weight = "centre", levels: int = 4
) -> np.ndarray:
    """(Q,) rank of each query's true match among the gallery by histogram distance (1 = nearest).

    ``weight``: ``"frame"`` (every pixel), ``"centre"`` (:func:`centre_weight`), or a function
    ``tracklet -> (T, H, W)`` weights (e.g. the synthetic generator's person alpha). Each
    query's person must appear exactly once in the gallery. Ties count against the match.
    """
    gallery_pids = [t.pid for t in gallery]
    for q in query:
        if gallery_pids.count(q.pid) != 1:
            raise ValueError(
                f"Each query person must appear once in the gallery; person {q.pid} appears "
                f"{gallery_pids.count(q.pid)} times. Pass one tracklet per person on each side."
            )

    def feature(t: Tracklet) -> np.ndarray:
        frames = load_frames(t)
        if callable(weight):
            w = weight(t)
        elif weight == "centre":
            w = centre_weight(*frames.shape[1:3])
        elif weight == "frame":
            w = None
        else:
            raise ValueError(f"weight must be 'frame', 'centre' or a function of the tracklet; found {weight!r}.")
        return colour_histogram(frames, w, levels)

    fq = np.stack([feature(t) for t in query])  # (Q, levels**3)
    fg = np.stack([feature(t) for t in gallery])  # (G, levels**3)
    d = ((fq[:, None] - fg[None]) ** 2).sum(-1)  # (Q, G)
    true = d[np.arange(len(query)), [gallery_pids.index(q.pid) for q in query]]  # (Q,)
    return (d <= true[:, None]).sum(1)  # the match itself counts once


def histogram_baseline(
    query: Sequence[Tracklet], gallery: Sequence[Tracklet], weight: Weight = "centre", levels: int = 4
) -> dict:
    """Rank-1 (share of queries whose nearest gallery histogram is the same person), mean rank, chance level."""
    ranks = histogram_ranks(query, gallery, weight, levels)
    return dict(
        rank1=float(np.mean(ranks == 1)), mean_rank=float(ranks.mean()), chance=1.0 / len(gallery), queries=len(query)
    )
