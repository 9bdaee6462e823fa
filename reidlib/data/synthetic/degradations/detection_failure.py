"""The tracker's box fails for a run of frames: it slides sideways or shrinks onto the upper or lower body (chapter 2).

The box moves the person and the scene (part of the person falls outside the crop); occluders and
distractors keep their own paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Degradation, Walk

FAILURES = ("shift", "cut")  # the box slid sideways; the box shrank onto the upper or the lower body


@dataclass(frozen=True)
class Box:
    """Where the tracker's box is during its run of frames, in the coordinates of the crop it should have had
    (pixels; scale = box size / crop size)."""

    frames: slice
    left: np.ndarray  # (n,)
    top: np.ndarray  # (n,)
    scale: np.ndarray  # (n,)


class DetectionFailure(Degradation):
    """The box is off the person for a run of ``failure_len`` frames; what it hides is the person's part
    outside the crop, in the frames of its run."""

    name, rate, run_length, stream = "detection_failure", "detection_failures", "failure_len", 6

    def make(self, rng: np.random.Generator, walk: Walk, gen) -> tuple[Box, dict]:
        H, W = walk.size
        run = self.run(rng, gen, walk.frames)
        n = run.stop - run.start
        mode = FAILURES[rng.integers(len(FAILURES))]
        if mode == "shift":  # slid sideways (and a little up or down): one side of the person is cut off
            shift_x = float(rng.choice([-1.0, 1.0])) * rng.uniform(0.3, 0.55) * W
            shift_y, scale = rng.uniform(-0.05, 0.05) * H, rng.uniform(0.9, 1.2)
        else:  # "cut": too small, on the upper or the lower body
            scale = rng.uniform(0.5, 0.7)
            part = rng.uniform(0.2, 0.35) if rng.random() < 0.5 else rng.uniform(0.65, 0.8)
            shift_x, shift_y = rng.uniform(-0.1, 0.1) * W, float(np.mean(walk.top)) + part * walk.height - H / 2
        ramp = np.minimum(1.0, np.arange(1, n + 1) / rng.integers(1, 4))  # the error builds up over 1-3 frames
        jitter = rng.normal(0, 0.7, (2, n))
        s = scale**ramp
        left = W / 2 + ramp * shift_x + jitter[0] - s * W / 2
        box = Box(run, left, H / 2 + ramp * shift_y + jitter[1] - s * H / 2, s)
        shift = [round(shift_x, 2), round(shift_y, 2)]
        return box, dict(mode=mode, frames=[run.start, run.stop], shift=shift, scale=round(scale, 3))

    def hides(self, effect, person: np.ndarray, outside: np.ndarray) -> np.ndarray:
        return outside  # in every frame; its flag is set only in the run (not by a wide stride)


def through_box(box: Box | None, cx, top, height: float):
    """The person's centre x, head top and height, each (T, 1, 1), as the tracker's box shows them."""
    shown_height = np.full_like(cx, height)
    if box is None:
        return cx, top, shown_height
    cx, top, sl, s = cx.copy(), top.copy(), box.frames, box.scale[:, None, None]
    cx[sl] = (cx[sl] - box.left[:, None, None]) / s
    top[sl] = (top[sl] - box.top[:, None, None]) / s
    shown_height[sl] = height / s
    return cx, top, shown_height
