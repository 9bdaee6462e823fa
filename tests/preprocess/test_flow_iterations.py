"""Iterative Lucas-Kanade: more iterations never make the flow worse, and one iteration is the single step."""

from itertools import pairwise

import cv2
import numpy as np
import pytest

import reidlib.preprocess as P
from reidlib.data import SyntheticReID
from reidlib.preprocess.flow import check_pair

# The fixed point of the iteration is not the exact truth (bilinear interpolation of `next` leaves an
# error of a few hundredths of a pixel); near it the error may wobble by this much, in pixels.
WOBBLE = 0.002


def smooth_deformation(angle_deg, zoom, shift, h=64, w=48, seed=0):
    """A band-limited texture (a sum of plane waves, evaluated exactly at any point) and its copy
    rotated by ``angle_deg`` and zoomed by ``zoom`` about the centre, then moved by ``shift``.
    Returns prev, next (float32 (H, W) in [0.1, 0.9]) and the true flow (H, W, 2) of every pixel of prev."""
    rng = np.random.default_rng(seed)
    freq = rng.normal(0, 1 / (4 * np.pi), (40, 2))  # cycles per pixel: a smooth texture (scale ~2 px)
    phase, amp = rng.uniform(0, 2 * np.pi, 40), rng.normal(0, 1, 40)
    texture = lambda x, y: sum(
        a * np.cos(2 * np.pi * (f[0] * x + f[1] * y) + ph) for f, ph, a in zip(freq, phase, amp, strict=True)
    )
    th = np.deg2rad(angle_deg)
    A = zoom * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    c, t = np.array([(w - 1) / 2, (h - 1) / 2]), np.asarray(shift, float)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    X = np.stack([xs, ys], axis=-1)
    truth = (X - c) @ (A - np.eye(2)).T + t  # prev's pixel x goes to A (x - c) + c + t
    src = (X - c - t) @ np.linalg.inv(A).T + c  # so next(y) = prev(A^-1 (y - c - t) + c)
    prev, next = texture(xs, ys), texture(src[..., 0], src[..., 1])
    lo, hi = prev.min(), prev.max()
    scale = lambda z: (0.1 + 0.8 * (z - lo) / (hi - lo)).astype(np.float32)
    return scale(prev), scale(next), truth


def shifted(dx, dy, seed=0):
    prev, next = P.shifted_textures(64, 48, dx, dy, seed=seed)
    return prev, next, np.array([dx, dy])


CASES = {
    "shift 0.36 px": lambda: shifted(0.3, -0.2),
    "shift 1.7 px": lambda: shifted(1.5, 0.7, seed=1),
    "shift 2.8 px": lambda: shifted(2.5, -1.2, seed=2),
    "rotation+zoom 0-0.9 px": lambda: smooth_deformation(1.0, 1.01, (0.3, -0.2)),
    "rotation+zoom 1.0-2.9 px": lambda: smooth_deformation(2.0, 1.03, (1.5, 1.0), seed=1),
    "rotation+zoom 0.7-3.7 px": lambda: smooth_deformation(-3.0, 0.97, (-1.5, 1.5), seed=2),
}


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["gaussian", "box"])
@pytest.mark.parametrize("case", CASES)
def test_more_iterations_never_increase_the_error(case, weights):
    prev, next, truth = CASES[case]()
    epe = [
        P.endpoint_error(P.lucas_kanade(prev, next, iterations=k, weights=weights), truth)[8:-8, 8:-8].mean()
        for k in range(1, 11)
    ]
    grew = [(k + 1, round(b - a, 4)) for k, (a, b) in enumerate(pairwise(epe), start=1) if b > a + WOBBLE]
    assert not grew, (grew, np.round(epe, 4))  # grew by more than WOBBLE at these iterations
    motion = np.hypot(*np.broadcast_to(truth, prev.shape + (2,))[8:-8, 8:-8].reshape(-1, 2).T)
    if motion.max() > 1:
        assert epe[-1] < epe[0] - WOBBLE, np.round(epe, 4)  # iterating pays off where the motion is large
    assert abs(epe[-1] - epe[-2]) < 1e-3  # and it has settled


def single_step_lucas_kanade(prev, next, window=9, levels=1, min_eig=1e-5):
    """The flow of one Lucas-Kanade step per pyramid level (``iterations=1``), written out whole:
    what lucas_kanade computed before the iterative update was fixed."""
    pyramid = [(prev, next)]
    for _ in range(levels):
        if min(pyramid[-1][0].shape) < 2 * window:
            break
        pyramid.append(tuple(cv2.pyrDown(z) for z in pyramid[-1]))
    flow = None
    for p, n in reversed(pyramid):
        h, w = p.shape
        if flow is None:
            flow = np.zeros((h, w, 2), np.float32)
        else:
            flow = np.stack([2 * cv2.resize(flow[..., i], (w, h), interpolation=cv2.INTER_LINEAR) for i in (0, 1)], -1)
        blur = lambda z: cv2.GaussianBlur(z, (window, window), window / 4)
        ix = cv2.Sobel(p, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
        iy = cv2.Sobel(p, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
        a, b, c = blur(ix * ix), blur(ix * iy), blur(iy * iy)
        ok = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b) > min_eig
        inv_det = np.divide(1, a * c - b * b, out=np.zeros_like(a), where=ok)
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        warped = cv2.remap(n, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        it = warped - p
        bp, bq = blur(ix * it), blur(iy * it)
        flow = np.stack([flow[..., 0] + (b * bq - c * bp) * inv_det, flow[..., 1] + (b * bp - a * bq) * inv_det], -1)
    return flow


def test_one_iteration_is_exactly_the_single_step_of_before():
    """The default (iterations=1) is what the benchmarks and chapters measured: bit for bit."""
    render = SyntheticReID(4, seq_len=(6, 6), seed=3).render(1, 0)
    grey = P.rgb_to_gray(render.frames)
    pairs = [P.shifted_textures(64, 48, 1.3, -0.7, seed=5)[:2], (grey[2], grey[3])]
    for prev, next in pairs:
        prev, next = check_pair(prev, next)  # float32 in [0, 1], as lucas_kanade sees them
        np.testing.assert_array_equal(P.lucas_kanade(prev, next), single_step_lucas_kanade(prev, next))
