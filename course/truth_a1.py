"""Hidden tests of assignment A1: a Lucas-Kanade variant, step by step. Autograder only (see grading.py).

The variant: five-point derivatives of the mean of the two frames, tent-weighted window means,
a truncated pseudo-inverse solve (the normal flow on edges), and a pyramid with any scale factor.
Truths, written here independently of reidlib: exact derivatives of polynomial images, window
means by explicit loops, per-pixel eigen-decompositions, and images whose motion is known
exactly: textures moved by a Fourier phase ramp (sub-pixel translations), sums of cosines
evaluated at warped coordinates (a rotation with a zoom), diagonal stripes (the normal flow).
"""

from __future__ import annotations

import numpy as np
from grading import call


# ---------------------------------------------------------------- images with known motion
def textures(h, w, dx, dy, seed, sigma=2.0):
    """A smooth periodic texture and its copy moved by exactly (dx, dy) px."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    spec = np.fft.fft2(rng.standard_normal((h, w))) * np.exp(-2 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    a, b = np.fft.ifft2(spec).real, np.fft.ifft2(spec * np.exp(-2j * np.pi * (fx * dx + fy * dy))).real
    lo, hi = a.min(), a.max()
    return [np.float32(np.clip(0.1 + 0.8 * (z - lo) / (hi - lo), 0, 1)) for z in (a, b)]


def _cosines(seed, n=300, spread=0.08, dims=2):
    rng = np.random.default_rng(seed)
    return rng.normal(0, spread, (n, dims)), rng.uniform(0, 2 * np.pi, n)


def _paint(freqs, phases, *coords):
    z = sum(np.multiply.outer(c, f) for c, f in zip(coords, freqs.T))
    return np.cos(2 * np.pi * z + phases).sum(-1)


def _scaled(*images):
    lo, hi = images[0].min(), images[0].max()
    return [np.float32(0.1 + 0.8 * (z - lo) / (hi - lo)) for z in images]


def zoomed(h, w, scale, degrees, shift, seed):
    """prev, next and the true flow of a texture rotated and zoomed about the centre, then moved:
    the point x of prev goes to A (x - centre) + centre + shift in next."""
    freqs, phases = _cosines(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    t = np.radians(degrees)
    a = scale * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    rel = np.stack([xs, ys], -1) - centre
    back = (rel - shift) @ np.linalg.inv(a).T  # where a pixel of next came from, relative to the centre
    prev, nxt = _scaled(_paint(freqs, phases, xs, ys), _paint(freqs, phases, *(back + centre).transpose(2, 0, 1)))
    return prev, nxt, rel @ (a - np.eye(2)).T + shift


def stripes(h, w, along, seed):
    """Diagonal stripes prev(x, y) = f(x + y), moved by ``along`` px along the diagonal (1, 1) / sqrt 2.
    Only that component can be seen: the flow is the normal flow (along, along) / sqrt 2."""
    freqs, phases = _cosines(seed, spread=0.05, dims=1)
    s = np.add.outer(np.arange(h), np.arange(w)).astype(np.float64)
    return _scaled(_paint(freqs, phases, s), _paint(freqs, phases, s - np.sqrt(2) * along))


# ---------------------------------------------------------------- the truth of each step
def _five_point(z, axis):
    """(z[k - 2] - 8 z[k - 1] + 8 z[k + 1] - z[k + 2]) / 12 along ``axis``; NaN within 2 px of its ends."""
    z = np.moveaxis(np.asarray(z, np.float64), axis, 0)
    out = np.full(z.shape, np.nan)
    out[2:-2] = (z[:-4] - 8 * z[1:-3] + 8 * z[3:-1] - z[4:]) / 12
    return np.moveaxis(out, 0, axis)


def _tent_means(z, window):
    """The tent-weighted mean over the window around each pixel, by explicit loops; NaN near the border."""
    r = window // 2
    taps = r + 1 - np.abs(np.arange(-r, r + 1))
    weights = np.outer(taps, taps) / taps.sum() ** 2
    out = np.full(z.shape, np.nan)
    for i in range(r, z.shape[0] - r):
        for j in range(r, z.shape[1] - r):
            out[i, j] = (weights * z[i - r : i + r + 1, j - r : j + r + 1]).sum()
    return out


def _solve_truth(a, b, c, p, q, min_eig):
    """Per pixel: the sum over eigenpairs (lam, e) of M with lam > min_eig of (e . -(p, q)) / lam * e."""
    u, v = np.zeros(np.shape(a)), np.zeros(np.shape(a))
    for idx in np.ndindex(np.shape(a)):
        lams, vecs = np.linalg.eigh(np.array([[a[idx], b[idx]], [b[idx], c[idx]]]))
        rhs = -np.array([p[idx], q[idx]])
        kept = [(lam, e) for lam, e in zip(lams, vecs.T) if lam > min_eig]
        u[idx], v[idx] = sum((e * (e @ rhs) / lam for lam, e in kept), np.zeros(2))
    return u, v


def _lk_truth(prev, nxt, window, min_eig):
    mean = (np.float64(prev) + np.float64(nxt)) / 2
    ix, iy, it = _five_point(mean, 1), _five_point(mean, 0), np.float64(nxt) - np.float64(prev)
    sums = [np.nan_to_num(_tent_means(z, window)) for z in (ix * ix, ix * iy, iy * iy, ix * it, iy * it)]
    return np.stack(_solve_truth(*sums, min_eig), -1)


# ---------------------------------------------------------------- helpers
def _arrays(name, got, n, shape):
    assert isinstance(got, (tuple, list)) and len(got) == n, f"{name}: expected {n} arrays, got {type(got).__name__}"
    got = [np.asarray(g, dtype=np.float64) for g in got]
    for g in got:
        assert g.shape == shape, f"{name}: expected arrays of shape {shape}, got {g.shape}"
    return got


def _flow(name, fn, prev, nxt, *args):
    flow = np.asarray(call(name, fn, prev.copy(), nxt.copy(), *args), dtype=np.float64)
    assert flow.shape == prev.shape + (2,), f"{name}: expected a flow of shape {prev.shape + (2,)}, got {flow.shape}"
    assert np.all(np.isfinite(flow)), f"{name}: NaN or inf in the flow"
    return flow


def _median_error(flow, truth, margin):
    inner = (slice(margin, -margin), slice(margin, -margin))
    truth = np.asarray(truth)
    return float(np.median(np.linalg.norm(flow[inner] - (truth[inner] if truth.ndim == 3 else truth), axis=-1)))


# ---------------------------------------------------------------- the checks
def check_gradients(image_gradients) -> None:
    """Polynomials of degree 4 (five-point differences are exact for them, three-point ones are not);
    next - prev is not constant, so the gradient of prev alone is not that of the mean."""
    y, x = np.mgrid[0:24, 0:20].astype(np.float64)
    s, t = (x - 10) / 8, (y - 12) / 8
    prev = 0.5 + 0.1 * s - 0.05 * t + 0.03 * s * t + 0.04 * s**3 - 0.03 * t**3 + 0.02 * s * t**2 + 0.01 * s**4
    nxt = prev + 0.02 + 0.04 * s - 0.03 * t + 0.02 * s**2 * t
    mean_x = 0.1 + 0.03 * t + 0.12 * s**2 + 0.02 * t**2 + 0.04 * s**3 + (0.04 + 0.04 * s * t) / 2
    mean_y = -0.05 + 0.03 * s - 0.09 * t**2 + 0.04 * s * t + (-0.03 + 0.02 * s**2) / 2
    want = (mean_x / 8, mean_y / 8, nxt - prev)  # d/dx = d/ds / 8
    got = _arrays(
        "image_gradients", call("image_gradients", image_gradients, np.float32(prev), np.float32(nxt)), 3, prev.shape
    )
    for label, w, g, tol in zip(("ix", "iy", "it"), want, got, (2e-5, 2e-5, 1e-6)):
        err = np.abs(w - g)[2:-2, 2:-2].max()
        assert err < tol, f"image_gradients ({label}): off by up to {err:.3g} two pixels or more from the border"


def check_structure_tensor(structure_tensor) -> None:
    rng = np.random.default_rng(33)
    for window in (3, 5, 9):
        ix, iy, it = (np.float32(rng.normal(size=(15, 12))) for _ in range(3))
        got = call("structure_tensor", structure_tensor, ix.copy(), iy.copy(), it.copy(), window)
        got = _arrays("structure_tensor", got, 5, ix.shape)
        r = window // 2
        inner = (slice(r, -r), slice(r, -r))
        products = (ix * ix, ix * iy, iy * iy, ix * it, iy * it)
        for label, prod, g in zip("abcpq", products, got):
            want = _tent_means(prod.astype(np.float64), window)[inner]
            assert np.allclose(g[inner], want, atol=1e-5, rtol=1e-4), (
                f"structure_tensor ({label}, window {window}): not the tent-weighted window mean of the product"
            )


def check_solve(solve_2x2) -> None:
    rng = np.random.default_rng(5)
    g = rng.normal(size=(7, 6, 2, 3))
    m = g @ g.transpose(0, 1, 3, 2)
    e = np.array([0.6, 0.8])
    m[0, 0] = 100 * np.outer(e, e) + 1e-4 * np.outer([0.8, -0.6], [0.8, -0.6])  # an edge along (0.8, -0.6)
    m[0, 1], m[0, 2], m[0, 3] = [[0.01, 0], [0, 0.01]], [[2, 0], [0, 1]], np.zeros((2, 2))
    m[0, 4] = 5 * np.outer([1, -1], [1, -1]) / 2  # exactly singular
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
            assert np.all(np.isfinite(gg)), f"solve_2x2 ({label}): NaN or inf (guard the small eigenvalues)"
            bad = ~np.isclose(gg, w, atol=1e-6, rtol=1e-5)
            assert not bad.any(), (
                f"solve_2x2 ({label}, min_eig {min_eig}): wrong at {int(bad.sum())} of {bad.size} pixels "
                "(the sign, the eigenvalues kept, or the normal flow where only one is kept)"
            )


def check_dense(dense_lucas_kanade) -> None:
    # The steps together, pixel by pixel, on a moved texture with camera noise, for two windows.
    prev, nxt = textures(40, 36, 0.6, -0.35, 50)
    nxt = np.float32(nxt + 0.01 * np.random.default_rng(50).normal(size=nxt.shape))
    for window in (5, 9):
        got = _flow("dense_lucas_kanade", dense_lucas_kanade, prev, nxt, window, 1e-5)
        m = window // 2 + 2
        want = _lk_truth(prev, nxt, window, 1e-5)[m:-m, m:-m]
        agree = np.mean(np.linalg.norm(got[m:-m, m:-m] - want, axis=-1) < 1e-3)
        assert agree >= 0.98, (
            f"dense_lucas_kanade (window {window}): the flow of parts 1 to 3 put together at only "
            f"{agree:.0%} of the pixels (the steps, the window, or the sign)"
        )
    for d, seed in [((0.35, -0.45), 51), ((-0.6, 0.25), 52), ((0.15, 0.75), 53)]:
        prev, nxt = textures(64, 48, *d, seed)
        err = _median_error(_flow("dense_lucas_kanade", dense_lucas_kanade, prev, nxt, 9, 1e-5), d, 10)
        assert err <= 0.04, f"dense_lucas_kanade: median end-point error {err:.3f} px for a shift of {d} px (<= 0.04)"
    for along, seed in [(0.5, 54), (-0.7, 55)]:
        prev, nxt = stripes(40, 40, along, seed)
        err = _median_error(_flow("dense_lucas_kanade", dense_lucas_kanade, prev, nxt, 9, 1e-5), along / np.sqrt(2), 8)
        assert err <= 0.02, (
            f"dense_lucas_kanade: on diagonal stripes moved by {along} px across them the flow should be that "
            f"normal flow; median end-point error {err:.3f} px (<= 0.02)"
        )
    flat = np.full((40, 32), 0.5, np.float32)
    moved = _flow("dense_lucas_kanade", dense_lucas_kanade, flat, flat + 0.1, 9, 1e-5)
    assert np.abs(moved).max() == 0, "dense_lucas_kanade: a textureless image must give zero flow (the guard)"


def check_pyramid(pyramid_lucas_kanade, dense_lucas_kanade) -> None:
    name = "pyramid_lucas_kanade"
    prev, nxt = textures(48, 40, 0.4, 0.3, 60)
    got = _flow(name, pyramid_lucas_kanade, prev, nxt, 7, 0, 1, 0.5)
    one = np.asarray(call("dense_lucas_kanade", dense_lucas_kanade, prev.copy(), nxt.copy(), 7), np.float64)
    assert np.allclose(got, one, atol=1e-4), (
        f"{name}(prev, next, window=7, levels=0, iterations=1): should be one step, dense_lucas_kanade(prev, next, 7)"
    )
    cases = [  # (shift, seed, window, levels, iterations, factor, tolerance)
        ((1.8, -1.2), 61, 9, 0, 6, 0.5, 0.1),  # one level: the iterations, with warping
        ((10.0, -4.0), 62, 9, 3, 3, 0.5, 0.3),  # 1.25 px on the coarsest level
        ((-9.0, 6.0), 63, 9, 3, 3, 0.5, 0.3),
        ((8.0, -5.0), 64, 9, 5, 3, 0.7, 0.3),  # 1.6 px on the coarsest level; x 1/0.7 per level, not x 2
        ((-7.0, 7.0), 65, 9, 5, 3, 0.7, 0.3),
    ]
    for d, seed, *args, tol in cases:
        prev, nxt = textures(128, 96, *d, seed)
        err = _median_error(_flow(name, pyramid_lucas_kanade, prev, nxt, *args), d, 16)
        assert err <= tol, (
            f"{name}: median end-point error {err:.3f} px for a shift of {d} px with window, levels, iterations, "
            f"factor = {tuple(args)} (<= {tol}); iterate with warping on every level, and scale the flow by the "
            "ratio of the sizes going to a finer level"
        )
    prev, nxt, truth = zoomed(128, 96, 1.04, 3.0, (2.0, -1.0), 66)
    err = _median_error(_flow(name, pyramid_lucas_kanade, prev, nxt, 9, 2, 3, 0.5), truth, 16)
    assert err <= 0.3, f"{name}: median end-point error {err:.3f} px on a rotation with a zoom (up to 7 px; <= 0.3)"
