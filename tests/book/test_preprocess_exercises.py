"""Chapter 3 checks: right answers pass, wrong answers and stubs get a clear CheckFailed."""

import cv2
import numpy as np
import pytest

from reidlib.exercises import (
    CheckFailed,
    check_dense_lk,
    check_image_gradients,
    check_lk_pyramid,
    check_lk_solve,
    check_structure_tensor,
)


def solve_2x2(a, b, c, p, q, min_eig):
    lam_min = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b)
    det = np.where(lam_min > min_eig, a * c - b * b, np.inf)
    return (b * q - c * p) / det, (b * p - a * q) / det


def structure_tensor(ix, iy, window):
    box = lambda z: cv2.boxFilter(z, -1, (window, window))
    return box(ix * ix), box(ix * iy), box(iy * iy)


def test_right_answers_pass(capsys):
    assert check_lk_solve(solve_2x2)
    assert check_structure_tensor(structure_tensor)
    out = capsys.readouterr().out
    assert out.count("correct") == 2


def test_solve_with_the_wrong_sign_is_explained():
    wrong = lambda a, b, c, p, q, m: tuple(-x for x in solve_2x2(a, b, c, p, q, m))
    with pytest.raises(CheckFailed, match=r"(?s)expected: \(2.0, -3.0\).*MINUS \[p, q\]"):
        check_lk_solve(wrong)


def test_solve_without_the_guard_is_explained():
    def no_guard(a, b, c, p, q, min_eig):
        with np.errstate(divide="ignore", invalid="ignore"):
            det = a * c - b * b
            return (b * q - c * p) / det, (b * p - a * q) / det

    with pytest.raises(
        CheckFailed, match=r"(?s)expected: finite values.*NaN or inf.*smallest eigenvalue .* <= min_eig"
    ):
        check_lk_solve(no_guard)


def test_solve_with_swapped_outputs_fails():
    swapped = lambda *args: solve_2x2(*args)[::-1]
    with pytest.raises(CheckFailed, match=r"solve_2x2 \(u\): not yet"):
        check_lk_solve(swapped)


def test_window_sums_instead_of_means_are_explained():
    sums = lambda ix, iy, w: tuple(x * w * w for x in structure_tensor(ix, iy, w))
    with pytest.raises(CheckFailed, match=r"(?s)expected: window means.*divide by the number of pixels"):
        check_structure_tensor(sums)


def test_a_tensor_without_the_window_fails():
    no_window = lambda ix, iy, w: (ix * ix, ix * iy, iy * iy)
    with pytest.raises(CheckFailed, match=r"structure_tensor \(a, window 3\): not yet"):
        check_structure_tensor(no_window)


def test_stubs_are_reported_without_crashing():
    def stub(*args):
        raise NotImplementedError("solve the 2x2 system")

    with pytest.raises(CheckFailed, match="not implemented yet. solve the 2x2 system"):
        check_lk_solve(stub)
    with pytest.raises(CheckFailed, match="structure_tensor: not implemented yet"):
        check_structure_tensor(stub)


# ----------------------------------------------------------------------------- assignment A1


def image_gradients(prev, next):
    iy, ix = np.gradient(prev.astype(np.float64))  # central differences, numpy's axis order (rows, columns)
    return ix, iy, next - prev


def dense_lk(prev, next, window, min_eig):
    ix, iy, it = image_gradients(prev, next)
    box = lambda z: cv2.blur(z, (window, window))
    u, v = solve_2x2(*structure_tensor(ix, iy, window), box(ix * it), box(iy * it), min_eig)
    return np.stack([u, v], axis=-1)


def pyramid_lk(prev, next, window=9, levels=2, iterations=3):
    """Coarse to fine, warping next by the current flow at every iteration (a plain, test-side version)."""
    pyramid = [(prev.astype(np.float32), next.astype(np.float32))]
    for _ in range(levels):
        pyramid.append(tuple(cv2.pyrDown(x) for x in pyramid[-1]))
    flow = None
    for p, n in reversed(pyramid):
        h, w = p.shape
        flow = np.zeros((h, w, 2), np.float32) if flow is None else 2 * cv2.resize(flow, (w, h))
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)

        def sm(z):
            return cv2.GaussianBlur(z.astype(np.float32), (window, window), window / 4)

        for _ in range(iterations):
            warped = cv2.remap(
                n, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            ix, iy, it = image_gradients(p, warped)
            a, b, c = sm(ix * ix), sm(ix * iy), sm(iy * iy)
            flow = flow + np.stack(solve_2x2(a, b, c, sm(ix * it), sm(iy * it), 1e-6), axis=-1).astype(np.float32)
    return flow


def test_assignment_checks_accept_right_answers(capsys):
    assert check_image_gradients(image_gradients)
    assert check_dense_lk(dense_lk)
    assert check_lk_pyramid(pyramid_lk)
    assert capsys.readouterr().out.count("correct") == 3


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda p, n: image_gradients(p, n)[1::-1] + (n - p,), r"(?s)ix along x .*the two swapped"),
        (
            lambda p, n: (cv2.Sobel(p, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(p, cv2.CV_32F, 0, 1, ksize=3), n - p),
            "scale=1/8",
        ),
        (lambda p, n: image_gradients(p, n)[:2] + (p - n,), r"expected: next - prev"),
        (
            lambda p, n: (np.diff(p, axis=1, append=p[:, -1:]), np.diff(p, axis=0, append=p[-1:]), n - p),
            "forward differences",
        ),
    ],
)
def test_wrong_gradients_are_explained(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_image_gradients(wrong)


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda p, n, w, m: -dense_lk(p, n, w, m), "the opposite direction"),
        (lambda p, n, w, m: dense_lk(p, n, w, m)[..., ::-1], r"\(v, u\)"),
        (lambda p, n, w, m: dense_lk(p, n, w, m)[..., 0], r"shape \(64, 48, 2\)"),
        (lambda p, n, w, m: dense_lk(p, n, w, -1.0), "NaN or inf"),  # no guard
        (lambda p, n, w, m: dense_lk(p, n, w, m) + 0.3, "median end-point error <= 0.1"),
    ],
)
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the unguarded solve divides 0 by 0
def test_wrong_dense_lk_is_explained(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_dense_lk(wrong)


def test_single_step_lk_fails_the_pyramid_check():
    with pytest.raises(CheckFailed, match=r"(?s)pyramid_lucas_kanade: not yet.*median end-point error <= 0.3"):
        check_lk_pyramid(lambda p, n: dense_lk(p, n, 9, 1e-5))


def test_assignment_stubs_are_reported():
    def stub(*args):
        raise NotImplementedError("write me")

    for check in (check_image_gradients, check_dense_lk, check_lk_pyramid):
        with pytest.raises(CheckFailed, match="not implemented yet. write me"):
            check(stub)
