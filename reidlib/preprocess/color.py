"""Colour: RGB -> YUV (BT.601) and per-frame, per-channel standardisation (chapter 3).

Frames are channels-last, like the data: (T, H, W, 3) or one frame (H, W, 3).
"""

from __future__ import annotations

import cv2
import numpy as np

# Analog YUV of ITU-R BT.601: Y = 0.299 R + 0.587 G + 0.114 B, U = 0.492 (B - Y),
# V = 0.877 (R - Y). With R, G, B in [0, 1]: Y in [0, 1], U in [-0.436, 0.436],
# V in [-0.615, 0.615]. Rows give Y, U, V as combinations of R, G, B.
_Y = np.array([0.299, 0.587, 0.114])
RGB_TO_YUV = np.stack([_Y, 0.492 * (np.array([0, 0, 1]) - _Y), 0.877 * (np.array([1, 0, 0]) - _Y)]).astype(np.float32)


def as_float_rgb(frames: np.ndarray) -> np.ndarray:
    """Check RGB frames (..., H, W, 3) and return them as float32 in [0, 1].

    uint8 frames are divided by 255; float frames must already lie in [0, 1].
    """
    frames = np.asarray(frames)
    if frames.ndim < 3 or frames.shape[-1] != 3:
        raise ValueError(
            f"expected RGB frames of shape (T, H, W, 3) or (H, W, 3); found shape {frames.shape}. "
            "Convert grey or RGBA images to RGB first (e.g. cv2.cvtColor)."
        )
    if frames.dtype == np.uint8:
        return frames.astype(np.float32) / np.float32(255)
    if not np.issubdtype(frames.dtype, np.floating):
        raise TypeError(
            f"expected uint8 frames (0-255) or float frames in [0, 1]; found dtype {frames.dtype}. "
            "Cast with frames.astype(np.uint8) if the values are 0-255."
        )
    if not np.all(np.isfinite(frames)):
        raise ValueError("the frames contain NaN or inf; found a non-finite pixel. Fix or drop the broken frames.")
    lo, hi = float(frames.min()), float(frames.max())
    if lo < 0 or hi > 1:
        raise ValueError(
            f"float frames must lie in [0, 1]; found values in [{lo:g}, {hi:g}]. Pass uint8 frames, or divide by 255."
        )
    return frames.astype(np.float32, copy=False)


def rgb_to_yuv(frames: np.ndarray) -> np.ndarray:
    """RGB (..., H, W, 3), uint8 or float in [0, 1] -> YUV float32 (..., H, W, 3), BT.601."""
    rgb = as_float_rgb(frames)
    return cv2.transform(rgb.reshape(-1, rgb.shape[-2], 3), RGB_TO_YUV).reshape(rgb.shape)  # RGB_TO_YUV @ each pixel


def rgb_to_gray(frames: np.ndarray) -> np.ndarray:
    """RGB (..., H, W, 3) -> luma Y float32 (..., H, W) in [0, 1]: the image optical flow sees."""
    return as_float_rgb(frames) @ RGB_TO_YUV[0]


def standardize(x: np.ndarray, eps: float = 1e-6, channel_axis: int = -1) -> np.ndarray:
    """Zero mean, unit variance per frame and per channel; float32, same shape and layout.

    ``x`` is channels-last (..., H, W, C) like the frames (``channel_axis=-1``), or
    channels-first (..., C, H, W) with ``channel_axis=-3``. Statistics are taken over H
    and W. A constant channel (std < eps) becomes all zeros instead of NaN or inf.
    """
    x = np.asarray(x)
    x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float32)  # float64 stays exact
    if x.ndim < 3:
        raise ValueError(
            f"expected images with a channel axis, (..., H, W, C) or (..., C, H, W); found shape "
            f"{x.shape}. Add a channel axis with x[..., None] for one-channel images."
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("standardize got NaN or inf; expected finite values. Check the input frames.")
    chw = np.ascontiguousarray(np.moveaxis(x, channel_axis, -3))  # (..., C, H, W)
    flat = chw.reshape(chw.shape[:-2] + (-1,))  # (..., C, H*W)
    mean, std = flat.mean(-1, keepdims=True), flat.std(-1, keepdims=True)
    out = (flat - mean) / np.where(std < eps, np.inf, std)  # a constant channel: 0 / inf = 0
    return np.moveaxis(out.reshape(chw.shape).astype(np.float32, copy=False), -3, channel_axis)
