"""Another person of the benchmark walks across the crop, in front of the target, for a run of frames (chapter 2)."""

from __future__ import annotations

import numpy as np

from ..person import person_layers
from ..shapes import composite, pixel_axes
from .base import Degradation, Front, Walk


class Distractor(Degradation):
    """Someone else, drawn with their own clothes and shape, nearer the camera than the target, crossing the
    crop in ``distractor_len`` frames; behind the occluders."""

    name, rate, run_length, stream, depth, min_persons = "distractor", "distractors", "distractor_len", 5, 0, 2

    def make(self, rng: np.random.Generator, walk: Walk, gen) -> tuple[Front, dict]:
        (H, W), T = walk.size, walk.frames
        other = (walk.pid + 1 + int(rng.integers(gen.num_ids - 1))) % gen.num_ids  # anyone but the target
        ident = gen.identity(other)
        run = self.run(rng, gen, T)
        n = run.stop - run.start
        height = min(ident.height * walk.camera.scale * H * rng.uniform(1.0, 1.12), 1.1 * H)  # nearer the camera
        reach = 0.3 * height  # about half the width of a walking person
        side = float(rng.choice([-1.0, 1.0]))  # +1: in on the left, out on the right
        rel = side * (W + 2 * reach) / n  # px/frame across the crop
        k = np.arange(n, dtype=np.float32)[:, None, None]
        cx = W / 2 - side * (W / 2 + reach) + rel * (k + 0.5)
        facing = float(np.sign(rel + walk.direction * walk.speed)) or side  # in the scene (the crop moves too)
        swing = ident.gait_swing * np.sin(2 * np.pi * ident.gait_freq * k + rng.uniform(0, 2 * np.pi))
        top = H - 3.0 + rng.uniform(0, 0.06 * H) - height + 0.012 * height * (swing / ident.gait_swing) ** 2
        x, y = pixel_axes(H, W)
        layers, _ = person_layers(ident, x, y, cx, top, height, swing, facing)
        rgb, alpha = composite(layers, (n, H, W))
        return Front(run, alpha, rgb), dict(pid=other, frames=[run.start, run.stop])
