"""A large foreground object (a wall, a vehicle, a group of people) hides most of the person for a run of
frames (chapter 2)."""

from __future__ import annotations

import numpy as np

from ..colours import PALETTE, colour
from ..shapes import composite, pixel_span, soft_box, soft_capsule, soft_ellipse
from .base import Degradation, Front, Walk

HEAVY_OCCLUDERS = ("wall", "vehicle", "group")


class HeavyOccluder(Degradation):
    """In front of the person's centre for a run of ``heavy_len`` frames, nearest the camera of all."""

    name, rate, run_length, stream, depth = "heavy_occluder", "heavy_occlusion", "heavy_len", 4, 2

    def make(self, rng: np.random.Generator, walk: Walk, gen) -> tuple[Front, dict]:
        (H, W), T = walk.size, walk.frames
        run = self.run(rng, gen, T)
        kind = HEAVY_OCCLUDERS[rng.integers(len(HEAVY_OCCLUDERS))]
        n = run.stop - run.start
        if kind == "group":  # 3 or 4 people walking by, in front of the person's centre for the whole run
            count, spacing, radius = int(rng.integers(3, 5)), rng.uniform(10, 14), rng.uniform(8, 11)
            half = (count - 1) / 2 * spacing + radius
            rel = float(rng.choice([-1.0, 1.0])) * 2 * half / n
        else:  # standing, nearer the camera than the person: it slides faster than the scene
            rel = -walk.direction * walk.speed * rng.uniform(1.1, 1.5)
            half = 0.15 * walk.height + abs(rel) * n / 2  # covers torso and legs for the whole run
        centre = W / 2 + rel * (np.arange(T) - (run.start + run.stop - 1) / 2)  # (T,)
        shown = np.flatnonzero(np.abs(centre - W / 2) < half + W / 2 + 2)
        frames = slice(shown[0], shown[-1] + 1)
        centre = centre[frames, None, None].astype(np.float32)
        if kind == "group":
            layers = group(rng, centre, walk.size, count, spacing, radius)
        else:
            layers = (wall if kind == "wall" else vehicle)(rng, centre, walk.size, half)
        rgb, alpha = composite(layers, (len(centre), H, W))
        return Front(frames, alpha, rgb), dict(kind=kind, frames=[run.start, run.stop])


def wall(rng: np.random.Generator, centre, size: tuple[int, int], half: float) -> list:
    """Layers of a wall or pillar from the top of the crop to the bottom, centred at ``centre`` (n, 1, 1)."""
    H, W = size
    x = np.arange(W, dtype=np.float32)[None, None, :]
    alpha = soft_box(x, np.float32(H / 2), centre, H / 2, half, H)  # (n, 1, W): the same in every row
    paint = colour(rng, PALETTE, 20) * 0.6 + 40
    return [(slice(0, H), slice(0, W), np.broadcast_to(alpha, (len(centre), H, W)), paint)]


def vehicle(rng: np.random.Generator, centre, size: tuple[int, int], half: float) -> list:
    """Layers of a parked vehicle, body, windows and wheels, centred at ``centre`` (n, 1, 1)."""
    H, W = size
    x = np.arange(W, dtype=np.float32)[None, None, :]
    y = np.arange(H, dtype=np.float32)[:, None]
    body_h, cabin_h, wheel = rng.uniform(0.4, 0.6) * H, rng.uniform(0.15, 0.25) * H, 0.11 * H
    base = H - body_h  # top of the body
    paint = colour(rng, PALETTE, 20) * 0.85
    glass = np.float32(rng.uniform(0.7, 1.2)) * np.array([45, 55, 65], np.float32)
    body, cabin, wheels = (
        pixel_span(base, H, H),
        pixel_span(base - cabin_h, base + 6, H),
        pixel_span(H - 2 * wheel, H, H),
    )
    mid = base - cabin_h / 2 + 3  # the cabin's centre row
    layers = [
        (body, slice(0, W), soft_box(x, y[body], centre, base + body_h / 2 + 4, half, body_h / 2 + 4, 6), paint),
        (cabin, slice(0, W), soft_box(x, y[cabin], centre, mid, 0.7 * half, cabin_h / 2 + 3, 4), glass),
    ]
    for side in (-1, 1):
        alpha = soft_ellipse(x, y[wheels], centre + side * 0.7 * half, H - 0.6 * wheel, wheel, wheel)
        layers.append((wheels, slice(0, W), alpha, np.full(3, 25, np.float32)))
    return layers


def group(rng: np.random.Generator, centre, size: tuple[int, int], count: int, spacing: float, radius: float) -> list:
    """Layers of ``count`` people side by side (dark silhouettes, ``spacing`` apart) centred at ``centre`` (n, 1, 1)."""
    H, W = size
    x = np.arange(W, dtype=np.float32)[None, None, :]
    y = np.arange(H, dtype=np.float32)[:, None]
    layers = []
    for i in range(count):
        px, tall = centre + (i - (count - 1) / 2) * spacing, rng.uniform(0.8, 1.0) * H
        rows = pixel_span(H - tall - 0.01 * tall - 1, H, H)
        alpha = np.maximum(
            soft_capsule(x, y[rows], px, H - 0.75 * tall, px, H + 10, radius),
            soft_ellipse(x, y[rows], px, H - 0.9 * tall, 0.07 * tall, 0.09 * tall),
        )
        layers.append((rows, slice(0, W), alpha, colour(rng, PALETTE, 20) * 0.6))
    return layers
