"""A synthetic video re-ID benchmark: procedural pedestrians seen by several cameras.

A person is a handful of soft-edged shapes (head, hair, torso, arms, legs, shoes,
maybe a bag) with colours, a shirt pattern, a height, a build and a gait of their own.
A camera is a scene (a wide background), a lighting colour cast, a brightness, a
sensor noise and a blur of its own. A tracklet is the person walking through the scene
in the crop of a tracker that follows them (so the background slides by).

Four degradations make some frames less informative than others, each drawn per tracklet
from a random stream of its own (turning one on, or changing its rate, leaves the other
pictures as they were):

* ``occlusion``: a thin occluder passes in front (a pole, a pedestrian's silhouette, an object);
* ``heavy_occlusion``: a large foreground object (a wall, a vehicle, a group of people)
  hides most of the person for a run of ``heavy_len`` frames;
* ``distractors``: another person of the benchmark, drawn with their own clothes and shape,
  walks across the crop in front of the target for a run of ``distractor_len`` frames;
* ``detection_failures``: for a run of ``failure_len`` frames the tracker's box slides
  sideways or shrinks onto the upper or lower body, so part of the person is outside the crop.
  The box moves the person and the scene; occluders and distractors keep their own paths.

The generator knows the truth: who it is, how much of the person is visible and inside
the crop in each frame (``visibility``), which degradation acts on each frame
(``degradation``, bit flags in the order of :data:`DEGRADATIONS`), and how the person
moved in the crop (``flow_truth``). Every tracklet is drawn from its own seeded
generators, so any one of them can be rendered alone, in any order, and always comes out
the same.

The presets (:data:`PRESETS`): ``tiny``, ``quick``, ``small`` and ``standard`` are one
benchmark at four sizes, with all four degradations at the same rates (``standard`` is
the data of the shipped weights); ``<size>_clean`` are the same persons and cameras with
no degradation at all, for the "without occlusion" rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter
from tqdm.auto import tqdm

from .dataset import VideoReIDDataset
from .export import export_ilidsvid
from .integrity import CacheRebuiltWarning, file_record, problem, trust
from .splits import make_splits
from .tempfiles import remove_stale, temp_folder, write_error
from .tracklet import Tracklet

GENERATOR_VERSION = 1  # seeds every random stream: bumping it draws other persons and scenes
RENDER_VERSION = 3  # bump when the pictures change: it invalidates caches

# RGB clothing colours; identities share them, so colour alone does not identify a person.
PALETTE = np.array(
    [
        [30, 30, 35],
        [225, 225, 220],
        [128, 128, 128],
        [35, 45, 100],
        [50, 100, 190],
        [180, 40, 40],
        [50, 130, 60],
        [220, 190, 50],
        [110, 70, 40],
        [200, 180, 140],
        [110, 60, 140],
        [225, 120, 40],
        [30, 130, 130],
        [220, 140, 170],
    ],
    np.float32,
)
SKIN = np.array([[240, 200, 170], [215, 165, 130], [170, 120, 85], [110, 75, 50]], np.float32)
HAIR = np.array([[20, 18, 15], [70, 45, 25], [130, 90, 50], [220, 190, 120], [160, 160, 160]], np.float32)
PATTERNS = ("solid", "hstripes", "vstripes", "patch")
BAGS = ("none", "backpack", "handbag")
OCCLUDERS = ("pole", "pedestrian", "object")
HEAVY_OCCLUDERS = ("wall", "vehicle", "group")
FAILURES = ("shift", "cut")  # the box slid sideways; the box shrank onto the upper or the lower body
# Per-frame flags (Rendering.degradation, Tracklet.degradation): bit i is set where DEGRADATIONS[i] acts,
# i.e. hides at least ACTS of the person's pixels (a detection failure: leaves them outside the crop).
DEGRADATIONS = ("occluder", "heavy_occluder", "distractor", "detection_failure")
ACTS = 0.01

_SIZES = {
    "tiny": dict(num_ids=8, seq_len=(8, 16)),
    "quick": dict(num_ids=24, seq_len=(16, 32)),
    "small": dict(num_ids=80, seq_len=(16, 48)),
    "standard": dict(num_ids=300, seq_len=(16, 96)),
}
# Per-tracklet probabilities of each degradation and their run lengths (frames, at most 3/4 of a tracklet).
DEGRADED = dict(
    occlusion=0.5,
    heavy_occlusion=0.15,
    heavy_len=(6, 16),
    distractors=0.4,
    distractor_len=(16, 32),
    detection_failures=0.2,
    failure_len=(6, 16),
)
CLEAN = dict(occlusion=0.0, heavy_occlusion=0.0, distractors=0.0, detection_failures=0.0)
# name -> SyntheticReID arguments. Every size has all four degradations at the rates of DEGRADED
# (`standard` is the data of the shipped weights); "<size>_clean": the same persons, no degradation.
PRESETS = {name: {**size, **DEGRADED} for name, size in _SIZES.items()} | {
    f"{name}_clean": {**size, **CLEAN} for name, size in _SIZES.items()
}


# ----------------------------------------------------------------------------- soft shapes
# Each returns an alpha map in [0, 1]: 1 inside, 0 outside, a linear ramp one pixel wide
# across the edge (anti-aliasing), so a shape moved by a fraction of a pixel changes
# the picture by a fraction too. x is (1, 1, W), y is (1, H, 1), the geometry is a
# scalar or a (T, 1, 1) array, and the result broadcasts to (T, H, W).


def _edge(distance):
    """Alpha from a signed distance (negative inside)."""
    return np.clip(0.5 - distance, 0.0, 1.0)


def soft_ellipse(x, y, cx, cy, rx, ry):
    """Alpha of the ellipse centred at (cx, cy) with radii (rx, ry), in pixels."""
    u, v = (x - cx) / rx, (y - cy) / ry
    return _edge((np.sqrt(u * u + v * v) - 1.0) * np.minimum(rx, ry))


def soft_capsule(x, y, ax, ay, bx, by, r):
    """Alpha of the capsule (a thick segment) from (ax, ay) to (bx, by) with radius r."""
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    h = np.clip((px * dx + py * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    ex, ey = px - dx * h, py - dy * h  # from the closest point on the segment
    return _edge(np.sqrt(ex * ex + ey * ey) - r)


def soft_box(x, y, cx, cy, hx, hy, r=0.0):
    """Alpha of the box centred at (cx, cy), half sizes (hx, hy), corners rounded by r."""
    qx, qy = np.abs(x - cx) - (hx - r), np.abs(y - cy) - (hy - r)
    ox, oy = np.maximum(qx, 0.0), np.maximum(qy, 0.0)
    outside = np.sqrt(ox * ox + oy * oy)
    return _edge(outside + np.minimum(np.maximum(qx, qy), 0.0) - r)


# ----------------------------------------------------------------------------- people and cameras
@dataclass(frozen=True)
class Identity:
    """What a person looks like and how they walk (sizes relative to the frame)."""

    pid: int
    shirt: np.ndarray  # (3,) RGB
    shirt2: np.ndarray  # (3,) second colour of the pattern
    pattern: str  # one of PATTERNS
    stripe: float  # stripe period, in units of the person's height
    trousers: np.ndarray
    shoes: np.ndarray
    skin: np.ndarray
    hair: np.ndarray
    long_hair: bool
    long_sleeves: bool
    bag: str  # one of BAGS
    bag_colour: np.ndarray
    height: float  # person height / frame height
    build: float  # width factor, 1 = average
    gait_freq: float  # strides per frame
    gait_swing: float  # leg swing amplitude, radians


@dataclass(frozen=True)
class Camera:
    """A camera: its scene and how it renders colour."""

    camid: int
    background: np.ndarray  # (H, Wb, 3) float32, a wide scene the tracker crop slides over
    gain: np.ndarray  # (3,) per-channel colour cast
    brightness: float
    noise: float  # std of the (uniform) sensor noise, in grey levels
    blur: float  # Gaussian blur sigma, in pixels (0 = sharp)
    scale: float  # apparent size of people in this view


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
    hidden: np.ndarray  # (T, 4) float32 share of the person each of DEGRADATIONS hides (last: outside the crop)
    degradation: np.ndarray  # (T,) uint8 bit i set where DEGRADATIONS[i] acts


@dataclass(frozen=True)
class _Box:
    """A detection failure: where the tracker's box is during its run of frames, in the coordinates of
    the crop it should have had (pixels; scale = box size / crop size)."""

    frames: slice
    left: np.ndarray  # (n,)
    top: np.ndarray  # (n,)
    scale: np.ndarray  # (n,)


@dataclass(frozen=True)
class _Front:
    """Something drawn in front of the person during some frames: alpha (n, H, W), colour
    premultiplied (3, n, H, W)."""

    frames: slice
    alpha: np.ndarray
    rgb: np.ndarray


def _colour(rng, table, jitter=12.0):
    return np.clip(table[rng.integers(len(table))] + rng.normal(0, jitter, 3), 0, 255).astype(np.float32)


def _background(rng, height: int, width: int) -> np.ndarray:
    """A wide, horizontally periodic scene (H, width, 3): wall, floor, panels, texture."""
    y = np.arange(height, dtype=np.float32)[:, None, None]
    horizon = rng.uniform(0.55, 0.72) * height
    wall, floor = _colour(rng, PALETTE, 25) * 0.6 + 60, _colour(rng, PALETTE, 25) * 0.5 + 50
    shade = np.clip((y - horizon) / (height - horizon), 0, 1)  # floor gets darker nearer
    bg = np.where(y < horizon, wall, floor * (1.0 - 0.3 * shade)) * np.ones((1, width, 1), np.float32)
    for _ in range(rng.integers(6, 12)):  # doors, windows, posters
        x0, w = rng.integers(0, width), rng.integers(8, 60)
        y0 = rng.uniform(0.05, 0.5) * height
        y1 = min(horizon, y0 + rng.uniform(0.2, 0.6) * height)
        cols = np.arange(x0, x0 + w) % width
        bg[int(y0) : int(y1), cols] = _colour(rng, PALETTE, 30) * 0.7 + 40
    texture = gaussian_filter(rng.normal(0, 1, (height, width)), 1.5, mode="wrap") * 18
    texture += rng.normal(0, 4, (height, width))
    return np.clip(bg + texture[..., None], 0, 255).astype(np.float32)


class SyntheticReID:
    """Deterministic procedural pedestrians: ``num_ids`` people, each seen by ``num_cams`` cameras.

    Args:
        num_ids: number of persons (pids 0 .. num_ids-1).
        num_cams: number of cameras (camids 0 .. num_cams-1); every person appears in each.
        seq_len: (lo, hi) inclusive range of tracklet lengths, in frames.
        occlusion: probability in [0, 1] that a tracklet has a (thin) occluder passing in front.
        seed: the seed every random choice derives from.
        size: (H, W) of the frames.
        heavy_occlusion: probability that a large object hides most of the person for a run of frames.
        heavy_len: (lo, hi) frames of that run.
        distractors: probability that another person walks across the crop in front of the target.
        distractor_len: (lo, hi) frames the distractor takes to cross the crop.
        detection_failures: probability that the tracker's box is off the person for a run of frames.
        failure_len: (lo, hi) frames of that run.

    Runs are at most 3/4 of the tracklet long, so that some frames are free of each degradation.
    """

    def __init__(
        self,
        num_ids: int,
        num_cams: int = 2,
        seq_len: tuple[int, int] = (16, 96),
        occlusion: float = 0.5,
        seed: int = 0,
        size: tuple[int, int] = (128, 64),
        heavy_occlusion: float = 0.0,
        heavy_len: tuple[int, int] = (8, 24),
        distractors: float = 0.0,
        distractor_len: tuple[int, int] = (16, 32),
        detection_failures: float = 0.0,
        failure_len: tuple[int, int] = (6, 16),
    ):
        if int(num_ids) < 1 or int(num_cams) < 1:
            raise ValueError(
                f"SyntheticReID needs num_ids >= 1 and num_cams >= 1; found {num_ids} and "
                f"{num_cams}. Ask for at least one person and one camera."
            )
        lo, hi = (int(v) for v in seq_len)
        if not 2 <= lo <= hi:
            raise ValueError(
                f"seq_len must be (lo, hi) with 2 <= lo <= hi frames; found {seq_len}. "
                "A tracklet needs two frames for motion, e.g. seq_len=(16, 96)."
            )
        rates = dict(
            occlusion=occlusion,
            heavy_occlusion=heavy_occlusion,
            distractors=distractors,
            detection_failures=detection_failures,
        )
        for name, rate in rates.items():
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"{name} is the share of tracklets it affects, in [0, 1]; found {rate}.")
        if float(distractors) > 0 and int(num_ids) < 2:
            raise ValueError(
                f"distractors={distractors} needs another person to pass in front; found num_ids={num_ids}. "
                "Ask for at least 2 persons, or set distractors=0."
            )
        runs = dict(heavy_len=heavy_len, distractor_len=distractor_len, failure_len=failure_len)
        for name, run in runs.items():
            if len(run) != 2 or not 1 <= int(run[0]) <= int(run[1]):
                raise ValueError(f"{name} must be (lo, hi) frames with 1 <= lo <= hi; found {run}, e.g. (8, 24).")
        h, w = (int(v) for v in size)
        if h < 32 or w < 16:
            raise ValueError(f"size must be at least (32, 16) pixels to draw a person; found {size}.")
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer; found {seed}.")
        self.num_ids, self.num_cams, self.seq_len = int(num_ids), int(num_cams), (lo, hi)
        self.occlusion, self.seed, self.size = float(occlusion), int(seed), (h, w)
        self.heavy_occlusion, self.distractors = float(heavy_occlusion), float(distractors)
        self.detection_failures = float(detection_failures)
        self.heavy_len, self.distractor_len, self.failure_len = (
            tuple(int(v) for v in run) for run in (heavy_len, distractor_len, failure_len)
        )
        self._cameras: dict[int, Camera] = {}
        self._scenes: dict[int, np.ndarray] = {}

    def _degradation_args(self) -> dict:
        return dict(
            heavy_occlusion=self.heavy_occlusion,
            heavy_len=self.heavy_len,
            distractors=self.distractors,
            distractor_len=self.distractor_len,
            detection_failures=self.detection_failures,
            failure_len=self.failure_len,
        )

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self._degradation_args().items())
        return (
            f"SyntheticReID(num_ids={self.num_ids}, num_cams={self.num_cams}, seq_len={self.seq_len}, "
            f"occlusion={self.occlusion}, seed={self.seed}, size={self.size}{extra})"
        )

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, GENERATOR_VERSION, *key])

    def _check(self, pid: int, camid: int = 0) -> None:
        if not (0 <= pid < self.num_ids and 0 <= camid < self.num_cams):
            raise IndexError(
                f"pid must be in [0, {self.num_ids}) and camid in [0, {self.num_cams}); found pid={pid}, camid={camid}."
            )

    def identity(self, pid: int) -> Identity:
        """The appearance and gait of person ``pid``."""
        self._check(pid)
        rng = self._rng(0, pid)
        return Identity(
            pid=pid,
            shirt=_colour(rng, PALETTE),
            shirt2=_colour(rng, PALETTE),
            pattern=PATTERNS[rng.integers(len(PATTERNS))],
            stripe=float(rng.uniform(0.05, 0.09)),
            trousers=_colour(rng, PALETTE),
            shoes=_colour(rng, PALETTE[:4], 8),
            skin=_colour(rng, SKIN, 8),
            hair=_colour(rng, HAIR, 8),
            long_hair=bool(rng.random() < 0.35),
            long_sleeves=bool(rng.random() < 0.5),
            bag=BAGS[rng.choice(3, p=[0.5, 0.25, 0.25])],
            bag_colour=_colour(rng, PALETTE),
            height=float(rng.uniform(0.74, 0.9)),
            build=float(rng.uniform(0.85, 1.2)),
            gait_freq=float(rng.uniform(0.045, 0.09)),
            gait_swing=float(rng.uniform(0.25, 0.5)),
        )

    def camera(self, camid: int) -> Camera:
        """The scene and colour rendering of camera ``camid``."""
        self._check(0, camid)
        if camid in self._cameras:
            return self._cameras[camid]
        rng = self._rng(1, camid)
        self._cameras[camid] = Camera(
            camid=camid,
            background=_background(rng, self.size[0], 512),
            gain=(1 + rng.normal(0, 0.1, 3)).astype(np.float32),
            brightness=float(rng.uniform(0.75, 1.15)),
            noise=float(rng.uniform(2, 6)),
            blur=float(rng.choice([0.0, rng.uniform(0.5, 1.0)])),
            scale=float(rng.uniform(0.9, 1.05)),
        )
        return self._cameras[camid]

    def render(self, pid: int, camid: int) -> Rendering:
        """Render person ``pid`` in camera ``camid``: frames plus ground truth."""
        self._check(pid, camid)
        ident, cam, rng = self.identity(pid), self.camera(camid), self._rng(2, pid, camid)
        H, W = self.size
        T = int(rng.integers(self.seq_len[0], self.seq_len[1] + 1))
        t = np.arange(T, dtype=np.float32)[:, None, None]  # (T, 1, 1)
        x = np.arange(W, dtype=np.float32)[None, None, :]  # (1, 1, W)
        y = np.arange(H, dtype=np.float32)[None, :, None]  # (1, H, 1)

        # Trajectory in the crop: the tracker follows the person, who drifts and bobs a little.
        d = float(rng.choice([-1.0, 1.0]))  # walking direction
        speed = float(rng.uniform(0.8, 2.5))  # px/frame, background slides by -d*speed
        hp = min(ident.height * cam.scale * H * rng.uniform(0.97, 1.03), H - 6.0)
        phase = rng.uniform(0, 2 * np.pi)
        p1, p2, f1, f2 = rng.uniform(20, 50), rng.uniform(8, 16), rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)
        cx = W / 2 + rng.uniform(-2, 2) + 2.5 * np.sin(2 * np.pi * t / p1 + f1) + 1.0 * np.sin(2 * np.pi * t / p2 + f2)
        swing = ident.gait_swing * np.sin(2 * np.pi * ident.gait_freq * t + phase)  # (T, 1, 1) leg angle
        bob = 0.012 * hp * (swing / ident.gait_swing) ** 2  # lowest at the widest stride
        top = H - 3.0 - hp + bob + rng.uniform(-1, 1)  # (T, 1, 1) head top

        # Each degradation has a generator of its own: raising its rate adds it to more tracklets
        # and changes nothing else in the pictures.
        box, failure = self._detection_failure(self._rng(6, pid, camid), T, top, hp)
        cx, top, height = _through_box(box, cx, top, hp)  # where the person is in the frames shown
        person_rgb, person, torso, area = self._draw_target(ident, cx, top, hp, swing, d, box)

        # The scene slides under the crop; sub-pixel shifts by linear interpolation. Colour
        # planes come first, (3, T, H, W), so every blend below runs over whole rows.
        offset = rng.uniform(0, self.camera(camid).background.shape[1]) + d * speed * np.arange(T)
        img = self._slide_scene(camid, offset, box)
        img *= 1 - person
        img += person_rgb

        distractor, other = self._distractor(self._rng(5, pid, camid), pid, cam, T, d, speed)
        _paint(img, distractor)
        occluder, colour, kind = self._occluder(self._rng(3, pid, camid), x, y, t, T, d, speed)
        if kind is not None:
            covered = np.flatnonzero(occluder.any(axis=(0, 2)))  # the rows it covers
            rows = slice(covered[0], covered[-1] + 1) if covered.size else slice(0, 0)
            band, a = img[:, :, rows], occluder[:, rows]
            band *= 1 - a
            band += colour[:, None, None, None] * a
        heavy, heavy_meta = self._heavy_occluder(self._rng(4, pid, camid), T, d, speed, hp)
        _paint(img, heavy)

        frames = _expose(img, cam, rng)
        front, visibility, shares = _truth(person, area, occluder, heavy, distractor)
        pos = np.stack([cx[:, 0, 0], (top + 0.32 * height)[:, 0, 0]], axis=1)  # (T, 2) torso centre
        flow = np.zeros((T, 2), np.float32)
        flow[1:] = np.diff(pos, axis=0)
        meta = dict(
            dataset="synthetic",
            seed=self.seed,
            direction=int(d),
            speed=speed,
            occluder=kind,
            heavy_occluder=heavy_meta,
            distractor=other,
            detection_failure=failure,
            background_flow=[-d * speed, 0.0],  # outside a detection failure's run
        )
        return Rendering(frames, person, torso, front, visibility, flow, meta, area, shares, _flags(shares, box))

    def _draw_target(self, ident: Identity, cx, top, hp: float, swing, d: float, box):
        """The target as the frames show it: colour premultiplied (3, T, H, W), alpha (T, H, W) and torso
        alpha (T, H, W) inside the crop, and the whole person's alpha summed (T,), inside the crop or not.

        cx, top, swing: (T, 1, 1), where the frames show the person; in a detection failure's run
        the person is drawn at the scale of its box."""
        if box is None:
            return self._draw_person(ident, cx, top, hp, swing, d)
        T, (H, W) = len(cx), self.size
        rgb, alpha, torso, area = (np.zeros(s, np.float32) for s in ((3, T, H, W), (T, H, W), (T, H, W), (T,)))
        run = np.arange(T)[box.frames]
        for idx, height in ((np.setdiff1d(np.arange(T), run), hp), (run, hp / box.scale[:, None, None])):
            if idx.size:
                rgb[:, idx], alpha[idx], torso[idx], area[idx] = self._draw_person(
                    ident, cx[idx], top[idx], height, swing[idx], d
                )
        return rgb, alpha, torso, area

    def _draw_person(self, ident: Identity, cx, top, hp, swing, d: float):
        """:meth:`_draw_target` for n frames: cx, top, swing (n, 1, 1); hp a scalar or (n, 1, 1)."""
        H, W = self.size
        x = np.arange(W, dtype=np.float32)[None, None, :]
        y = np.arange(H, dtype=np.float32)[None, :, None]
        layers, (rows, cols, torso_alpha, _) = self._person_layers(ident, x, y, cx, top, hp, swing, d)
        rgb, alpha = _composite(layers, (len(cx), H, W))
        torso = np.zeros_like(alpha)
        torso[:, rows, cols] = torso_alpha
        area = alpha.sum(axis=(1, 2))
        cut = _touches_border(alpha)
        if cut.any():
            area[cut] += self._beyond_crop(ident, cx[cut], top[cut], hp[cut] if np.ndim(hp) else hp, swing[cut], d)
        return rgb, alpha, torso, area

    def _beyond_crop(self, ident: Identity, cx, top, hp, swing, d: float) -> np.ndarray:
        """The person's alpha outside the crop, summed (n,): drawn on a canvas around the crop that holds all of it."""
        H, W = self.size
        reach, tall = 0.45 * hp, 1.1 * hp  # beyond any limb, bag or hair
        beyond = (-np.min(cx - reach), np.max(cx + reach) - W, -np.min(top), np.max(top + tall) - H)
        left, right, up, down = (max(0, int(np.ceil(v)) + 3) for v in beyond)
        x = np.arange(W + left + right, dtype=np.float32)[None, None, :]
        y = np.arange(H + up + down, dtype=np.float32)[None, :, None]
        layers, _ = self._person_layers(ident, x, y, cx + left, top + up, hp, swing, d)
        alpha = _coverage(layers, (len(cx), y.shape[1], x.shape[2]))
        alpha[:, up : up + H, left : left + W] = 0  # the crop
        return alpha.sum(axis=(1, 2))

    def _slide_scene(self, camid: int, offset: np.ndarray, box) -> np.ndarray:
        """The scene under the crop of each frame (3, T, H, W), ``offset`` (T,) its left edge in the scene;
        in a detection failure's run, under the tracker's box."""
        scene, wb = self._scene(camid), self.camera(camid).background.shape[1]
        H, W = self.size
        img = np.empty((3, len(offset), H, W), np.float32)
        for k, o in enumerate(offset):
            i, f = int(np.floor(o)), np.float32(o - np.floor(o))
            strip = scene[:, :, i % wb : i % wb + W + 1]  # (3, H, W+1)
            np.multiply(strip[..., :-1], 1 - f, out=img[:, k])
            img[:, k] += strip[..., 1:] * f
        if box is not None:
            for k, left, top, scale in zip(range(box.frames.start, box.frames.stop), box.left, box.top, box.scale):
                img[:, k] = _resample(scene[:, :, :wb], offset[k] + left, top, scale, W)
        return img

    def _detection_failure(self, rng, T: int, top, hp: float):
        """The tracker's box during a run of frames (a :class:`_Box`) and its meta; (None, None) if it never fails."""
        if rng.random() >= self.detection_failures:
            return None, None
        H, W = self.size
        run = _run(rng, self.failure_len, T)
        n = run.stop - run.start
        mode = FAILURES[rng.integers(len(FAILURES))]
        if mode == "shift":  # slid sideways (and a little up or down): one side of the person is cut off
            ox = float(rng.choice([-1.0, 1.0])) * rng.uniform(0.3, 0.55) * W
            oy, scale = rng.uniform(-0.05, 0.05) * H, rng.uniform(0.9, 1.2)
        else:  # "cut": too small, on the upper or the lower body
            scale = rng.uniform(0.5, 0.7)
            part = rng.uniform(0.2, 0.35) if rng.random() < 0.5 else rng.uniform(0.65, 0.8)
            ox, oy = rng.uniform(-0.1, 0.1) * W, float(np.mean(top)) + part * hp - H / 2
        ramp = np.minimum(1.0, np.arange(1, n + 1) / rng.integers(1, 4))  # the error builds up over 1-3 frames
        jitter = rng.normal(0, 0.7, (2, n))
        s = scale**ramp
        box = _Box(run, W / 2 + ramp * ox + jitter[0] - s * W / 2, H / 2 + ramp * oy + jitter[1] - s * H / 2, s)
        meta = dict(mode=mode, frames=[run.start, run.stop], shift=[round(ox, 2), round(oy, 2)], scale=round(scale, 3))
        return box, meta

    def _distractor(self, rng, pid: int, cam: Camera, T: int, d: float, speed: float):
        """Another person of the benchmark walking across the crop in front of the target: a :class:`_Front`
        and its meta; (None, None) if nobody passes."""
        if rng.random() >= self.distractors:
            return None, None
        H, W = self.size
        other = (pid + 1 + int(rng.integers(self.num_ids - 1))) % self.num_ids  # anyone but the target
        ident = self.identity(other)
        run = _run(rng, self.distractor_len, T)
        n = run.stop - run.start
        hp = min(ident.height * cam.scale * H * rng.uniform(1.0, 1.12), 1.1 * H)  # nearer the camera
        reach = 0.3 * hp  # about half the width of a walking person
        side = float(rng.choice([-1.0, 1.0]))  # +1: in on the left, out on the right
        rel = side * (W + 2 * reach) / n  # px/frame across the crop
        k = np.arange(n, dtype=np.float32)[:, None, None]
        cx = W / 2 - side * (W / 2 + reach) + rel * (k + 0.5)
        facing = float(np.sign(rel + d * speed)) or side  # its direction in the scene (the crop moves at d*speed)
        swing = ident.gait_swing * np.sin(2 * np.pi * ident.gait_freq * k + rng.uniform(0, 2 * np.pi))
        top = H - 3.0 + rng.uniform(0, 0.06 * H) - hp + 0.012 * hp * (swing / ident.gait_swing) ** 2
        x = np.arange(W, dtype=np.float32)[None, None, :]
        y = np.arange(H, dtype=np.float32)[None, :, None]
        layers, _ = self._person_layers(ident, x, y, cx, top, hp, swing, facing)
        rgb, alpha = _composite(layers, (n, H, W))
        return _Front(run, alpha, rgb), dict(pid=other, frames=[run.start, run.stop])

    def _heavy_occluder(self, rng, T: int, d: float, speed: float, hp: float):
        """A large foreground object that hides most of the person for a run of frames: a :class:`_Front`
        and its meta; (None, None) if there is none."""
        if rng.random() >= self.heavy_occlusion:
            return None, None
        H, W = self.size
        run = _run(rng, self.heavy_len, T)
        kind = HEAVY_OCCLUDERS[rng.integers(len(HEAVY_OCCLUDERS))]
        n = run.stop - run.start
        if kind == "group":  # 3 or 4 people walking by, in front of the person's centre for the whole run
            group = (int(rng.integers(3, 5)), rng.uniform(10, 14), rng.uniform(8, 11))  # count, spacing, radius
            half = (group[0] - 1) / 2 * group[1] + group[2]
            rel = float(rng.choice([-1.0, 1.0])) * 2 * half / n
        else:  # standing, nearer the camera than the person: it slides faster than the scene
            rel = -d * speed * rng.uniform(1.1, 1.5)
            half = 0.15 * hp + abs(rel) * n / 2  # covers torso and legs for the whole run
        ox = W / 2 + rel * (np.arange(T) - (run.start + run.stop - 1) / 2)  # (T,) its centre
        shown = np.flatnonzero(np.abs(ox - W / 2) < half + W / 2 + 2)
        frames = slice(shown[0], shown[-1] + 1)
        ox = ox[frames, None, None].astype(np.float32)
        if kind == "group":
            layers = self._group(rng, ox, *group)
        else:
            layers = (self._wall if kind == "wall" else self._vehicle)(rng, ox, half)
        rgb, alpha = _composite(layers, (len(ox), H, W))
        return _Front(frames, alpha, rgb), dict(kind=kind, frames=[run.start, run.stop])

    def _wall(self, rng, ox, half: float) -> list:
        """Layers of a wall or pillar from the top of the crop to the bottom, centred at ox (n, 1, 1)."""
        H, W = self.size
        x = np.arange(W, dtype=np.float32)[None, None, :]
        alpha = soft_box(x, np.float32(H / 2), ox, H / 2, half, H)  # (n, 1, W): the same in every row
        colour = _colour(rng, PALETTE, 20) * 0.6 + 40
        return [(slice(0, H), slice(0, W), np.broadcast_to(alpha, (len(ox), H, W)), colour)]

    def _vehicle(self, rng, ox, half: float) -> list:
        """Layers of a parked vehicle, body, windows and wheels, centred at ox (n, 1, 1)."""
        H, W = self.size
        x = np.arange(W, dtype=np.float32)[None, None, :]
        y = np.arange(H, dtype=np.float32)[:, None]
        body_h, cabin_h, wheel = rng.uniform(0.4, 0.6) * H, rng.uniform(0.15, 0.25) * H, 0.11 * H
        base = H - body_h  # top of the body
        paint = _colour(rng, PALETTE, 20) * 0.85
        glass = np.float32(rng.uniform(0.7, 1.2)) * np.array([45, 55, 65], np.float32)
        body, cabin, wheels = _span(base, H, H), _span(base - cabin_h, base + 6, H), _span(H - 2 * wheel, H, H)
        mid = base - cabin_h / 2 + 3  # the cabin's centre row
        layers = [
            (body, slice(0, W), soft_box(x, y[body], ox, base + body_h / 2 + 4, half, body_h / 2 + 4, 6), paint),
            (cabin, slice(0, W), soft_box(x, y[cabin], ox, mid, 0.7 * half, cabin_h / 2 + 3, 4), glass),
        ]
        for side in (-1, 1):
            alpha = soft_ellipse(x, y[wheels], ox + side * 0.7 * half, H - 0.6 * wheel, wheel, wheel)
            layers.append((wheels, slice(0, W), alpha, np.full(3, 25, np.float32)))
        return layers

    def _group(self, rng, ox, count: int, spacing: float, radius: float) -> list:
        """Layers of ``count`` people side by side (dark silhouettes, ``spacing`` apart) centred at ox (n, 1, 1)."""
        H, W = self.size
        x = np.arange(W, dtype=np.float32)[None, None, :]
        y = np.arange(H, dtype=np.float32)[:, None]
        layers = []
        for i in range(count):
            px, oh = ox + (i - (count - 1) / 2) * spacing, rng.uniform(0.8, 1.0) * H
            rows = _span(H - oh - 0.01 * oh - 1, H, H)
            alpha = np.maximum(
                soft_capsule(x, y[rows], px, H - 0.75 * oh, px, H + 10, radius),
                soft_ellipse(x, y[rows], px, H - 0.9 * oh, 0.07 * oh, 0.09 * oh),
            )
            layers.append((rows, slice(0, W), alpha, _colour(rng, PALETTE, 20) * 0.6))
        return layers

    @staticmethod
    def _person_layers(ident: Identity, x, y, cx, top, hp: float, swing, d: float):
        """The person's shapes, back to front, as (rows, cols, alpha (T, len(rows), len(cols)), colour)
        layers, colour (3,) or (3, T, len(rows), len(cols)); also returns the torso's layer.

        Each shape is evaluated only inside the box of pixels it can reach during the tracklet."""
        H, W = y.shape[1], x.shape[2]
        hp = np.float32(hp)  # float32 throughout
        dark = np.float32(0.72)  # the far limbs are in shade
        head_c, head_rx, head_ry = top + 0.075 * hp, 0.055 * hp, 0.07 * hp
        sh_y, hip_y = top + 0.19 * hp, top + 0.48 * hp
        arm_l, arm_r = 0.34 * hp, 0.032 * hp
        leg_l, leg_r = 0.48 * hp, 0.045 * hp * np.float32(np.sqrt(ident.build))
        tw = 0.1 * ident.build * hp  # torso half width

        def box(x_lo, x_hi, y_lo, y_hi):  # the pixel box (rows, cols, ys, xs) covering these bounds
            rows, cols = _span(y_lo, y_hi, H), _span(x_lo, x_hi, W)
            return rows, cols, y[:, rows], x[..., cols]

        def capsule(ax, ay, bx, by, r, colour):
            rows, cols, ys, xs = box(
                np.minimum(ax, bx) - r, np.maximum(ax, bx) + r, np.minimum(ay, by) - r, np.maximum(ay, by) + r
            )
            return rows, cols, soft_capsule(xs, ys, ax, ay, bx, by, r), colour

        def rect(cx_, cy_, hx, hy, r, colour):
            rows, cols, ys, xs = box(cx_ - hx, cx_ + hx, cy_ - hy, cy_ + hy)
            return rows, cols, soft_box(xs, ys, cx_, cy_, hx, hy, r), colour

        def ellipse(cx_, cy_, rx, ry):  # the box holds the soft edge (wider than a pixel on the long axis)
            grow = 1.0 + 0.5 / np.minimum(rx, ry)
            rows, cols, ys, xs = box(cx_ - grow * rx, cx_ + grow * rx, cy_ - grow * ry, cy_ + grow * ry)
            return rows, cols, ys, soft_ellipse(xs, ys, cx_, cy_, rx, ry)

        def limb(angle, root_y, length):  # end point of a limb swinging by angle (radians)
            return cx + d * length * np.sin(angle), root_y + length * np.cos(angle)

        def arm(angle, shade):
            ex, ey = limb(angle, sh_y, arm_l / 2)
            hx, hy = limb(angle, sh_y, arm_l)
            fore = ident.shirt if ident.long_sleeves else ident.skin
            return [
                capsule(cx, sh_y, ex, ey, arm_r, ident.shirt * shade),
                capsule(ex, ey, hx, hy, arm_r * 0.9, fore * shade),
            ]

        def leg(angle, shade):
            fx, fy = limb(angle, hip_y, leg_l)
            rows, cols, _, shoe = ellipse(fx + d * 0.03 * hp, fy + 0.01 * hp, 0.05 * hp, 0.025 * hp)
            return [capsule(cx, hip_y, fx, fy, leg_r, ident.trousers * shade), (rows, cols, shoe, ident.shoes * shade)]

        # Torso with its pattern; the pattern is attached to the body, so it moves with it.
        torso = rect(cx, top + 0.32 * hp, tw, 0.17 * hp, 0.03 * hp, ident.shirt)
        rows, cols, alpha, _ = torso
        yt, xt, period = y[:, rows], x[..., cols], ident.stripe * hp
        mix = None
        if ident.pattern == "hstripes":
            mix = np.clip(0.5 + 2 * np.sin(2 * np.pi * (yt - top) / period), 0, 1)
        elif ident.pattern == "vstripes":
            mix = np.clip(0.5 + 2 * np.sin(2 * np.pi * (xt - cx) / period), 0, 1)
        elif ident.pattern == "patch":
            mix = soft_box(xt, yt, cx + d * 0.3 * tw, top + 0.27 * hp, 0.45 * tw, 0.05 * hp)
        if mix is not None:  # (T, rows, cols) -> (3, T, rows, cols)
            mix = np.broadcast_to(mix, alpha.shape)
            torso = (
                rows,
                cols,
                alpha,
                ident.shirt[:, None, None, None] * (1 - mix) + ident.shirt2[:, None, None, None] * mix,
            )

        layers = arm(swing, dark) + leg(-swing, dark)  # far side, behind the body
        if ident.bag == "backpack":
            layers.append(
                rect(cx - d * (tw + 0.03 * hp), top + 0.3 * hp, 0.05 * hp, 0.11 * hp, 0.02 * hp, ident.bag_colour)
            )
        layers.append(torso)
        if ident.long_hair:
            layers.append(
                capsule(cx - d * 0.03 * hp, head_c, cx - d * 0.04 * hp, top + 0.2 * hp, 0.045 * hp, ident.hair)
            )
        rows, cols, yh, head = ellipse(cx + d * 0.01 * hp, head_c, head_rx, head_ry)
        layers.append((rows, cols, head, ident.skin))
        layers.append((rows, cols, head * _edge(yh - (head_c - 0.25 * head_ry)), ident.hair))  # hair caps the head
        layers += leg(swing, 1.0) + arm(-swing, 1.0)  # near side, in front
        if ident.bag == "handbag":
            hx, hy = limb(-swing, sh_y, arm_l)
            layers.append(rect(hx, hy + 0.05 * hp, 0.055 * hp, 0.05 * hp, 0.01 * hp, ident.bag_colour))
        return layers, torso

    def _occluder(self, rng, x, y, t, T: int, d: float, speed: float):
        """Alpha (T, H, W) of an occluder crossing the crop, its colour (3,) and kind (None: no occluder)."""
        H, W = self.size
        if rng.random() >= self.occlusion:
            return np.zeros((T, H, W), np.float32), np.zeros(3, np.float32), None
        kind = OCCLUDERS[rng.integers(len(OCCLUDERS))]
        tc = rng.uniform(0.15, 0.85) * (T - 1)  # when it passes the centre
        rel = -d * speed * rng.uniform(1.5, 3.0) if kind != "pedestrian" else rng.choice([-1, 1]) * rng.uniform(2, 4)
        ox = W / 2 + rng.uniform(-4, 4) + rel * (t - tc)  # (T, 1, 1) foreground parallax
        alpha = np.zeros((T, H, W), np.float32)
        if kind == "pole":  # full height: the same in every row
            alpha[:] = soft_box(x, np.float32(H / 2), ox, H / 2, rng.uniform(3, 7), H)
        elif kind == "object":
            oh, ow = rng.uniform(0.3, 0.5) * H, rng.uniform(10, 22)
            rows = _span(H - oh, H, H)
            alpha[:, rows] = soft_box(x, y[:, rows], ox, H - oh / 2, ow, oh / 2, 3.0)
        else:
            oh = rng.uniform(0.6, 1.0) * H
            rows = _span(H - oh - 0.01 * oh - 1, H, H)  # from the top of the head
            yr = y[:, rows]
            alpha[:, rows] = np.maximum(
                soft_capsule(x, yr, ox, H - oh + 0.25 * oh, ox, H + 10, rng.uniform(9, 14)),
                soft_ellipse(x, yr, ox, H - oh + 0.1 * oh, 0.07 * oh, 0.09 * oh),
            )
        return alpha, _colour(rng, PALETTE, 20) * 0.8, kind

    def _scene(self, camid: int) -> np.ndarray:
        """Camera ``camid``'s background as colour planes (3, H, Wb + W + 1), its first W + 1
        columns repeated at the end so that every crop of the wrapping scene is a slice."""
        if camid not in self._scenes:
            bg = self.camera(camid).background
            self._scenes[camid] = np.ascontiguousarray(
                np.concatenate([bg, bg[:, : self.size[1] + 1]], 1).transpose(2, 0, 1)
            )
        return self._scenes[camid]

    def tracklet(self, pid: int, camid: int) -> Tracklet:
        """Person ``pid`` in camera ``camid`` as a :class:`Tracklet` with its ground truth."""
        r = self.render(pid, camid)
        return Tracklet(
            pid=pid,
            camid=camid,
            frames=r.frames,
            visibility=r.visibility,
            flow_truth=r.flow_truth,
            meta=r.meta,
            degradation=r.degradation,
        )

    def dataset(
        self,
        num_splits: int = 10,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = False,
        name: str = "synthetic",
    ) -> VideoReIDDataset:
        """All tracklets as a :class:`VideoReIDDataset` with ``num_splits`` random person splits (seed = ``seed``)."""
        return VideoReIDDataset(
            name,
            self.tracklets(cache_dir=cache_dir, progress=progress),
            make_splits(range(self.num_ids), num_splits, seed=self.seed),
            meta={"generator": repr(self)},
            fingerprint=f"synthetic-{self.cache_key()}",
            persons=f"synthetic (seed {self.seed}, generator {GENERATOR_VERSION})",  # a pid's person: any preset
        )

    def export_ilidsvid(
        self,
        root: str | os.PathLike,
        num_splits: int = 10,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = False,
    ) -> Path:
        """Write the benchmark in the iLIDS-VID layout under ``root`` (frames as PNG, splits as the official
        .mat), so that ``load_dataset("ilidsvid", root=root)`` reads it back; returns ``root/i-LIDS-VID``."""
        return export_ilidsvid(
            self.dataset(num_splits, cache_dir=cache_dir, progress=progress), root, progress=progress
        )

    def tracklets(self, cache_dir: str | os.PathLike | None = None, progress: bool = False) -> list[Tracklet]:
        """Every (pid, camid) tracklet, pid-major. With ``cache_dir`` they are rendered once,
        saved there, and later read back memory-mapped (same arrays, no rendering)."""
        if cache_dir is None:
            keys = [(p, c) for p in range(self.num_ids) for c in range(self.num_cams)]
            return [self.tracklet(p, c) for p, c in tqdm(keys, desc="rendering", disable=not progress)]
        folder = Path(cache_dir).expanduser() / f"synthetic-{self.cache_key()}"
        if (folder / "index.json").exists() or folder.is_symlink():
            loaded = _load(folder)
            if not isinstance(loaded, str):
                return loaded
            warnings.warn(
                f"the synthetic frames cache {folder} is damaged: {loaded}. Rebuilding it.",
                CacheRebuiltWarning,
                stacklevel=2,
            )
            _discard(folder)
        _save(self.tracklets(progress=progress), folder)
        loaded = _load(folder)
        if isinstance(loaded, str):
            raise OSError(f"the synthetic frames cache {folder} was written but does not read back: {loaded}.")
        return loaded

    def cache_key(self) -> str:
        """A short hash of everything that decides the pictures."""
        spec = json.dumps(
            [
                GENERATOR_VERSION,
                RENDER_VERSION,
                self.num_ids,
                self.num_cams,
                self.seq_len,
                self.occlusion,
                self.seed,
                self.size,
                self._degradation_args(),
            ]
        )
        return hashlib.sha1(spec.encode()).hexdigest()[:12]


def _span(lo, hi, n: int, margin: int = 2) -> slice:
    """The indices 0 .. n-1 from the smallest ``lo`` to the largest ``hi`` (scalars or arrays), with a margin."""
    return slice(min(max(int(np.floor(np.min(lo))) - margin, 0), n), max(min(int(np.ceil(np.max(hi))) + margin, n), 0))


def _run(rng, lengths: tuple[int, int], T: int) -> slice:
    """Consecutive frames of one of T frames: a length drawn from lengths (lo, hi), at most 3/4 of T."""
    n = min(int(rng.integers(lengths[0], lengths[1] + 1)), max(1, 3 * T // 4))
    start = int(rng.integers(0, T - n + 1))
    return slice(start, start + n)


def _through_box(box: _Box | None, cx, top, hp: float):
    """The person's centre x, head top and height, each (T, 1, 1), in the frames as the tracker's box shows them."""
    height = np.full_like(cx, hp)
    if box is None:
        return cx, top, height
    cx, top, sl, s = cx.copy(), top.copy(), box.frames, box.scale[:, None, None]
    cx[sl] = (cx[sl] - box.left[:, None, None]) / s
    top[sl] = (top[sl] - box.top[:, None, None]) / s
    height[sl] = hp / s
    return cx, top, height


def _resample(scene: np.ndarray, left: float, top: float, scale: float, width: int) -> np.ndarray:
    """Bilinear samples (3, H, width) of a horizontally wrapping scene (3, H, Wb) at the columns
    left + scale * j and the rows top + scale * i, rows clamped to the scene (the floor or wall goes on)."""
    _, H, wb = scene.shape
    c = left + scale * np.arange(width)
    c0 = np.floor(c)
    fc, c0 = (c - c0).astype(np.float32), c0.astype(int) % wb
    r = np.clip(top + scale * np.arange(H), 0, H - 1)
    r0 = np.floor(r).astype(int)
    fr, r1 = (r - r0).astype(np.float32)[:, None], np.minimum(r0 + 1, H - 1)

    def rows(i):
        s = scene[:, i]
        return s[:, :, c0] * (1 - fc) + s[:, :, (c0 + 1) % wb] * fc

    return rows(r0) * (1 - fr) + rows(r1) * fr


def _touches_border(alpha: np.ndarray) -> np.ndarray:
    """(n,) True where the alpha (n, H, W) reaches the first or last row or column (the person may go on beyond)."""
    return (alpha[:, [0, -1]].max(axis=(1, 2)) > 0) | (alpha[:, :, [0, -1]].max(axis=(1, 2)) > 0)


def _paint(img: np.ndarray, front: _Front | None) -> None:
    """Draw ``front`` (nothing for None) over the colour planes img (3, T, H, W), in place."""
    if front is not None:
        band = img[:, front.frames]
        band *= 1 - front.alpha
        band += front.rgb


def _expose(img: np.ndarray, cam: Camera, rng) -> np.ndarray:
    """The camera's picture of the scene's colour planes img (3, T, H, W), changed in place: its light,
    blur and sensor noise -> uint8 frames (T, H, W, 3)."""
    _, T, H, W = img.shape
    light = cam.gain * cam.brightness * rng.uniform(0.93, 1.07)
    img *= light[:, None, None, None].astype(np.float32)
    if cam.blur > 0:
        planes = img.reshape(3 * T, H, W)
        for k in range(len(planes)):
            planes[k] = cv2.GaussianBlur(planes[k], (0, 0), cam.blur)
    # Sensor noise, uniform with std cam.noise: 256 levels drawn as random bytes (std low by 8e-6 relative).
    amp = np.float32(cam.noise * np.sqrt(12))  # width of the uniform
    noise = np.frombuffer(rng.bytes(T * H * W * 3), np.uint8).reshape(T, H, W, 3) * (amp / 256)  # float32
    noise += amp * (0.5 / 256 - 0.5)
    noise += img.transpose(1, 2, 3, 0)  # back to (T, H, W, 3)
    return np.clip(np.rint(noise, out=noise), 0, 255, out=noise).astype(np.uint8)


def _truth(person: np.ndarray, area: np.ndarray, occluder: np.ndarray, heavy, distractor):
    """The alpha (T, H, W) of all in front of the person, the visibility (T,) and the share of the person
    each of DEGRADATIONS hides (T, 4; the last: outside the crop), from the person's alpha in the crop
    (T, H, W) and whole area (T,)."""
    front, hidden, each = _in_front(person, occluder, heavy, distractor)
    inside, whole = person.sum(axis=(1, 2)), np.maximum(area, 1e-6)
    visibility = np.clip(1.0 - (hidden + (area - inside)) / whole, 0.0, 1.0).astype(np.float32)
    shares = np.concatenate([each, (area - inside)[:, None]], axis=1) / whole[:, None]
    return front, visibility, shares


def _in_front(person: np.ndarray, occluder: np.ndarray, *fronts: _Front | None):
    """The alpha (T, H, W) of everything in front of the person (the occluder, then ``fronts``), the person's
    alpha it hides (T,), and what each of them hides alone (T, 1 + len(fronts))."""
    front = occluder
    each = np.zeros((len(person), 1 + len(fronts)), np.float32)
    each[:, 0] = (person * occluder).sum(axis=(1, 2))
    for col, layer in enumerate(fronts, 1):
        if layer is not None:
            front = occluder.copy() if front is occluder else front
            sl = layer.frames
            each[sl, col] = (person[sl] * layer.alpha).sum(axis=(1, 2))
            band = front[sl]
            band += layer.alpha * (1 - band)
    hidden = each[:, 0] if front is occluder else (person * front).sum(axis=(1, 2))
    return front, hidden, each


def _flags(shares: np.ndarray, box: _Box | None) -> np.ndarray:
    """Bit flags (T,) uint8 of the DEGRADATIONS that act on each frame, from the shares (T, 4) they hide."""
    acts = shares >= ACTS
    run = np.zeros(len(shares), bool)
    if box is not None:
        run[box.frames] = True
    acts[:, 3] &= run  # outside the crop by a failure of the box, not by a wide stride
    return (acts.astype(np.uint8) << np.arange(len(DEGRADATIONS), dtype=np.uint8)).sum(axis=1).astype(np.uint8)


def degraded(degradation: np.ndarray, name: str) -> np.ndarray:
    """(T,) bool: the frames where degradation ``name`` (one of DEGRADATIONS) acts, from the flags (T,)."""
    if name not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {name!r}; expected one of {', '.join(DEGRADATIONS)}.")
    return (np.asarray(degradation) & (1 << DEGRADATIONS.index(name))) != 0


def _coverage(layers, shape: tuple[int, int, int]) -> np.ndarray:
    """The total alpha (T, H, W) of layers as :func:`_composite` stacks them, without their colours."""
    alpha = np.zeros(shape, np.float32)
    for rows, cols, a, _ in layers:
        box = alpha[:, rows, cols]
        box *= 1 - a
        box += a
    return alpha


def _composite(layers, shape: tuple[int, int, int]):
    """Stack (rows, cols, alpha (T, len(rows), len(cols)), colour (3,) or (3, T, len(rows), len(cols)))
    layers back to front.

    Returns the premultiplied colour (3, T, H, W) and the total alpha (T, H, W) of frames
    of ``shape`` (T, H, W). Only the box of pixels a layer covers is updated, in place."""
    rgb, alpha = np.zeros((3,) + shape, np.float32), np.zeros(shape, np.float32)
    for rows, cols, a, colour in layers:
        c = colour.reshape(3, 1, 1, 1) if np.ndim(colour) == 1 else colour
        box_rgb, box_alpha = rgb[:, :, rows, cols], alpha[:, rows, cols]  # views into the frames
        keep = 1 - a
        box_rgb *= keep
        box_rgb += a * c
        box_alpha *= keep
        box_alpha += a
    return rgb, alpha


def _remove_leftovers(parent: Path) -> None:
    """Remove the temporary folders of writers of ``parent`` that were killed (or ran out of disk) before
    they finished."""
    remove_stale(parent.glob("synthetic-*.tmp*"))


ARRAYS = ("frames", "visibility", "flow_truth", "degradation")  # one .npy file each, all tracklets stacked


def _save(tracklets: list[Tracklet], folder: Path) -> None:
    """Write tracklets as one .npy per array (all frames stacked) plus index.json (their lengths and each
    file's size and CRC-32) into a temporary folder made exclusively, renamed into place when complete;
    a failed write removes it and says why."""
    _remove_leftovers(folder.parent)
    tmp = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_folder(folder)
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", np.concatenate([getattr(tr, name) for tr in tracklets]))
        files = {f"{name}.npy": file_record(tmp / f"{name}.npy") for name in ARRAYS}
        index = [dict(pid=tr.pid, camid=tr.camid, length=len(tr), meta=tr.meta) for tr in tracklets]
        (tmp / "index.json").write_text(json.dumps(dict(tracklets=index, files=files)))
        os.chmod(tmp, 0o755)  # a cache may be shared; mkdtemp makes folders private
    except BaseException as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise write_error(folder, e, "the synthetic frames cache") from e
        raise
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        return
    for name in ARRAYS:
        trust(folder / f"{name}.npy")


def _discard(folder: Path) -> None:
    """Remove a damaged cache folder (or a link in its place, not what it points to)."""
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _load(folder: Path) -> list[Tracklet] | str:
    """The cached tracklets, or what is wrong with the cache (in words) when it fails its checks."""
    _remove_leftovers(folder.parent)
    if folder.is_symlink():
        return "it is a symbolic link, not a folder reidlib wrote"
    try:
        index = json.loads((folder / "index.json").read_text())
    except (OSError, ValueError) as e:
        return f"its index.json cannot be read ({type(e).__name__})"
    if not isinstance(index, dict) or not isinstance(index.get("files"), dict) or "tracklets" not in index:
        return "its index.json records no sizes and checksums (written by an older reidlib, or edited)"
    for name in ARRAYS:
        why = problem(folder / f"{name}.npy", index["files"].get(f"{name}.npy"))
        if why is not None:
            return f"{name}.npy: {why}"
    try:
        frames = np.load(folder / "frames.npy", mmap_mode="r")
        vis, flow = np.load(folder / "visibility.npy"), np.load(folder / "flow_truth.npy")
        flags = np.load(folder / "degradation.npy")
        items = index["tracklets"]
        total = sum(int(item["length"]) for item in items)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"its files do not read as reidlib wrote them ({type(e).__name__})"
    if not (total == len(frames) == len(vis) == len(flow) == len(flags)):
        return f"index.json lists {total} frames, the arrays hold {[len(frames), len(vis), len(flow), len(flags)]}"
    out, start = [], 0
    for item in items:
        end = start + item["length"]
        out.append(
            Tracklet(
                item["pid"],
                item["camid"],
                frames[start:end],
                vis[start:end],
                flow[start:end],
                {**item["meta"], "cache": str(folder)},
                flags[start:end],
            )
        )
        start = end
    return out
