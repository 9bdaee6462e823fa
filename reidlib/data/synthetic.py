"""A synthetic video re-ID benchmark: procedural pedestrians seen by several cameras.

A person is a handful of soft-edged shapes (head, hair, torso, arms, legs, shoes,
maybe a bag) with colours, a shirt pattern, a height, a build and a gait of their own.
A camera is a scene (a wide background), a lighting colour cast, a brightness, a
sensor noise and a blur of its own. A tracklet is the person walking through the scene
in the crop of a tracker that follows them (so the background slides by), sometimes
passing behind an occluder (a pole, another pedestrian, an object).

The generator knows the truth: who it is, how much of the person is visible in each
frame (``visibility``) and how the person moved in the crop (``flow_truth``). Every
tracklet is drawn from its own seeded generator, so any one of them can be rendered
alone, in any order, and always comes out the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter
from tqdm.auto import tqdm

from .dataset import VideoReIDDataset
from .export import export_ilidsvid
from .splits import make_splits
from .tempfiles import remove_stale, temp_tag, write_error
from .tracklet import Tracklet

GENERATOR_VERSION = 1  # seeds every random stream: bumping it draws other persons and scenes
RENDER_VERSION = 2  # bump when the pictures change: it invalidates caches

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

# name -> SyntheticReID arguments; occlusion is the share of tracklets with an occluder.
PRESETS = {
    "tiny": dict(num_ids=8, seq_len=(8, 16), occlusion=0.5),
    "quick": dict(num_ids=24, seq_len=(16, 32), occlusion=0.5),
    "small": dict(num_ids=80, seq_len=(16, 48), occlusion=0.5),
    "standard": dict(num_ids=300, seq_len=(16, 96), occlusion=0.5),
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
    """One rendered tracklet with its ground truth (T frames of H x W)."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    person: np.ndarray  # (T, H, W) float32 alpha of the person before occlusion
    torso: np.ndarray  # (T, H, W) float32 alpha of the torso (a rigid part)
    occluder: np.ndarray  # (T, H, W) float32 alpha of the occluder (zeros if none)
    visibility: np.ndarray  # (T,) float32 share of the person not hidden by the occluder
    flow_truth: np.ndarray  # (T, 2) float32 (dx, dy) of the person since frame t-1, row 0 zero
    meta: dict


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
        occlusion: probability in [0, 1] that a tracklet has an occluder passing in front.
        seed: the seed every random choice derives from.
        size: (H, W) of the frames.
    """

    def __init__(
        self,
        num_ids: int,
        num_cams: int = 2,
        seq_len: tuple[int, int] = (16, 96),
        occlusion: float = 0.5,
        seed: int = 0,
        size: tuple[int, int] = (128, 64),
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
        if not 0.0 <= float(occlusion) <= 1.0:
            raise ValueError(f"occlusion is the share of occluded tracklets, in [0, 1]; found {occlusion}.")
        h, w = (int(v) for v in size)
        if h < 32 or w < 16:
            raise ValueError(f"size must be at least (32, 16) pixels to draw a person; found {size}.")
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer; found {seed}.")
        self.num_ids, self.num_cams, self.seq_len = int(num_ids), int(num_cams), (lo, hi)
        self.occlusion, self.seed, self.size = float(occlusion), int(seed), (h, w)
        self._cameras: dict[int, Camera] = {}
        self._scenes: dict[int, np.ndarray] = {}

    def __repr__(self) -> str:
        return (
            f"SyntheticReID(num_ids={self.num_ids}, num_cams={self.num_cams}, seq_len={self.seq_len}, "
            f"occlusion={self.occlusion}, seed={self.seed}, size={self.size})"
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
        layers, torso_layer = self._person_layers(ident, x, y, cx, top, hp, swing, d)
        person_rgb, person = _composite(layers, (T, H, W))  # (3,T,H,W) premultiplied, (T,H,W)
        torso = np.zeros((T, H, W), np.float32)
        rows, cols, torso_alpha, _ = torso_layer
        torso[:, rows, cols] = torso_alpha

        # The scene slides under the crop; sub-pixel shifts by linear interpolation. Colour
        # planes come first, (3, T, H, W), so every blend below runs over whole rows.
        scene = self._scene(camid)  # (3, H, Wb + W + 1)
        wb = cam.background.shape[1]
        offset = rng.uniform(0, wb) + d * speed * np.arange(T)  # (T,) left edge in the scene
        img = np.empty((3, T, H, W), np.float32)
        for k, o in enumerate(offset):
            i, f = int(np.floor(o)), np.float32(o - np.floor(o))
            strip = scene[:, :, i % wb : i % wb + W + 1]  # (3, H, W+1)
            np.multiply(strip[..., :-1], 1 - f, out=img[:, k])
            img[:, k] += strip[..., 1:] * f
        img *= 1 - person
        img += person_rgb

        # The occluder has a generator of its own: raising `occlusion` adds occluders to more
        # tracklets and changes nothing else in the pictures.
        occluder, colour, kind = self._occluder(self._rng(3, pid, camid), x, y, t, T, d, speed)
        if kind is not None:
            covered = np.flatnonzero(occluder.any(axis=(0, 2)))  # the rows it covers
            rows = slice(covered[0], covered[-1] + 1) if covered.size else slice(0, 0)
            band, a = img[:, :, rows], occluder[:, rows]
            band *= 1 - a
            band += colour[:, None, None, None] * a

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
        frames = np.clip(np.rint(noise, out=noise), 0, 255, out=noise).astype(np.uint8)

        hidden = (person * occluder).sum(axis=(1, 2))
        visibility = (1.0 - hidden / np.maximum(person.sum(axis=(1, 2)), 1e-6)).astype(np.float32)
        pos = np.stack([cx[:, 0, 0], top[:, 0, 0]], axis=1)  # (T, 2) rigid body position
        flow = np.zeros((T, 2), np.float32)
        flow[1:] = np.diff(pos, axis=0)
        meta = dict(
            dataset="synthetic",
            seed=self.seed,
            direction=int(d),
            speed=speed,
            occluder=kind,
            background_flow=[-d * speed, 0.0],
        )
        return Rendering(frames, person, torso, occluder, visibility, flow, meta)

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
            grow = 1.0 + 0.5 / min(rx, ry)
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
            pid=pid, camid=camid, frames=r.frames, visibility=r.visibility, flow_truth=r.flow_truth, meta=r.meta
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
        if not (folder / "index.json").exists():
            _save(self.tracklets(progress=progress), folder)
        return _load(folder)

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
            ]
        )
        return hashlib.sha1(spec.encode()).hexdigest()[:12]


def _span(lo, hi, n: int, margin: int = 2) -> slice:
    """The indices 0 .. n-1 from the smallest ``lo`` to the largest ``hi`` (scalars or arrays), with a margin."""
    return slice(min(max(int(np.floor(np.min(lo))) - margin, 0), n), max(min(int(np.ceil(np.max(hi))) + margin, n), 0))


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


def _save(tracklets: list[Tracklet], folder: Path) -> None:
    """Write tracklets as one frames.npy (all frames stacked) plus index.json into a temporary folder,
    renamed into place when complete; a failed write removes it and says why."""
    _remove_leftovers(folder.parent)
    tmp = folder.with_name(f"{folder.name}.{temp_tag()}")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        np.save(tmp / "frames.npy", np.concatenate([tr.frames for tr in tracklets]))
        np.save(tmp / "visibility.npy", np.concatenate([tr.visibility for tr in tracklets]))
        np.save(tmp / "flow_truth.npy", np.concatenate([tr.flow_truth for tr in tracklets]))
        index = [dict(pid=tr.pid, camid=tr.camid, length=len(tr), meta=tr.meta) for tr in tracklets]
        (tmp / "index.json").write_text(json.dumps(index))
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise write_error(folder, e, "the synthetic frames cache") from e
        raise
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def _load(folder: Path) -> list[Tracklet]:
    _remove_leftovers(folder.parent)
    frames = np.load(folder / "frames.npy", mmap_mode="r")
    vis, flow = np.load(folder / "visibility.npy"), np.load(folder / "flow_truth.npy")
    out, start = [], 0
    for item in json.loads((folder / "index.json").read_text()):
        end = start + item["length"]
        out.append(
            Tracklet(
                item["pid"],
                item["camid"],
                frames[start:end],
                vis[start:end],
                flow[start:end],
                {**item["meta"], "cache": str(folder)},
            )
        )
        start = end
    if start != len(frames):
        raise ValueError(
            f"The synthetic cache {folder} is inconsistent: index.json lists {start} frames, "
            f"frames.npy has {len(frames)}. Delete that folder and it will be rebuilt."
        )
    return out
