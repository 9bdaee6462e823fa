"""What every degradation is: a rate, maybe a run length, its own random stream, and a drawing (chapter 2)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..camera import Camera

if TYPE_CHECKING:
    from ..generator import SyntheticReID


@dataclass(frozen=True)
class Walk:
    """The target's walk through one tracklet, as a degradation sees it (before any detection failure)."""

    pid: int
    camera: Camera
    frames: int  # T
    size: tuple[int, int]  # (H, W) of the frames
    direction: float  # +1: the person walks right, -1: left
    speed: float  # pixels per frame the scene slides by (the tracker follows the person)
    top: np.ndarray  # (T, 1, 1) the head's top row
    height: float  # the person's height, pixels


@dataclass(frozen=True)
class Front:
    """Something drawn in front of the person during ``frames``: alpha (n, H, W), colour premultiplied
    (3, n, H, W)."""

    frames: slice
    alpha: np.ndarray
    rgb: np.ndarray


class Degradation(ABC):
    """One way a tracklet's frames lose information about its person, drawn per tracklet.

    ``name``: its bit in the flags (``DEGRADATIONS``) and its key in a rendering's meta; ``rate``: the
    :class:`SyntheticReID` argument with the share of tracklets it affects; ``run_length``: the argument
    with the (lo, hi) frames of its run (None: it lasts as long as it is in view); ``stream``: the key of
    its random stream, so that turning it on, or changing its rate, leaves the other pictures as they were.
    ``depth`` orders the things drawn in front of the person (larger: nearer the camera); ``min_persons``
    is the number of persons a generator needs for it.
    """

    name: str
    rate: str
    run_length: str | None = None
    stream: int
    depth: int = 0
    min_persons: int = 1  # the persons a generator needs for it (more than 1: it draws another person)

    def draw(self, rng: np.random.Generator, walk: Walk, gen: SyntheticReID) -> tuple:
        """(what it does to this tracklet, its meta), or (None, None) when it spares the tracklet."""
        if rng.random() >= getattr(gen, self.rate):
            return None, None
        return self.make(rng, walk, gen)

    @abstractmethod
    def make(self, rng: np.random.Generator, walk: Walk, gen: SyntheticReID) -> tuple:
        """(what it does to this tracklet, its meta) for a tracklet it affects."""

    def run(self, rng: np.random.Generator, gen: SyntheticReID, frames: int) -> slice:
        """Its run of consecutive frames among ``frames`` (:func:`run_frames` of its ``run_length``)."""
        return run_frames(rng, getattr(gen, self.run_length), frames)

    def hides(self, effect, person: np.ndarray, outside: np.ndarray) -> np.ndarray:
        """The person's alpha it hides in each frame (T,), summed: by default, that under its :class:`Front`.

        person: the person's alpha in the crop (T, H, W); outside: the person's alpha outside the crop (T,)."""
        hidden = np.zeros(len(person), np.float32)
        if effect is not None:
            sl = effect.frames
            hidden[sl] = (person[sl] * effect.alpha).sum(axis=(1, 2))
        return hidden


def run_frames(rng: np.random.Generator, lengths: tuple[int, int], frames: int) -> slice:
    """Consecutive frames of ``frames``: a length drawn from ``lengths`` (lo, hi), at most 3/4 of them."""
    n = min(int(rng.integers(lengths[0], lengths[1] + 1)), max(1, 3 * frames // 4))
    start = int(rng.integers(0, frames - n + 1))
    return slice(start, start + n)
