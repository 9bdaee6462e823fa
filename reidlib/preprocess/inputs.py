"""From a tracklet's RGB frames to the network input: (T, 5, 56, 40) float32 (chapter 3).

Channels, in order: Y, U, V (each standardised per frame), then the horizontal (u)
and vertical (v) optical flow, scaled (see :func:`scale_flow`). Frames are first
resized to 64 x 48 (h x w); training takes one random 56 x 40 crop and one random
horizontal flip for the whole sequence, testing takes the centre crop.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..data.sampling import load_frames
from .color import as_float_rgb, rgb_to_yuv, standardize
from .flow import compute_flow

FRAME_SIZE = (64, 48)  # (h, w) after resizing
CROP_SIZE = (56, 40)  # (h, w) of the network input
FLOW_SCALE = 1.0  # pixels (of the 64 x 48 frame) per unit of the flow channels
FLOW_CLIP = 4.0  # flow channels are clipped to [-FLOW_CLIP, FLOW_CLIP]


def channels(use_flow: bool) -> int:
    """Input channels per frame: 5 (Y, U, V, horizontal and vertical flow) or 3 (Y, U, V)."""
    return 5 if use_flow else 3


def mirror(x: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Mirror prepared frames (..., C, H, W) left-right, a numpy array or a tensor (a new one).

    A mirror also mirrors the motion: with optical flow (C = 5) the horizontal flow (channel 3)
    changes sign; the vertical flow and the colours only move with their pixels.
    """
    out = x.flip(-1) if isinstance(x, torch.Tensor) else x[..., ::-1].copy()
    if out.shape[-3] == channels(True):
        out[..., 3, :, :] *= -1  # u points the other way in a mirror
    return out


def resize_frames(frames: np.ndarray, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """RGB frames (T, H, W, 3), uint8 or float in [0, 1] -> float32 (T, h, w, 3) in [0, 1] (area averaging)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(
            f"expected a sequence of at least one RGB frame (T, H, W, 3); found shape {frames.shape}. "
            "Add a time axis with frames[None] for a single frame; convert grey or RGBA to RGB."
        )
    if frames.dtype != np.uint8:
        frames = as_float_rgb(frames)  # checks dtype, NaN and range
    h, w = size
    small = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in frames])
    return as_float_rgb(small)


def sequence_flow(gray: np.ndarray, method: str = "lk", **flow_kw) -> np.ndarray:
    """Raw flow of a grey sequence (T, H, W) -> (T, H, W, 2) float32 pixels.

    Frame t >= 1 carries the flow from frame t-1 to frame t (on the grid of frame t-1,
    the same convention as ``Tracklet.flow_truth``). Frame 0 has no predecessor: it gets
    a copy of frame 1's flow, the motion it takes part in, rather than a fake "no motion".
    """
    if gray.ndim != 3 or len(gray) < 2:
        raise ValueError(
            f"optical flow needs a sequence of at least 2 grey frames (T, H, W); found shape "
            f"{gray.shape}. Use longer tracklets, or pass use_flow=False for colour only."
        )
    flow = np.empty(gray.shape + (2,), np.float32)
    for t in range(1, len(gray)):
        flow[t] = compute_flow(gray[t - 1], gray[t], method, **flow_kw)
    flow[0] = flow[1]
    return flow


def scale_flow(flow: np.ndarray, scale: float = FLOW_SCALE, clip: float = FLOW_CLIP) -> np.ndarray:
    """Flow in pixels (..., 2) -> flow channels: ``clip(flow / scale, -clip, clip)``, float32.

    A fixed scale (not per-frame statistics) keeps the meaning of "still" and "fast"
    the same in every frame and every video; the clip bounds the rare wild estimate.
    """
    return np.clip(np.asarray(flow, np.float32) / np.float32(scale), -clip, clip)


def prepare_sequence(
    frames: np.ndarray,
    flow_method: str = "lk",
    use_flow: bool = True,
    flow_scale: float = FLOW_SCALE,
    flow_clip: float = FLOW_CLIP,
    **flow_kw,
) -> np.ndarray:
    """RGB frames (T, H, W, 3) -> float32 (T, C, 64, 48), C = 5 (YUV + flow) or 3 (``use_flow=False``).

    Resized, converted to YUV and standardised per frame and channel; flow from
    :func:`sequence_flow` on the luma Y, scaled by :func:`scale_flow`. Not yet cropped.
    """
    small = resize_frames(frames)  # (T, 64, 48, 3) RGB in [0, 1]
    yuv = rgb_to_yuv(small)  # (T, 64, 48, 3)
    out = np.empty((len(yuv), channels(use_flow)) + FRAME_SIZE, np.float32)
    out[:, :3] = standardize(yuv.transpose(0, 3, 1, 2), channel_axis=1)
    if use_flow:
        flow = sequence_flow(np.ascontiguousarray(yuv[..., 0]), flow_method, **flow_kw)  # (T, 64, 48, 2)
        out[:, 3:] = scale_flow(flow, flow_scale, flow_clip).transpose(0, 3, 1, 2)
    return out


def crop_and_flip(x: np.ndarray, train: bool, rng: np.random.Generator | None = None) -> np.ndarray:
    """(T, C, 64, 48) -> (T, C, 56, 40) float32, a new array.

    Test (``train=False``): the centre crop. Training: one random crop and, with
    probability 1/2, a horizontal flip, both the same for every frame of the sequence;
    a flip mirrors the motion too (:func:`mirror`).
    """
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[1] not in (channels(False), channels(True)) or x.shape[2:] != FRAME_SIZE:
        raise ValueError(
            f"expected a prepared sequence (T, 3 or 5, {FRAME_SIZE[0]}, {FRAME_SIZE[1]}); found shape "
            f"{x.shape}. Make it with prepare_sequence."
        )
    (h, w), (ch, cw) = FRAME_SIZE, CROP_SIZE
    if not train:
        top, left, flip = (h - ch) // 2, (w - cw) // 2, False
    else:
        if rng is None:
            raise ValueError("a training crop is random: pass rng=np.random.default_rng(seed); found rng=None.")
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        flip = bool(rng.random() < 0.5)
    out = np.array(x[:, :, top : top + ch, left : left + cw], dtype=np.float32)  # (T, C, 56, 40) copy
    return mirror(out) if flip else out


def make_input(
    tracklet,
    train: bool = False,
    rng: np.random.Generator | None = None,
    use_flow: bool = True,
    flow_method: str = "lk",
    indices: np.ndarray | None = None,
    **flow_kw,
) -> torch.Tensor:
    """A tracklet -> network input torch.float32 (T, C, 56, 40), C = 5 or 3.

    ``indices`` (optional) selects frames after the flow is computed on the whole
    tracklet, so every kept frame carries the motion of its true neighbours.
    """
    x = prepare_sequence(load_frames(tracklet), flow_method, use_flow, **flow_kw)
    if indices is not None:
        x = x[np.asarray(indices)]
    return torch.from_numpy(crop_and_flip(x, train, rng))
