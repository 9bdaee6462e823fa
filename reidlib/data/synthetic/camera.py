"""A synthetic camera and its scene (chapter 2): the background a tracker's crop slides over, and the picture.

A camera is a scene (a wide, horizontally wrapping background), a lighting colour cast, a
brightness, a sensor noise and a blur of its own (:class:`Camera`). The crop of a tracker that
follows a person slides over the scene (:func:`slide_scene`); :func:`expose` turns the colour
planes of the crop into the camera's uint8 frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

from .colours import PALETTE, colour

SCENE_WIDTH = 512  # pixels of a scene, around which it wraps


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


def draw_camera(rng: np.random.Generator, camid: int, height: int) -> Camera:
    """Camera ``camid`` with a scene ``height`` pixels high, drawn from ``rng`` (the camera's own stream)."""
    return Camera(
        camid=camid,
        background=background(rng, height, SCENE_WIDTH),
        gain=(1 + rng.normal(0, 0.1, 3)).astype(np.float32),
        brightness=float(rng.uniform(0.75, 1.15)),
        noise=float(rng.uniform(2, 6)),
        blur=float(rng.choice([0.0, rng.uniform(0.5, 1.0)])),
        scale=float(rng.uniform(0.9, 1.05)),
    )


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A wide, horizontally periodic scene (H, width, 3): wall, floor, panels, texture."""
    y = np.arange(height, dtype=np.float32)[:, None, None]
    horizon = rng.uniform(0.55, 0.72) * height
    wall, floor = colour(rng, PALETTE, 25) * 0.6 + 60, colour(rng, PALETTE, 25) * 0.5 + 50
    shade = np.clip((y - horizon) / (height - horizon), 0, 1)  # floor gets darker nearer
    bg = np.where(y < horizon, wall, floor * (1.0 - 0.3 * shade)) * np.ones((1, width, 1), np.float32)
    for _ in range(rng.integers(6, 12)):  # doors, windows, posters
        x0, w = rng.integers(0, width), rng.integers(8, 60)
        y0 = rng.uniform(0.05, 0.5) * height
        y1 = min(horizon, y0 + rng.uniform(0.2, 0.6) * height)
        cols = np.arange(x0, x0 + w) % width
        bg[int(y0) : int(y1), cols] = colour(rng, PALETTE, 30) * 0.7 + 40
    texture = gaussian_filter(rng.normal(0, 1, (height, width)), 1.5, mode="wrap") * 18
    texture += rng.normal(0, 4, (height, width))
    return np.clip(bg + texture[..., None], 0, 255).astype(np.float32)


def scene_planes(camera: Camera, crop_width: int) -> np.ndarray:
    """The camera's background as colour planes (3, H, Wb + crop_width + 1), its first crop_width + 1 columns
    repeated at the end so that every crop of the wrapping scene is a slice."""
    bg = camera.background
    return np.ascontiguousarray(np.concatenate([bg, bg[:, : crop_width + 1]], 1).transpose(2, 0, 1))


def slide_scene(scene: np.ndarray, offsets: np.ndarray, size: tuple[int, int], box=None) -> np.ndarray:
    """The scene under the crop of each frame (3, T, H, W): ``scene`` from :func:`scene_planes`, ``offsets`` (T,)
    the crop's left edge in the scene (sub-pixel shifts by linear interpolation). In the frames ``box.frames``
    of a tracker's box (``left``, ``top``, ``scale`` per frame, relative to the crop) the scene under the box."""
    H, W = size
    wb = scene.shape[2] - W - 1  # the scene's own width
    img = np.empty((3, len(offsets), H, W), np.float32)
    for k, o in enumerate(offsets):
        i, f = int(np.floor(o)), np.float32(o - np.floor(o))
        strip = scene[:, :, i % wb : i % wb + W + 1]  # (3, H, W+1)
        np.multiply(strip[..., :-1], 1 - f, out=img[:, k])
        img[:, k] += strip[..., 1:] * f
    if box is not None:
        for k, left, top, scale in zip(
            range(box.frames.start, box.frames.stop), box.left, box.top, box.scale, strict=True
        ):
            img[:, k] = resample(scene[:, :, :wb], offsets[k] + left, top, scale, W)
    return img


def resample(scene: np.ndarray, left: float, top: float, scale: float, width: int) -> np.ndarray:
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


def expose(img: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """The camera's picture of the scene's colour planes img (3, T, H, W), changed in place: its light,
    blur and sensor noise -> uint8 frames (T, H, W, 3)."""
    _, T, H, W = img.shape
    light = camera.gain * camera.brightness * rng.uniform(0.93, 1.07)
    img *= light[:, None, None, None].astype(np.float32)
    if camera.blur > 0:
        planes = img.reshape(3 * T, H, W)
        for k in range(len(planes)):
            planes[k] = cv2.GaussianBlur(planes[k], (0, 0), camera.blur)
    # Sensor noise, uniform with std camera.noise: 256 levels drawn as random bytes (std low by 8e-6 relative).
    amp = np.float32(camera.noise * np.sqrt(12))  # width of the uniform
    noise = np.frombuffer(rng.bytes(T * H * W * 3), np.uint8).reshape(T, H, W, 3) * (amp / 256)  # float32
    noise += amp * (0.5 / 256 - 0.5)
    noise += img.transpose(1, 2, 3, 0)  # back to (T, H, W, 3)
    return np.clip(np.rint(noise, out=noise), 0, 255, out=noise).astype(np.uint8)
