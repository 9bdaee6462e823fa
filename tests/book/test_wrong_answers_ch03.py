"""check_dense_lk against right answers written in several legitimate ways, and against plausible
wrong ones (each must fail, for its own reason).

The right answers differ where the exercise leaves room: the gradient filter (Sobel / 8, central
differences, gradients of the mean frame or of the next frame) and the window's weights (a box,
or a Gaussian of the same size). The wrong ones each break one thing the exercise asks for.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reidlib.exercises import CheckFailed, check_dense_lk


def sobel(prev, next):
    ix = cv2.Sobel(np.float32(prev), cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    iy = cv2.Sobel(np.float32(prev), cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    return ix, iy, np.float32(next) - np.float32(prev)


def central(prev, next):
    p = np.float64(prev)
    ix, iy = np.zeros_like(p), np.zeros_like(p)
    ix[:, 1:-1] = (p[:, 2:] - p[:, :-2]) / 2
    iy[1:-1] = (p[2:] - p[:-2]) / 2
    return ix, iy, np.float64(next) - p


def mean_frame(prev, next):
    iy, ix = np.gradient((np.float64(prev) + next) / 2)
    return ix, iy, np.float64(next) - prev


def of_next(prev, next):
    return sobel(next, next)[:2] + (np.float32(next) - np.float32(prev),)


def forward(prev, next):
    p = np.float64(prev)
    ix, iy = np.zeros_like(p), np.zeros_like(p)
    ix[:, :-1] = p[:, 1:] - p[:, :-1]
    iy[:-1] = p[1:] - p[:-1]
    return ix, iy, np.float64(next) - p


def box(window, divide_by=None):
    if divide_by is None:
        return lambda z: cv2.boxFilter(np.float64(z), -1, (window, window))
    return lambda z: cv2.boxFilter(np.float64(z), -1, (window, window), normalize=False) / divide_by


def gaussian(window):
    return lambda z: cv2.GaussianBlur(np.float64(z), (window, window), window / 4)


def eigen_guard(a, b, c, min_eig):
    return (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b) > min_eig


def lucas_kanade(grads=sobel, weights=box, guard=eigen_guard, window_of=lambda w: w, min_eig_of=lambda m: m):
    """A single-step dense Lucas-Kanade; each argument changes one part of it."""

    def flow(prev, next, window=9, min_eig=1e-5):
        mean = weights(window_of(window))
        ix, iy, it = grads(prev, next)
        a, b, c, p, q = (mean(z) for z in (ix * ix, ix * iy, iy * iy, ix * it, iy * it))
        ok = guard(a, b, c, min_eig_of(min_eig))
        det = a * c - b * b
        det = np.where(ok & (det != 0), det, 1.0)
        u, v = np.where(ok, (b * q - c * p) / det, 0.0), np.where(ok, (b * p - a * q) / det, 0.0)
        return np.stack([u, v], -1).astype(np.float32)

    return flow


RIGHT = {
    "Sobel / 8, box window (chapter 3)": lucas_kanade(),
    "central differences": lucas_kanade(central),
    "gradients of the mean frame": lucas_kanade(mean_frame),
    "gradients of the next frame": lucas_kanade(of_next),
    "Gaussian window weights": lucas_kanade(weights=gaussian),
}

WRONG = {
    "forward differences (half a pixel off)": (
        lucas_kanade(forward),
        "median end-point error <= 0.1 px",
    ),
    "guard on the determinant": (
        lucas_kanade(guard=lambda a, b, c, m: a * c - b * b > m),
        "median end-point error <= 0.1 px",
    ),
    "guard on the trace": (lucas_kanade(guard=lambda a, b, c, m: a + c > m), "zero flow on stripes"),
    "guard on the largest eigenvalue": (
        lucas_kanade(guard=lambda a, b, c, m: (a + c) / 2 + np.sqrt(((a - c) / 2) ** 2 + b * b) > m),
        "zero flow on stripes",
    ),
    "window sums, not means": (
        lucas_kanade(weights=lambda w: box(w, divide_by=1)),
        "zero flow on a texture so faint",
    ),
    "divides by window, not window * window": (
        lucas_kanade(weights=lambda w: box(w, divide_by=w)),
        "zero flow on a texture so faint",
    ),
    "window read as a radius": (
        lucas_kanade(window_of=lambda w: 2 * w + 1),
        "one changed pixel of next moves the flow",
    ),
    "window fixed at 9": (lucas_kanade(window_of=lambda w: 9), "one changed pixel of next moves the flow"),
    "min_eig fixed at 1e-5": (
        lucas_kanade(min_eig_of=lambda m: 1e-5),
        "zero flow on a texture whose windows are all below min_eig = 0.01",
    ),
    "opposite direction": (
        lambda p, n, w, m: -lucas_kanade()(p, n, w, m),
        "the opposite direction",
    ),
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answers_pass(name):
    assert check_dense_lk(RIGHT[name])


@pytest.mark.parametrize("name", WRONG)
def test_wrong_answers_fail_for_their_reason(name):
    wrong, reason = WRONG[name]
    with pytest.raises(CheckFailed, match=reason):
        check_dense_lk(wrong)


def test_the_faint_textures_sit_where_the_check_says():
    """The check's comment: the smallest eigenvalue of the window means, by contrast."""
    from reidlib.preprocess.flow import shifted_textures

    prev, _ = shifted_textures(64, 48, 0.4, -0.3, seed=11)
    for contrast, lo, hi in [(1.0, 2e-4, 5e-3), (0.3, 2e-5, 5e-4), (0.03, 2e-7, 5e-6)]:
        ix, iy, _ = sobel(0.5 + contrast * (prev - 0.5), prev)
        mean = box(9)
        a, b, c = mean(ix * ix), mean(ix * iy), mean(iy * iy)
        lam = ((a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b))[10:-10, 10:-10]
        assert lo < lam.min() and lam.max() < hi, (contrast, lam.min(), lam.max())
