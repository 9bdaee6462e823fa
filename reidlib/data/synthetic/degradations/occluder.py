"""A thin occluder (a pole, a pedestrian's silhouette, an object) passes in front of the person (chapter 2)."""

from __future__ import annotations

import numpy as np

from ..colours import PALETTE, colour
from ..shapes import pixel_axes, pixel_span, soft_box, soft_capsule, soft_ellipse
from .base import Degradation, Front, Walk

OCCLUDERS = ("pole", "pedestrian", "object")


class Occluder(Degradation):
    """In front of the person for the whole tracklet, crossing the crop faster than the scene (parallax) or, a
    pedestrian, at a speed of its own; it covers part of the person in the frames where they meet."""

    name, rate, stream, depth = "occluder", "occlusion", 3, 1

    def make(self, rng: np.random.Generator, walk: Walk, gen) -> tuple[Front, str]:
        (H, W), T = walk.size, walk.frames
        x, y = pixel_axes(H, W)
        t = np.arange(T, dtype=np.float32)[:, None, None]
        kind = OCCLUDERS[rng.integers(len(OCCLUDERS))]
        passes = rng.uniform(0.15, 0.85) * (T - 1)  # the frame in which it passes the centre
        if kind != "pedestrian":  # standing, nearer the camera than the person: it slides faster than the scene
            rel = -walk.direction * walk.speed * rng.uniform(1.5, 3.0)
        else:
            rel = rng.choice([-1, 1]) * rng.uniform(2, 4)
        centre = W / 2 + rng.uniform(-4, 4) + rel * (t - passes)  # (T, 1, 1)
        alpha = np.zeros((T, H, W), np.float32)
        if kind == "pole":  # full height: the same in every row
            alpha[:] = soft_box(x, np.float32(H / 2), centre, H / 2, rng.uniform(3, 7), H)
        elif kind == "object":
            tall, half_width = rng.uniform(0.3, 0.5) * H, rng.uniform(10, 22)
            rows = pixel_span(H - tall, H, H)
            alpha[:, rows] = soft_box(x, y[:, rows], centre, H - tall / 2, half_width, tall / 2, 3.0)
        else:
            tall = rng.uniform(0.6, 1.0) * H
            rows = pixel_span(H - tall - 0.01 * tall - 1, H, H)  # from the top of the head
            ys = y[:, rows]
            alpha[:, rows] = np.maximum(
                soft_capsule(x, ys, centre, H - tall + 0.25 * tall, centre, H + 10, rng.uniform(9, 14)),
                soft_ellipse(x, ys, centre, H - tall + 0.1 * tall, 0.07 * tall, 0.09 * tall),
            )
        paint = colour(rng, PALETTE, 20) * 0.8
        return Front(slice(0, T), alpha, paint[:, None, None, None] * alpha), kind
