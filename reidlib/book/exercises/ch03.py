"""Chapter 3: the 2x2 solve of Lucas-Kanade, and the windowed sums of the structure tensor."""

from __future__ import annotations

import numpy as np

from ...preprocess.flow import shifted_textures
from ._core import as_numpy, call, close, fail, passed


def _solve_cases(seed: int = 0):
    """(a, b, c, p, q, min_eig, u, v): tensors [[a, b], [b, c]], right sides [p, q], answers."""
    # Hand-made: [[2, 0], [0, 1]] [u, v] = -[-4, 3] -> u = 2, v = -3.
    yield 2.0, 0.0, 1.0, -4.0, 3.0, 1e-6, 2.0, -3.0
    # Coupled: [[2, 1], [1, 2]] [u, v] = [3, 3] -> u = v = 1.
    yield 2.0, 1.0, 2.0, -3.0, -3.0, 1e-6, 1.0, 1.0
    # An edge: [[1, 1], [1, 1]] is singular (smallest eigenvalue 0): no answer, so 0.
    yield 1.0, 1.0, 1.0, -1.0, -1.0, 1e-6, 0.0, 0.0
    # A flat window: nothing at all, so 0.
    yield 0.0, 0.0, 0.0, 0.0, 0.0, 1e-6, 0.0, 0.0
    # A strong edge: det = 100 * 1e-4 = 1e-2 is above min_eig = 1e-3, but the smallest eigenvalue
    # (1e-4) is not: the guard is on the eigenvalue, so 0.
    yield 100.0, 0.0, 1e-4, -1.0, -1.0, 1e-3, 0.0, 0.0
    # Weak but even texture: det = 1e-4 is below min_eig = 1e-3, the eigenvalues (0.01) are above: solve.
    yield 0.01, 0.0, 0.01, -0.02, 0.01, 1e-3, 2.0, -1.0
    # Exactly at the threshold: the smallest eigenvalue of [[2, 0], [0, 1]] is 1, not above min_eig = 1.
    yield 2.0, 0.0, 1.0, -4.0, 3.0, 1.0, 0.0, 0.0
    # Random fields (H, W), solved pixel by pixel with numpy; some pixels below the guard.
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(6, 5, 2, 3))
    m = g @ g.transpose(0, 1, 3, 2)  # (6, 5, 2, 2) symmetric, >= 0
    m[0, :2] = [[1.0, 2.0], [2.0, 4.0 + 1e-9]]  # nearly singular
    rhs = rng.normal(size=(6, 5, 2))
    lam_min = np.linalg.eigvalsh(m)[..., 0]
    ok = lam_min > 1e-3
    sol = np.where(ok[..., None], np.linalg.solve(m, -rhs[..., None])[..., 0], 0.0)
    yield m[..., 0, 0], m[..., 0, 1], m[..., 1, 1], rhs[..., 0], rhs[..., 1], 1e-3, sol[..., 0], sol[..., 1]


def check_lk_solve(solve_2x2) -> bool:
    """Check ``solve_2x2(a, b, c, p, q, min_eig) -> (u, v)``.

    It solves [[a, b], [b, c]] @ [u, v] = -[p, q] at every pixel (arrays of one shape,
    or scalars) and returns u = v = 0 where the smallest eigenvalue of the matrix is not
    above ``min_eig``.
    """
    title = "solve_2x2"
    for a, b, c, p, q, min_eig, u, v in _solve_cases():
        args = [np.array(x, dtype=np.float64) for x in (a, b, c, p, q)]
        got = call(title, solve_2x2, *args, min_eig)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(title, "a pair (u, v)", got, "return u, v")
        gu, gv = (as_numpy(x) for x in got)
        if np.ndim(a) == 0 and np.all(np.isclose([gu, gv], [-u, -v])) and (u or v):
            fail(title, (u, v), (float(gu), float(gv)), "the right side is MINUS [p, q]: M [u, v] = -[p, q]")
        hint = (
            "use the inverse of [[a, b], [b, c]]: it is [[c, -b], [-b, a]] / (a c - b^2); "
            "set u = v = 0 where the smallest eigenvalue (a + c)/2 - sqrt(((a - c)/2)^2 + b^2) <= min_eig"
        )
        close(title + " (u)", np.asarray(u), gu, atol=1e-6, hint=hint)
        close(title + " (v)", np.asarray(v), gv, atol=1e-6, hint=hint)
    return passed(title, "Each pixel's 2x2 system is solved, and the guard leaves flat and edge-only windows at 0.")


def _window_means(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over the window x window box around each interior pixel, by explicit loops (slow, plain)."""
    r = window // 2
    out = np.full(x.shape, np.nan)
    for i in range(r, x.shape[0] - r):
        for j in range(r, x.shape[1] - r):
            out[i, j] = x[i - r : i + r + 1, j - r : j + r + 1].mean()
    return out


def check_structure_tensor(structure_tensor) -> bool:
    """Check ``structure_tensor(ix, iy, window) -> (a, b, c)``: the window means of Ix^2, Ix Iy, Iy^2.

    Only pixels at least ``window // 2`` from the border are compared, so any border rule passes.
    """
    title = "structure_tensor"
    rng = np.random.default_rng(3)
    ramp = (np.full((12, 10), 0.5, np.float32), np.full((12, 10), -0.25, np.float32))  # a linear ramp
    cases = [(ramp, 3), (ramp, 7)]
    cases += [
        ((rng.normal(size=(14, 11)).astype(np.float32), rng.normal(size=(14, 11)).astype(np.float32)), w)
        for w in (3, 5, 9)
    ]
    for (ix, iy), window in cases:
        got = call(title, structure_tensor, ix.copy(), iy.copy(), window)
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            fail(title, "three arrays (a, b, c)", got, "return a, b, c")
        r = window // 2
        inner = (slice(r, ix.shape[0] - r), slice(r, ix.shape[1] - r))
        for name, want, g in zip("abc", (ix * ix, ix * iy, iy * iy), got, strict=True):
            g = as_numpy(g)
            if g.shape != ix.shape:
                fail(
                    f"{title} ({name})",
                    f"an array of shape {ix.shape}",
                    f"shape {g.shape}",
                    "keep the image size: a box filter does",
                )
            want = _window_means(want.astype(np.float64), window)[inner]
            if np.allclose(g[inner], want * window**2, rtol=1e-4, atol=1e-5) and window > 1 and np.abs(want).max() > 0:
                fail(
                    f"{title} ({name})",
                    "window means",
                    "window sums",
                    f"divide by the number of pixels in the window ({window} x {window})",
                )
            close(
                f"{title} ({name}, window {window})",
                want,
                g[inner],
                atol=1e-4,
                rtol=1e-3,
                hint="average the products over the window x window box centred on each pixel, "
                "e.g. cv2.boxFilter(ix * ix, -1, (window, window))",
            )
    return passed(title, "Bigger windows average more pixels: steadier, but blind to motion that changes inside them.")


def check_image_gradients(image_gradients) -> bool:
    """Check ``image_gradients(prev, next) -> (ix, iy, it)``, each (H, W), per pixel.

    ``ix`` = dI/dx along the columns (to the right), ``iy`` = dI/dy along the rows (down), both
    of ``prev`` and one unit per pixel; ``it = next - prev``. Compared on quadratic images,
    whose derivatives are known exactly, one pixel away from the border.
    """
    title = "image_gradients"
    y, x = np.mgrid[0:20, 0:16].astype(np.float64)
    prev = 0.002 * x**2 + 0.003 * x * y - 0.001 * y**2 + 0.01 * x - 0.02 * y + 0.5
    next = prev + 0.01 * x - 0.005 * y + 0.02
    want = (0.004 * x + 0.003 * y + 0.01, 0.003 * x - 0.002 * y - 0.02, next - prev)
    got = call(title, image_gradients, prev.astype(np.float32), next.astype(np.float32))
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(title, "three arrays (ix, iy, it)", got, "return ix, iy, it")
    got = [as_numpy(g) for g in got]
    for g in got:
        if g.shape != prev.shape:
            fail(title, f"arrays of shape {prev.shape}", f"shape {g.shape}", "keep the image size")
    inner = (slice(1, -1), slice(1, -1))
    gx, gy, gt = (g[inner].astype(np.float64) for g in got)
    wx, wy, wt = (w[inner] for w in want)
    if np.allclose(gx, wy, atol=1e-4) and np.allclose(gy, wx, atol=1e-4):
        fail(
            title,
            "ix along x (columns, axis 1), iy along y (rows, axis 0)",
            "the two swapped",
            "x is the column index: axis 1 of an (H, W) array",
        )
    if np.allclose(gx, 8 * wx, atol=1e-3):
        fail(title + " (ix)", "one unit per pixel", "8 times that", "cv2.Sobel's 3x3 kernel sums to 8: use scale=1/8")
    if np.allclose(gt, -wt, atol=1e-5):
        fail(title + " (it)", "next - prev", "prev - next", "it is the change from prev to next")
    hint = (
        "use central differences, (I[x + 1] - I[x - 1]) / 2, e.g. np.gradient or "
        "cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, scale=1/8); forward differences are half a pixel off"
    )
    close(title + " (ix)", wx, gx, atol=1e-4, rtol=1e-3, hint=hint)
    close(title + " (iy)", wy, gy, atol=1e-4, rtol=1e-3, hint=hint)
    close(title + " (it)", wt, gt, atol=1e-5, hint="it = next - prev, pixel by pixel")
    return passed(title, "Per-pixel derivatives in x, y and time, with the book's axes and signs.")


def _median_error(flow: np.ndarray, truth, margin: int) -> float:
    inner = flow[margin:-margin, margin:-margin]
    return float(np.median(np.linalg.norm(inner - np.asarray(truth), axis=-1)))


def _flow_of(title: str, fn, prev, next, *args) -> np.ndarray:
    flow = as_numpy(call(title, fn, prev.copy(), next.copy(), *args))
    if flow.shape != prev.shape + (2,):
        fail(
            title,
            f"a flow field of shape {prev.shape + (2,)}",
            f"shape {flow.shape}",
            "stack u and v on the last axis: np.stack([u, v], axis=-1)",
        )
    if not np.all(np.isfinite(flow)):
        fail(
            title,
            "finite flow everywhere",
            "NaN or inf",
            "guard the 2x2 solve: 0 where the smallest eigenvalue is tiny",
        )
    return flow


def _check_motion(title: str, flow: np.ndarray, d, margin: int, tol: float) -> None:
    err = _median_error(flow, d, margin)
    if err <= tol:
        return
    if _median_error(flow, (-d[0], -d[1]), margin) <= tol:
        fail(
            title,
            f"flow {tuple(d)} (median)",
            "the opposite direction",
            "the convention: next(x + u, y + v) = prev(x, y); solve M [u, v] = -[sum Ix It, sum Iy It]",
        )
    if _median_error(flow, (d[1], d[0]), margin) <= tol:
        fail(title, f"flow (u, v) = {tuple(d)}", "(v, u)", "the last axis holds u (horizontal) first, then v")
    med = np.median(flow[margin:-margin, margin:-margin].reshape(-1, 2), axis=0)
    fail(
        title,
        f"median end-point error <= {tol} px for a shift of {tuple(d)} px",
        f"{err:.3f} px (your median flow: ({med[0]:.3f}, {med[1]:.3f}))",
        "test your steps one by one: gradients, window means, the solve",
    )


def _zero_share(flow: np.ndarray, margin: int) -> float:
    """The share of pixels, away from the border, whose flow is exactly zero (the guard's answer)."""
    return float(np.mean(np.all(flow[margin:-margin, margin:-margin] == 0, axis=-1)))


def _footprint(title: str, fn, window: int) -> tuple[int, int, int, int]:
    """How far (up, down, left, right, in pixels) a change of one pixel of ``next`` moves the flow."""
    prev, next = shifted_textures(48, 48, 0.3, -0.2, seed=15)
    y0, x0 = 24, 24
    bumped = next.copy()
    bumped[y0, x0] += 0.05
    change = np.abs(_flow_of(title, fn, prev, bumped, window, 1e-5) - _flow_of(title, fn, prev, next, window, 1e-5))
    rows, cols = np.nonzero(change.max(-1) > 1e-6)
    if rows.size == 0:
        return 0, 0, 0, 0
    return int(y0 - rows.min()), int(rows.max() - y0), int(x0 - cols.min()), int(cols.max() - x0)


def check_dense_lk(dense_lucas_kanade) -> bool:
    """Check ``dense_lucas_kanade(prev, next, window, min_eig) -> flow (H, W, 2)`` (single step).

    The flow of a pixel is the solution of the 2x2 normal equations built from the *means* of
    the gradient products over the ``window`` x ``window`` box centred on it, and 0 where the
    smallest eigenvalue of that matrix is not above ``min_eig``. Checked: smooth textures moved
    by known sub-pixel shifts (median end-point error away from the borders at most 0.1 px);
    identical frames give zero flow; flat frames, stripes (an edge everywhere) and a texture too
    faint for the guard give zeros; a larger ``min_eig`` guards more; and a change of one pixel
    of ``next`` moves the flow of the pixels whose window holds it, and of no others (the
    window's size, give or take the 2 pixels that a gradient filter may reach).
    """
    title = "dense_lucas_kanade"
    for d, seed in [((0.4, -0.3), 11), ((-0.7, 0.2), 12), ((0.1, 0.8), 13)]:
        prev, next = shifted_textures(64, 48, *d, seed=seed)
        _check_motion(title, _flow_of(title, dense_lucas_kanade, prev, next, 9, 1e-5), d, 10, 0.1)
    prev, _ = shifted_textures(40, 32, 0, 0, seed=14)
    still = _flow_of(title, dense_lucas_kanade, prev, prev, 9, 1e-5)
    if np.abs(still).max() > 1e-6:
        fail(
            title,
            "zero flow between two identical frames",
            f"values up to {np.abs(still).max():.3g}",
            "with It = 0 both right-hand sums are 0",
        )
    flat = np.full((40, 32), 0.5, np.float32)
    moved = _flow_of(title, dense_lucas_kanade, flat, flat + 0.1, 9, 1e-5)
    if np.abs(moved).max() > 0:
        fail(
            title,
            "zero flow on a textureless image (the guard)",
            f"values up to {np.abs(moved).max():.3g}",
            "where the smallest eigenvalue is <= min_eig, return u = v = 0",
        )
    for window in (3, 7):
        r = window // 2
        reach = _footprint(title, dense_lucas_kanade, window)
        if not all(r <= k <= r + 2 for k in reach):
            fail(
                title,
                f"with window={window}, one changed pixel of next moves the flow {r} to {r + 2} pixels away",
                f"{max(reach)} pixels away (up, down, left, right: {reach})",
                f"the window is window x window pixels centred on each pixel: {r} on each side for window={window}",
            )
    # Diagonal stripes: every window sees one edge direction, M is singular (the aperture problem).
    y, x = np.mgrid[0:40, 0:40].astype(np.float32)
    stripes = [0.5 + 0.3 * np.sin(2 * np.pi * (x + y - 0.5 * k) / 12) for k in (0, 1)]
    edge = _flow_of(title, dense_lucas_kanade, stripes[0], stripes[1], 9, 1e-5)
    if _zero_share(edge, 6) < 0.95:
        fail(
            title,
            "zero flow on stripes, where every window sees a single edge direction",
            f"non-zero flow on {1 - _zero_share(edge, 6):.0%} of the pixels",
            "guard on the SMALLEST eigenvalue of M, (a + c)/2 - sqrt(((a - c)/2)^2 + b^2), not on a + c or the largest",
        )
    # The guard compares the smallest eigenvalue of the window MEANS with min_eig. Here it is
    # 3e-4 to 3e-3 (full contrast), 3e-5 to 3e-4 (contrast 0.3) and 3e-7 to 3e-6 (contrast 0.03).
    prev, next = shifted_textures(64, 48, 0.4, -0.3, seed=11)
    faint = [0.5 + c * (f - 0.5) for c in (0.3, 0.03) for f in (prev, next)]
    _check_motion(title, _flow_of(title, dense_lucas_kanade, faint[0], faint[1], 9, 1e-5), (0.4, -0.3), 10, 0.1)
    for (p, n, min_eig), what in [
        ((faint[2], faint[3], 1e-5), "a texture so faint that every window is below min_eig = 1e-5"),
        ((prev, next, 1e-2), "a texture whose windows are all below min_eig = 0.01"),
    ]:
        flow = _flow_of(title, dense_lucas_kanade, p, n, 9, min_eig)
        if _zero_share(flow, 10) < 0.95:
            fail(
                title,
                f"zero flow on {what}",
                f"non-zero flow on {1 - _zero_share(flow, 10):.0%} of the pixels",
                "use the min_eig you are given, on the eigenvalue of the window MEANS (divide by window * window)",
            )
    return passed(title, "Sub-pixel shifts are recovered in sign and size, and the guard keeps flat windows at zero.")


def check_lk_pyramid(pyramid_lucas_kanade) -> bool:
    """Check ``pyramid_lucas_kanade(prev, next) -> flow (H, W, 2)`` (its own defaults).

    Shifts of up to 3.6 px must come out with a median end-point error of at most 0.3 px
    (away from the borders), a sub-pixel shift with at most 0.15 px, and shifts of about 8.5 px
    with at most 0.75 px (these need the pyramid, the doubling and the iterations).
    """
    title = "pyramid_lucas_kanade"
    for d, seed in [((2.5, -1.5), 21), ((-3.0, 2.0), 22), ((1.0, 3.5), 24), ((0.5, 0.3), 23)]:
        prev, next = shifted_textures(96, 80, *d, seed=seed)
        _check_motion(
            title, _flow_of(title, pyramid_lucas_kanade, prev, next), d, 12, 0.3 if max(map(abs, d)) > 1 else 0.15
        )
    # Motions of about 8.5 px: only every step together recovers them. On the coarsest of the
    # three levels they are about 2 px; a flow that is not doubled on the way up, a single
    # iteration per level or a pyramid of fewer levels leaves errors of 0.85 px or more.
    for d, seed in [((8.0, -3.0), 41), ((-8.0, 2.5), 44), ((2.5, 8.0), 45), ((-3.0, -8.0), 46)]:
        prev, next = shifted_textures(128, 96, *d, seed=seed)
        flow = _flow_of(title, pyramid_lucas_kanade, prev, next)
        err = _median_error(flow, d, 16)
        if err > 0.75:
            fail(
                title,
                f"median end-point error <= 0.75 px for a shift of {d} px",
                f"{err:.2f} px",
                "on every level iterate: warp next by the current flow, add the flow of the remaining motion; "
                "going to the next finer level, resize the flow AND double it (a pixel there is half as big)",
            )
    return passed(title, "Motions of several pixels are recovered: coarse to fine, with warping.")
