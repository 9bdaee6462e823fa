"""The degradations of the synthetic benchmark (chapter 2): what makes some frames less informative.

Each degradation is drawn per tracklet from a random stream of its own (turning one on, or changing
its rate, leaves the other pictures as they were), with a probability (its rate, an argument of
:class:`~reidlib.data.synthetic.SyntheticReID`) and, for some, a run of frames:

* ``occluder`` (:mod:`.occluder`): a thin occluder passes in front (a pole, a pedestrian's silhouette,
  an object);
* ``heavy_occluder`` (:mod:`.heavy_occluder`): a large foreground object (a wall, a vehicle, a group of
  people) hides most of the person for a run of ``heavy_len`` frames;
* ``distractor`` (:mod:`.distractor`): another person of the benchmark walks across the crop in front
  of the target for a run of ``distractor_len`` frames;
* ``detection_failure`` (:mod:`.detection_failure`): for a run of ``failure_len`` frames the tracker's
  box slides sideways or shrinks onto the upper or lower body.

A degradation is one :class:`Degradation` object: its rate, run length and stream, and its drawing,
which is either something in front of the person (a :class:`Front`) or the tracker's box (a
:class:`Box`). :data:`ALL` lists them in the order of their flag bits (:data:`DEGRADATIONS`). To add
one: write its module (a :class:`Degradation` whose drawing returns a :class:`Front`), append it to
:data:`ALL`, and give :class:`~reidlib.data.synthetic.SyntheticReID` its rate (and run length) argument;
the truth (:func:`truth`), the flags (:func:`flags`) and the meta follow.
"""

from __future__ import annotations

import numpy as np

from .base import Degradation, Front, Walk, run_frames
from .detection_failure import FAILURES, Box, DetectionFailure, through_box
from .distractor import Distractor
from .heavy_occluder import HEAVY_OCCLUDERS, HeavyOccluder
from .occluder import OCCLUDERS, Occluder

ALL: tuple[Degradation, ...] = (Occluder(), HeavyOccluder(), Distractor(), DetectionFailure())
# Per-frame flags (Rendering.degradation, Tracklet.degradation): bit i is set where DEGRADATIONS[i] acts,
# i.e. hides at least ACTS of the person's pixels (a detection failure: leaves them outside the crop).
DEGRADATIONS = tuple(d.name for d in ALL)
ACTS = 0.01


def truth(person: np.ndarray, area: np.ndarray, effects: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the degradations ``effects`` (name -> what it does to the tracklet, or None) hide of the person.

    From the person's alpha in the crop (T, H, W) and whole area (T,): the alpha (T, H, W) of all in front
    of the person, the visibility (T,) (the share of the person visible and inside the crop), and the share
    of the person each of DEGRADATIONS hides (T, len(DEGRADATIONS))."""
    inside, whole = person.sum(axis=(1, 2)), np.maximum(area, 1e-6)
    front = np.zeros_like(person)
    hidden = np.zeros((len(person), len(ALL)), np.float32)
    for col, degradation in enumerate(ALL):
        effect = effects[degradation.name]
        hidden[:, col] = degradation.hides(effect, person, area - inside)
        if isinstance(effect, Front):
            band = front[effect.frames]
            band += effect.alpha * (1 - band)
    visibility = np.clip(1.0 - ((person * front).sum(axis=(1, 2)) + (area - inside)) / whole, 0.0, 1.0)
    return front, visibility.astype(np.float32), hidden / whole[:, None]


def flags(shares: np.ndarray, effects: dict) -> np.ndarray:
    """Bit flags (T,) uint8 of the DEGRADATIONS that act on each frame: hide at least ACTS of the person
    (``shares`` (T, len(DEGRADATIONS)), from :func:`truth`) in the frames of their ``effects``."""
    acts = shares >= ACTS
    for col, degradation in enumerate(ALL):
        effect, in_frames = effects[degradation.name], np.zeros(len(shares), bool)
        if effect is not None:
            in_frames[effect.frames] = True
        acts[:, col] &= in_frames
    return (acts.astype(np.uint8) << np.arange(len(ALL), dtype=np.uint8)).sum(axis=1).astype(np.uint8)


def degraded(degradation: np.ndarray, name: str) -> np.ndarray:
    """(T,) bool: the frames where degradation ``name`` (one of DEGRADATIONS) acts, from the flags (T,)."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; expected one of {', '.join(DEGRADATIONS)}.")
    return (np.asarray(degradation) & (1 << DEGRADATIONS.index(name))) != 0


__all__ = [
    "ACTS",
    "ALL",
    "Box",
    "DEGRADATIONS",
    "Degradation",
    "DetectionFailure",
    "Distractor",
    "FAILURES",
    "Front",
    "HEAVY_OCCLUDERS",
    "HeavyOccluder",
    "OCCLUDERS",
    "Occluder",
    "Walk",
    "degraded",
    "flags",
    "run_frames",
    "through_box",
    "truth",
]
