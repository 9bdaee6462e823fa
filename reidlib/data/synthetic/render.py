"""One tracklet of the synthetic benchmark (chapter 2): a person walking through a camera's scene, with its truth.

The tracker's crop follows the person, who drifts and bobs a little in it, so the scene slides by
under them. The degradations drawn for the tracklet are painted in front of the person (or move the
tracker's box), and the camera exposes the result (light, blur, sensor noise). The truth comes with
the frames: how much of the person is visible and inside the crop in each frame, which degradation
acts on it, and how the torso moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .camera import expose, slide_scene
from .degradations import ALL, Box, Front, Walk, flags, through_box, truth
from .person import Identity, draw_person

if TYPE_CHECKING:
    from .generator import SyntheticReID


@dataclass
class Rendering:
    """One rendered tracklet with its ground truth (T frames of H x W).

    ``visibility = (person * (1 - occluder)).sum((1, 2)) / area``: the share of the whole person
    that is visible and inside the crop."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    person: np.ndarray  # (T, H, W) float32 alpha of the person inside the crop, before occlusion
    torso: np.ndarray  # (T, H, W) float32 alpha of the torso (a rigid part)
    occluder: np.ndarray  # (T, H, W) float32 alpha of all in front of the person: occluders, distractor
    visibility: np.ndarray  # (T,) float32 share of the person visible and inside the crop
    flow_truth: np.ndarray  # (T, 2) float32 (dx, dy) of the torso centre since frame t-1, row 0 zero
    meta: dict
    area: np.ndarray  # (T,) float32 alpha of the whole person summed, inside the crop or not
    hidden: np.ndarray  # (T, len(DEGRADATIONS)) float32 share of the person each degradation hides
    degradation: np.ndarray  # (T,) uint8 bit i set where DEGRADATIONS[i] acts


def render(gen: SyntheticReID, pid: int, camid: int) -> Rendering:
    """Person ``pid`` of ``gen`` in camera ``camid``: frames plus ground truth."""
    ident, cam, rng = gen.identity(pid), gen.camera(camid), gen.rng(2, pid, camid)
    frames = int(rng.integers(gen.seq_len[0], gen.seq_len[1] + 1))
    walk, cx, swing = _walk(rng, ident, gen, pid, camid, frames)

    # Each degradation has a generator of its own: raising its rate adds it to more tracklets
    # and changes nothing else in the pictures.
    drawn = {d.name: d.draw(gen.rng(d.stream, pid, camid), walk, gen) for d in ALL}
    effects = {name: effect for name, (effect, _) in drawn.items()}
    box = next((e for e in effects.values() if isinstance(e, Box)), None)
    cx, top, height = through_box(box, cx, walk.top, walk.height)  # where the frames show the person
    person_rgb, person, torso, area = _draw_target(gen, ident, cx, top, walk.height, swing, walk.direction, box)

    # The scene slides under the crop; sub-pixel shifts by linear interpolation. Colour planes come
    # first, (3, T, H, W), so every blend below runs over whole rows.
    offsets = rng.uniform(0, cam.background.shape[1]) + walk.direction * walk.speed * np.arange(frames)
    img = slide_scene(gen.scene(camid), offsets, gen.size, box)
    img *= 1 - person
    img += person_rgb
    for degradation in sorted(ALL, key=lambda d: d.depth):  # far to near
        front = effects[degradation.name]
        if isinstance(front, Front):
            band = img[:, front.frames]
            band *= 1 - front.alpha
            band += front.rgb

    pixels = expose(img, cam, rng)
    in_front, visibility, shares = truth(person, area, effects)
    centre = np.stack([cx[:, 0, 0], (top + 0.32 * height)[:, 0, 0]], axis=1)  # (T, 2) torso centre
    flow = np.zeros((frames, 2), np.float32)
    flow[1:] = np.diff(centre, axis=0)
    meta = dict(
        dataset="synthetic",
        seed=gen.seed,
        direction=int(walk.direction),
        speed=walk.speed,
        **{name: meta for name, (_, meta) in drawn.items()},
        background_flow=[-walk.direction * walk.speed, 0.0],  # outside a detection failure's run
    )
    return Rendering(pixels, person, torso, in_front, visibility, flow, meta, area, shares, flags(shares, effects))


def _walk(rng: np.random.Generator, ident: Identity, gen: SyntheticReID, pid: int, camid: int, frames: int):
    """The person's walk through the crop: a :class:`Walk` and the centre x and leg angle (T, 1, 1)."""
    H, W = gen.size
    cam = gen.camera(camid)
    t = np.arange(frames, dtype=np.float32)[:, None, None]  # (T, 1, 1)
    direction = float(rng.choice([-1.0, 1.0]))
    speed = float(rng.uniform(0.8, 2.5))  # px/frame, the scene slides by -direction * speed
    height = min(ident.height * cam.scale * H * rng.uniform(0.97, 1.03), H - 6.0)
    stride_phase = rng.uniform(0, 2 * np.pi)
    drift_period, sway_period = rng.uniform(20, 50), rng.uniform(8, 16)
    drift_phase, sway_phase = rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
    drift = 2.5 * np.sin(2 * np.pi * t / drift_period + drift_phase)  # slow, 2.5 px
    sway = 1.0 * np.sin(2 * np.pi * t / sway_period + sway_phase)  # faster, 1 px
    cx = W / 2 + rng.uniform(-2, 2) + drift + sway
    swing = ident.gait_swing * np.sin(2 * np.pi * ident.gait_freq * t + stride_phase)  # (T, 1, 1) leg angle
    bob = 0.012 * height * (swing / ident.gait_swing) ** 2  # lowest at the widest stride
    top = H - 3.0 - height + bob + rng.uniform(-1, 1)  # (T, 1, 1) head top
    return Walk(pid, cam, frames, gen.size, direction, speed, top, height), cx, swing


def _draw_target(gen: SyntheticReID, ident: Identity, cx, top, height: float, swing, facing: float, box: Box | None):
    """The target as the frames show it: colour premultiplied (3, T, H, W), alpha (T, H, W) and torso alpha
    (T, H, W) inside the crop, and the whole person's alpha summed (T,), inside the crop or not.

    cx, top, swing: (T, 1, 1), where the frames show the person; in a detection failure's run the
    person is drawn at the scale of its box."""
    if box is None:
        return draw_person(ident, gen.size, cx, top, height, swing, facing)
    T, (H, W) = len(cx), gen.size
    rgb, alpha, torso, area = (np.zeros(s, np.float32) for s in ((3, T, H, W), (T, H, W), (T, H, W), (T,)))
    run = np.arange(T)[box.frames]
    for idx, shown in ((np.setdiff1d(np.arange(T), run), height), (run, height / box.scale[:, None, None])):
        if idx.size:
            rgb[:, idx], alpha[idx], torso[idx], area[idx] = draw_person(
                ident, gen.size, cx[idx], top[idx], shown, swing[idx], facing
            )
    return rgb, alpha, torso, area
