"""Which frames a model sees: random training windows, and reading frames from disk (chapter 2).

Training uses windows of ``length`` (16) consecutive frames from a random start, so
every epoch shows a different part of each video; testing uses all the frames.

A sequence shorter than the window is handled by the ``short`` policy:

* ``"repeat"`` (the default) pads it by repetition: it is looped (0, 1, .., T-1, 0, 1, ..)
  to fill the window, so every window has ``length`` frames;
* ``"skip"`` leaves such sequences out of training. Skipping happens where tracklets are
  chosen, with :func:`drop_short`, which warns with the count of tracklets it dropped.
  A short sequence that reaches :func:`sample_window` under ``"skip"`` anyway is not
  padded: its ``T`` frames are returned as a shorter window (a batch then pads it with a mask).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .tracklet import SkippedDataWarning, Tracklet

SHORT_POLICIES = ("repeat", "skip")


def sample_window(
    num_frames: int, length: int = 16, rng: np.random.Generator | int | None = None, short: str = "repeat"
) -> np.ndarray:
    """Indices (length,) of ``length`` consecutive frames from a uniformly random start.

    Every start in ``0 .. num_frames - length`` is equally likely. A sequence shorter than
    ``length`` follows ``short`` (see the module docstring): ``"repeat"`` loops it to fill
    the window; ``"skip"`` returns its ``num_frames`` indices unpadded (drop such sequences
    beforehand with :func:`drop_short`).

    Args:
        rng: a ``np.random.Generator`` (or an int seed for one).
    """
    if rng is None:
        raise ValueError("sample_window needs a random generator: pass rng=np.random.default_rng(seed).")
    rng = np.random.default_rng(rng) if isinstance(rng, (int, np.integer)) else rng
    num_frames, length = int(num_frames), int(length)
    if num_frames < 1 or length < 1:
        raise ValueError(f"sample_window needs num_frames >= 1 and length >= 1; found {num_frames} and {length}.")
    if short not in SHORT_POLICIES:
        raise ValueError(f"short must be 'repeat' or 'skip'; found {short!r}.")
    if num_frames >= length:
        start = int(rng.integers(0, num_frames - length + 1))
        return np.arange(start, start + length)
    if short == "repeat":
        return np.arange(length) % num_frames
    return np.arange(num_frames)


def drop_short(tracklets: Sequence[Tracklet], length: int = 16, short: str = "skip") -> list[Tracklet]:
    """The tracklets a ``short`` policy trains on: with ``"skip"``, those with at least ``length`` frames
    (a :class:`SkippedDataWarning` counts the others); with ``"repeat"``, all of them."""
    if short not in SHORT_POLICIES:
        raise ValueError(f"short must be 'repeat' or 'skip'; found {short!r}.")
    tracklets = list(tracklets)
    if short == "repeat":
        return tracklets
    kept = [t for t in tracklets if len(t) >= length]
    dropped = len(tracklets) - len(kept)
    if dropped:
        lengths = sorted(len(t) for t in tracklets if len(t) < length)
        warnings.warn(
            f"Skipped {dropped} of {len(tracklets)} tracklets shorter than the {length}-frame window "
            f"(lengths {lengths[:8]}{' ...' if dropped > 8 else ''}); short='repeat' would loop them "
            "instead.",
            SkippedDataWarning,
            stacklevel=2,
        )
    return kept


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file as uint8 RGB (H, W, 3), resized to ``size`` = (H, W) when given."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        state = "missing" if not Path(path).is_file() else "unreadable (corrupt, or not an image)"
        raise OSError(
            f"Could not read the frame {path}: the file is {state}. Re-extract the dataset archive, "
            "or remove that frame."
        )
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if size is not None and img.shape[:2] != tuple(size):
        img = cv2.resize(img, (int(size[1]), int(size[0])), interpolation=cv2.INTER_AREA)
    return img


def load_frames(
    tracklet: Tracklet, indices: Sequence[int] | np.ndarray | None = None, size: tuple[int, int] | None = None
) -> np.ndarray:
    """The frames of a tracklet as uint8 RGB (len(indices), H, W, 3); all frames when ``indices`` is None.

    Frames stored as paths are read from disk (only the ones asked for). Frames of
    different sizes are an error unless ``size`` = (H, W) asks to resize them all.
    """
    n = len(tracklet)
    idx = np.arange(n) if indices is None else np.asarray(indices, dtype=int).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"Frame indices must be in [0, {n}) for {tracklet!r}; found {idx.min()} .. {idx.max()}.")
    if isinstance(tracklet.frames, np.ndarray):
        frames = np.asarray(tracklet.frames[idx])
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(
                f"{tracklet!r} holds frames of dtype {frames.dtype} and shape {frames.shape[1:]}; "
                "expected uint8 (H, W, 3) RGB."
            )
        if size is not None and frames.shape[1:3] != tuple(size):
            frames = np.stack(
                [cv2.resize(f, (int(size[1]), int(size[0])), interpolation=cv2.INTER_AREA) for f in frames]
            )
        return frames
    images = [read_image(tracklet.frames[i], size) for i in idx]
    if not images:
        return np.zeros((0, *(size or (0, 0)), 3), np.uint8)
    first = {}  # size (H, W) -> the first frame of that size
    for i, im in zip(idx, images, strict=True):
        first.setdefault(im.shape[:2], Path(tracklet.frames[i]))
    if len(first) > 1:
        found = ", ".join(f"{p.name} is {h} x {w}" for (h, w), p in first.items())
        raise ValueError(
            f"The frames of {tracklet!r} in {Path(tracklet.frames[0]).parent} have {len(first)} different "
            f"sizes ({found}); expected one size for every frame of a sequence. Resize them to one size, "
            "or remove the frames that do not belong (a frame of another size is usually a file from "
            "elsewhere). Calling load_frames yourself, size=(H, W) resizes them as they are read."
        )
    return np.stack(images)
