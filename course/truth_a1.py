"""Hidden tests of assignment A1: dense Lucas-Kanade, step by step. Autograder only (see grading.py).

Truths: exact derivatives of quadratic images, window means by explicit loops, 2 x 2 systems
solved by numpy with the eigenvalue guard, and textures moved by exact sub-pixel shifts (made
here, by a Fourier phase ramp, independently of reidlib).
"""

from __future__ import annotations

import numpy as np
from grading import call


def textures(h, w, dx, dy, seed, sigma=2.0):
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    spec = np.fft.fft2(rng.standard_normal((h, w))) * np.exp(-2 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    a, b = np.fft.ifft2(spec).real, np.fft.ifft2(spec * np.exp(-2j * np.pi * (fx * dx + fy * dy))).real
    lo, hi = a.min(), a.max()
    return [np.float32(np.clip(0.1 + 0.8 * (z - lo) / (hi - lo), 0, 1)) for z in (a, b)]


def _arrays(name, got, n, shape):
    assert isinstance(got, (tuple, list)) and len(got) == n, f"{name}: expected {n} arrays, got {type(got).__name__}"
    got = [np.asarray(g, dtype=np.float64) for g in got]
    for g in got:
        assert g.shape == shape, f"{name}: expected arrays of shape {shape}, got {g.shape}"
    return got


def check_gradients(image_gradients) -> None:
    y, x = np.mgrid[0:20, 0:16].astype(np.float64)
    prev = 0.002 * x**2 + 0.003 * x * y - 0.001 * y**2 + 0.01 * x - 0.02 * y + 0.5
    nxt = prev + 0.01 * x - 0.005 * y + 0.02
    want = (0.004 * x + 0.003 * y + 0.01, 0.003 * x - 0.002 * y - 0.02, nxt - prev)
    got = _arrays(
        "image_gradients", call("image_gradients", image_gradients, np.float32(prev), np.float32(nxt)), 3, prev.shape
    )
    for label, w, g, tol in zip(("ix", "iy", "it"), want, got, (1e-4, 1e-4, 1e-5)):
        err = np.abs(w - g)[1:-1, 1:-1].max()
        assert err < tol, f"image_gradients ({label}): off by up to {err:.3g} away from the border"


def _means(z, window):
    r, out = window // 2, np.full(z.shape, np.nan)
    for i in range(r, z.shape[0] - r):
        for j in range(r, z.shape[1] - r):
            out[i, j] = z[i - r : i + r + 1, j - r : j + r + 1].mean()
    return out


def check_structure_tensor(structure_tensor) -> None:
    rng = np.random.default_rng(33)
    for window in (3, 5, 9):
        ix, iy = np.float32(rng.normal(size=(15, 12))), np.float32(rng.normal(size=(15, 12)))
        got = _arrays(
            "structure_tensor", call("structure_tensor", structure_tensor, ix.copy(), iy.copy(), window), 3, ix.shape
        )
        r = window // 2
        for label, prod, g in zip("abc", (ix * ix, ix * iy, iy * iy), got):
            want = _means(prod.astype(np.float64), window)[r:-r, r:-r]
            assert np.allclose(g[r:-r, r:-r], want, atol=1e-4, rtol=1e-3), (
                f"structure_tensor ({label}, window {window}): not the window mean of the product"
            )


def _solve_truth(a, b, c, p, q, min_eig):
    m = np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2)
    ok = np.linalg.eigvalsh(m)[..., 0] > min_eig
    m = np.where(ok[..., None, None], m, np.eye(2))
    sol = np.linalg.solve(m, -np.stack([p, q], -1)[..., None])[..., 0]
    return np.where(ok, sol[..., 0], 0.0), np.where(ok, sol[..., 1], 0.0)


def check_solve(solve_2x2) -> None:
    rng = np.random.default_rng(5)
    g = rng.normal(size=(7, 6, 2, 3))
    m = g @ g.transpose(0, 1, 3, 2)
    m[0, 0], m[0, 1], m[0, 2] = [[100, 0], [0, 1e-4]], [[0.01, 0], [0, 0.01]], [[2, 0], [0, 1]]
    rhs = rng.normal(size=(7, 6, 2))
    for min_eig in (1e-3, 1.0):
        a, b, c, p, q = m[..., 0, 0], m[..., 0, 1], m[..., 1, 1], rhs[..., 0], rhs[..., 1]
        want = _solve_truth(a, b, c, p, q, min_eig)
        got = _arrays(
            "solve_2x2",
            call("solve_2x2", solve_2x2, a.copy(), b.copy(), c.copy(), p.copy(), q.copy(), min_eig),
            2,
            a.shape,
        )
        for label, w, gg in zip("uv", want, got):
            assert np.all(np.isfinite(gg)), f"solve_2x2 ({label}): NaN or inf (the guard)"
            assert np.allclose(gg, w, atol=1e-6, rtol=1e-5), (
                f"solve_2x2 ({label}, min_eig {min_eig}): wrong at {int((~np.isclose(gg, w, atol=1e-6)).sum())} pixels "
                "(the sign, the inverse, or the guard on the smallest eigenvalue)"
            )


def _median_error(flow, d, margin):
    return float(np.median(np.linalg.norm(np.asarray(flow)[margin:-margin, margin:-margin] - np.asarray(d), axis=-1)))


def _flow(name, fn, prev, nxt, *args):
    flow = np.asarray(call(name, fn, prev.copy(), nxt.copy(), *args), dtype=np.float64)
    assert flow.shape == prev.shape + (2,), f"{name}: expected a flow of shape {prev.shape + (2,)}, got {flow.shape}"
    assert np.all(np.isfinite(flow)), f"{name}: NaN or inf in the flow"
    return flow


def check_dense(dense_lucas_kanade) -> None:
    for d, seed in [((0.35, -0.45), 51), ((-0.6, 0.25), 52), ((0.15, 0.75), 53)]:
        prev, nxt = textures(64, 48, *d, seed)
        err = _median_error(_flow("dense_lucas_kanade", dense_lucas_kanade, prev, nxt, 9, 1e-5), d, 10)
        assert err <= 0.1, f"dense_lucas_kanade: median end-point error {err:.3f} px for a shift of {d} px (<= 0.1)"
    flat = np.full((40, 32), 0.5, np.float32)
    moved = _flow("dense_lucas_kanade", dense_lucas_kanade, flat, flat + 0.1, 9, 1e-5)
    assert np.abs(moved).max() == 0, "dense_lucas_kanade: a textureless image must give zero flow (the guard)"


def check_pyramid(pyramid_lucas_kanade) -> None:
    cases = [((2.2, -1.7), 61, 0.3), ((-2.8, 2.4), 62, 0.3), ((0.4, 0.35), 63, 0.15)]
    cases += [((8.0, -3.0), 41, 0.75), ((-8.0, 2.5), 44, 0.75), ((2.5, 8.0), 45, 0.75)]
    for d, seed, tol in cases:
        h, w, margin = (96, 80, 12) if tol < 0.75 else (128, 96, 16)
        prev, nxt = textures(h, w, *d, seed)
        err = _median_error(_flow("pyramid_lucas_kanade", pyramid_lucas_kanade, prev, nxt), d, margin)
        assert err <= tol, (
            f"pyramid_lucas_kanade: median end-point error {err:.3f} px for a shift of {d} px (<= {tol}); "
            "iterate with warping on every level, and double the flow going to a finer level"
        )
