"""Raster shapes (chapter 2): soft-edged ellipses, capsules and boxes, and layers stacked back to front.

Each shape returns an alpha map in [0, 1]: 1 inside, 0 outside, a linear ramp one pixel wide
across the edge (anti-aliasing), so a shape moved by a fraction of a pixel changes the picture
by a fraction too. x is (1, 1, W), y is (1, H, 1), the geometry is a scalar or a (T, 1, 1)
array, and the result broadcasts to (T, H, W).

A layer is ``(rows, cols, alpha, colour)``: the alpha (T, len(rows), len(cols)) of a shape inside
the box of pixels it can reach (``rows``, ``cols``: slices of the frame), and its colour, (3,) or
(3, T, len(rows), len(cols)). Evaluating a shape only inside its box is what makes drawing fast.
"""

from __future__ import annotations

import numpy as np


def edge(distance):
    """Alpha from a signed distance (negative inside)."""
    return np.clip(0.5 - distance, 0.0, 1.0)


def soft_ellipse(x, y, cx, cy, rx, ry):
    """Alpha of the ellipse centred at (cx, cy) with radii (rx, ry), in pixels."""
    u, v = (x - cx) / rx, (y - cy) / ry
    return edge((np.sqrt(u * u + v * v) - 1.0) * np.minimum(rx, ry))


def soft_capsule(x, y, ax, ay, bx, by, r):
    """Alpha of the capsule (a thick segment) from (ax, ay) to (bx, by) with radius r."""
    px, py, dx, dy = x - ax, y - ay, bx - ax, by - ay
    h = np.clip((px * dx + py * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    ex, ey = px - dx * h, py - dy * h  # from the closest point on the segment
    return edge(np.sqrt(ex * ex + ey * ey) - r)


def soft_box(x, y, cx, cy, hx, hy, r=0.0):
    """Alpha of the box centred at (cx, cy), half sizes (hx, hy), corners rounded by r."""
    qx, qy = np.abs(x - cx) - (hx - r), np.abs(y - cy) - (hy - r)
    ox, oy = np.maximum(qx, 0.0), np.maximum(qy, 0.0)
    outside = np.sqrt(ox * ox + oy * oy)
    return edge(outside + np.minimum(np.maximum(qx, qy), 0.0) - r)


def pixel_axes(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel coordinates x (1, 1, width) and y (1, height, 1), float32."""
    return np.arange(width, dtype=np.float32)[None, None, :], np.arange(height, dtype=np.float32)[None, :, None]


def pixel_span(lo, hi, n: int, margin: int = 2) -> slice:
    """The indices 0 .. n-1 from the smallest ``lo`` to the largest ``hi`` (scalars or arrays), with a margin."""
    return slice(min(max(int(np.floor(np.min(lo))) - margin, 0), n), max(min(int(np.ceil(np.max(hi))) + margin, n), 0))


class Canvas:
    """Pixel coordinates x (1, 1, W) and y (1, H, 1) on which shapes become layers, each shape evaluated only
    inside the box of pixels its bounds reach (with :func:`pixel_span`'s margin)."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y

    def box(self, x_lo, x_hi, y_lo, y_hi):
        """The pixel box (rows, cols, ys, xs) covering these bounds."""
        rows, cols = pixel_span(y_lo, y_hi, self.y.shape[1]), pixel_span(x_lo, x_hi, self.x.shape[2])
        return rows, cols, self.y[:, rows], self.x[..., cols]

    def capsule(self, ax, ay, bx, by, r, colour) -> tuple:
        """The layer of :func:`soft_capsule`."""
        rows, cols, ys, xs = self.box(
            np.minimum(ax, bx) - r, np.maximum(ax, bx) + r, np.minimum(ay, by) - r, np.maximum(ay, by) + r
        )
        return rows, cols, soft_capsule(xs, ys, ax, ay, bx, by, r), colour

    def rect(self, cx, cy, hx, hy, r, colour) -> tuple:
        """The layer of :func:`soft_box`."""
        rows, cols, ys, xs = self.box(cx - hx, cx + hx, cy - hy, cy + hy)
        return rows, cols, soft_box(xs, ys, cx, cy, hx, hy, r), colour

    def ellipse(self, cx, cy, rx, ry) -> tuple:
        """(rows, cols, ys, alpha) of :func:`soft_ellipse`: its box holds the soft edge (wider than a pixel on
        the long axis), and ys lets a caller cut the ellipse by rows."""
        grow = 1.0 + 0.5 / np.minimum(rx, ry)
        rows, cols, ys, xs = self.box(cx - grow * rx, cx + grow * rx, cy - grow * ry, cy + grow * ry)
        return rows, cols, ys, soft_ellipse(xs, ys, cx, cy, rx, ry)


def composite(layers, shape: tuple[int, int, int]):
    """Stack layers back to front into frames of ``shape`` (T, H, W).

    Returns the premultiplied colour (3, T, H, W) and the total alpha (T, H, W). Only the box of
    pixels a layer covers is updated, in place."""
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


def coverage(layers, shape: tuple[int, int, int]) -> np.ndarray:
    """The total alpha (T, H, W) of layers as :func:`composite` stacks them, without their colours."""
    alpha = np.zeros(shape, np.float32)
    for rows, cols, a, _ in layers:
        box = alpha[:, rows, cols]
        box *= 1 - a
        box += a
    return alpha


def touches_border(alpha: np.ndarray) -> np.ndarray:
    """(n,) True where the alpha (n, H, W) reaches the first or last row or column (the shape may go on beyond)."""
    return (alpha[:, [0, -1]].max(axis=(1, 2)) > 0) | (alpha[:, :, [0, -1]].max(axis=(1, 2)) > 0)
