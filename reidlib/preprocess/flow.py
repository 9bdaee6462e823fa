"""Dense optical flow: Lucas-Kanade from the structure tensor, and OpenCV's Farneback and DIS (chapter 3).

Convention for every method here: ``flow[y, x] = (u, v)`` moves the pixel (x, y) of
``prev`` to its place (x + u, y + v) in ``next``; u is horizontal (to the right), v is
vertical (down), both in pixels. So ``next(x + u, y + v) ~= prev(x, y)``.
"""

from __future__ import annotations

import functools
import inspect

import cv2
import numpy as np

FLOW_METHODS = ("lk", "farneback", "dis")


def check_pair(prev: np.ndarray, next: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check two grey images (H, W) and return them as float32 in [0, 1]."""
    out = []
    for name, img in (("prev", prev), ("next", next)):
        img = np.asarray(img)
        if img.ndim != 2:
            raise ValueError(
                f"{name} must be one grey image (H, W); found shape {img.shape}. "
                "Convert RGB with reidlib.preprocess.rgb_to_gray."
            )
        if img.dtype == np.uint8:
            img = img.astype(np.float32) / np.float32(255)
        elif np.issubdtype(img.dtype, np.floating):
            if not np.all(np.isfinite(img)):
                raise ValueError(f"{name} contains NaN or inf; expected finite grey values in [0, 1].")
            img = img.astype(np.float32, copy=False)
        else:
            raise TypeError(f"{name} must be uint8 (0-255) or float in [0, 1]; found dtype {img.dtype}.")
        out.append(img)
    if out[0].shape != out[1].shape:
        raise ValueError(
            f"prev and next must have the same size; found {out[0].shape} and {out[1].shape}. "
            "Resize both frames to one size first."
        )
    return out[0], out[1]


def lucas_kanade(
    prev: np.ndarray,
    next: np.ndarray,
    window: int = 9,
    levels: int = 1,
    iterations: int = 1,
    min_eig: float = 1e-5,
    weights: str = "gaussian",
) -> np.ndarray:
    """Dense Lucas-Kanade flow, (H, W) x 2 -> (H, W, 2) float32 (u, v) in pixels.

    Every pixel assumes one translation for the ``window x window`` box around it and
    solves the 2x2 normal equations of brightness constancy, Ix u + Iy v + It = 0, with
    the window's pixels weighted by ``weights``: "gaussian" (sigma = window / 4) or
    "box" (all equal). ``levels`` adds coarser pyramid levels (each halves the size) for
    larger motions.

    ``iterations`` refines the flow at each level by the iterative Lucas-Kanade update:
    warp ``next`` by the current flow, recompute the temporal difference, solve for the
    increment and add it. The first step warps every pixel by its own flow (one remap);
    each further step warps the whole window of a pixel by that pixel's flow, the
    translation its equations assume, so the steps converge (Gauss-Newton on each
    window) instead of mixing the errors of neighbouring windows.
    Pixels whose structure tensor has its smallest eigenvalue below ``min_eig`` (flat
    or edge-only windows: the aperture problem) keep the flow from the coarser level,
    which is zero at the coarsest one.
    """
    prev, next = check_pair(prev, next)
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window must be an odd size >= 3; found {window}.")
    if levels < 0 or iterations < 1:
        raise ValueError(f"levels must be >= 0 and iterations >= 1; found levels={levels}, iterations={iterations}.")
    if weights not in ("gaussian", "box"):
        raise ValueError(f"weights must be 'gaussian' or 'box'; found {weights!r}.")
    pyramid = [(prev, next)]
    for _ in range(levels):
        p, n = pyramid[-1]
        if min(p.shape) < 2 * window:  # too small to hold a window: stop here
            break
        pyramid.append((cv2.pyrDown(p), cv2.pyrDown(n)))
    u = v = None
    for p, n in reversed(pyramid):
        h, w = p.shape
        if u is None:
            u, v = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
        else:  # up one level: twice the size, twice the displacement
            u = 2 * cv2.resize(u, (w, h), interpolation=cv2.INTER_LINEAR)
            v = 2 * cv2.resize(v, (w, h), interpolation=cv2.INTER_LINEAR)
        u, v = _refine(p, n, u, v, window, iterations, min_eig, weights)
    return np.stack([u, v], axis=-1)


def _refine(prev, next, u, v, window, iterations, min_eig, weights):
    """Iterative LK at one level: improve (u, v) (H, W) so that next(x + u, y + v) ~= prev."""
    if weights == "box":  # weighted mean over the window around every pixel
        box = lambda z: cv2.boxFilter(z, -1, (window, window))
    else:
        box = lambda z: cv2.GaussianBlur(z, (window, window), window / 4)
    ix = cv2.Sobel(prev, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)  # dI/dx, per pixel
    iy = cv2.Sobel(prev, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    a, b, c = box(ix * ix), box(ix * iy), box(iy * iy)  # structure tensor [[a, b], [b, c]]
    lam_min = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b)
    det = a * c - b * b
    inv_det = np.divide(1, det, out=np.zeros_like(det), where=lam_min > min_eig)  # 0: no update
    xs, ys = _grid(*prev.shape)
    for step in range(iterations):
        if step == 0:  # every pixel warped by its own flow
            warped = cv2.remap(next, xs + u, ys + v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            it = warped - prev  # what is left to explain
            p, q = box(ix * it), box(iy * it)
        else:  # every window warped by its centre's flow
            p, q = _window_sums(prev, next, ix, iy, u, v, _window_weights(window, weights))
        u = u + (b * q - c * p) * inv_det  # [du, dv] = -inv([[a, b], [b, c]]) @ [p, q]
        v = v + (b * p - a * q) * inv_det
    return u, v


def _window_weights(window: int, weights: str) -> np.ndarray:
    """The (window, window) weights of ``box`` in :func:`_refine`: a Gaussian (sigma window / 4) or all equal."""
    if weights == "box":
        return np.full((window, window), 1 / window**2)
    g = cv2.getGaussianKernel(window, window / 4)
    return g @ g.T


def _reflect(i: np.ndarray, n: int) -> np.ndarray:
    """Indices reflected into 0 .. n-1 without repeating the edge (OpenCV's default border, BORDER_REFLECT_101)."""
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    i = np.abs(i) % period
    return np.where(i > n - 1, period - i, i)


def _window_sums(prev, next, ix, iy, u, v, w):
    """p, q (H, W): the ``w``-weighted sums over each pixel's window of Ix It and Iy It, where It compares
    ``prev`` with ``next`` moved by the flow (u, v) of the window's centre pixel."""
    h, wd = prev.shape
    r = len(w) // 2
    rows, cols = np.arange(h), np.arange(wd)
    p, q = np.zeros_like(prev), np.zeros_like(prev)
    for dy in range(-r, r + 1):
        ry = _reflect(rows + dy, h)
        for dx in range(-r, r + 1):
            rx = _reflect(cols + dx, wd)
            at = np.ix_(ry, rx)  # the window's pixel (x + dx, y + dy) of every centre (x, y)
            map_x = (rx.astype(np.float32)[None, :] + u).astype(np.float32)
            map_y = (ry.astype(np.float32)[:, None] + v).astype(np.float32)
            it = cv2.remap(next, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) - prev[at]
            weight = np.float32(w[dy + r, dx + r])
            p += weight * ix[at] * it
            q += weight * iy[at] * it
    return p, q


@functools.lru_cache(maxsize=16)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates x, y, each float32 (H, W) (read-only, shared)."""
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def farneback(prev: np.ndarray, next: np.ndarray, levels: int = 3, window: int = 15) -> np.ndarray:
    """OpenCV's Farneback flow (polynomial expansion), (H, W) x 2 -> (H, W, 2) float32."""
    prev, next = check_pair(prev, next)
    return cv2.calcOpticalFlowFarneback(prev * 255, next * 255, None, 0.5, levels, window, 3, 5, 1.2, 0)


_DIS = {}


def dis(prev: np.ndarray, next: np.ndarray, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> np.ndarray:
    """OpenCV's DIS flow (dense inverse search), (H, W) x 2 -> (H, W, 2) float32."""
    prev, next = check_pair(prev, next)
    if preset not in _DIS:
        _DIS[preset] = cv2.DISOpticalFlow_create(preset)
    to8 = lambda z: np.round(z * 255).astype(np.uint8)
    return _DIS[preset].calc(to8(prev), to8(next), None)


def _flow_function(method: str):
    fns = {"lk": lucas_kanade, "farneback": farneback, "dis": dis}
    if method not in fns:
        raise ValueError(f"flow method must be one of {', '.join(FLOW_METHODS)}; found {method!r}.")
    return fns[method]


def compute_flow(prev: np.ndarray, next: np.ndarray, method: str = "lk", **kw) -> np.ndarray:
    """Dense flow by ``method`` in ``"lk" | "farneback" | "dis"``: (H, W) x 2 -> (H, W, 2) float32."""
    return _flow_function(method)(prev, next, **kw)


def flow_settings(method: str = "lk", **kw) -> dict:
    """Every setting ``compute_flow(prev, next, method, **kw)`` will use: the function's defaults
    updated by ``kw``. Unknown settings are an error (nothing is silently dropped)."""
    params = inspect.signature(_flow_function(method)).parameters
    defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    unknown = sorted(set(kw) - set(defaults))
    if unknown:
        raise TypeError(
            f"flow method {method!r} has no setting {', '.join(unknown)}; its settings are {', '.join(defaults)}."
        )
    return {**defaults, **kw}


def shifted_textures(
    height: int, width: int, dx: float, dy: float, sigma: float = 2.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random texture and its copy moved by (dx, dy) pixels: two float32 (H, W) in [0, 1].

    The motion is exact, sub-pixel included: the texture is band-limited (Gaussian
    low-pass of white noise with scale ``sigma`` px) and shifted by a Fourier phase
    ramp, so ``next(x + dx, y + dy) = prev(x, y)`` (periodic at the borders).
    """
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :]
    spectrum = np.fft.fft2(rng.standard_normal((height, width))) * np.exp(-2 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    prev = np.fft.ifft2(spectrum).real
    next = np.fft.ifft2(spectrum * np.exp(-2j * np.pi * (fx * dx + fy * dy))).real
    lo, hi = prev.min(), prev.max()
    scale = lambda z: np.clip(0.1 + 0.8 * (z - lo) / (hi - lo), 0, 1).astype(np.float32)
    return scale(prev), scale(next)


def endpoint_error(flow: np.ndarray, truth) -> np.ndarray:
    """Per-pixel end-point error ||flow - truth||: flow (..., 2), truth (..., 2) or one (u, v)."""
    return np.linalg.norm(np.asarray(flow, np.float64) - np.asarray(truth, np.float64), axis=-1)


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code a flow field (H, W, 2) as uint8 RGB (H, W, 3): hue = direction, brightness = speed.

    Speeds at or above ``max_magnitude`` (default: the largest speed in ``flow``) are
    shown at full brightness; still pixels are black.
    """
    flow = np.asarray(flow, np.float32)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"expected a flow field (H, W, 2); found shape {flow.shape}.")
    magnitude, angle = cv2.cartToPolar(
        np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1]), angleInDegrees=True
    )
    top = max_magnitude or max(float(magnitude.max()), 1e-6)
    hsv = np.stack([angle / 2, np.full_like(angle, 255), np.clip(magnitude / top, 0, 1) * 255], axis=-1)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
