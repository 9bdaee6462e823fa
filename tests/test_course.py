"""The course on otter-grader (tools/course.py, course/): build, grade a class, keep solutions private.

A class of six A3 submissions made here from the student notebook (right, wrong, blank,
tampered, shortcut, endless loop) is graded by ``otter run`` through ``tools/course.py grade``,
and its CSV is compared with what each submission deserves. The graders run in the quick
profile with short time limits, two at a time. A1 asks for variants of chapter 3's Lucas-Kanade:
a submission of the chapter's steps earns nothing, nor does one that calls reidlib's, and the
hidden tests of A1 (course/truth_a1.py) are run against right and plausible wrong answers.
"""

from __future__ import annotations

import csv
import importlib
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import jupytext
import nbformat
import numpy as np
import pytest
from scipy import ndimage

from tools import course

ROOT = course.ROOT
A3 = "a3_cmc_ablation"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Student notebooks and teacher material of every master, built afresh into a temporary folder."""
    tmp = tmp_path_factory.mktemp("course")
    zips = course.build(tmp / "student", tmp / "teacher")
    return tmp, {z.parent.name: z for z in zips}


def test_student_notebooks_in_the_book_are_up_to_date(built):
    tmp, _ = built
    for made in sorted((tmp / "student").glob("*.ipynb")):
        kept = course.STUDENT_DIR / made.name
        assert kept.exists(), f"{kept} is missing: run `make assignments`"
        assert course.same_notebook(kept, made), (
            f"{kept.name} is out of date with course/{made.stem}.md: run `make assignments`"
        )


def test_every_master_is_an_assignment_in_the_toc():
    from tools import nbtools

    names = {m.stem for m in course.masters()}
    assert {f"book/assignments/{n}" for n in names} <= nbtools.toc_files()
    assert names == {p.stem for p in course.STUDENT_DIR.glob("a*.ipynb")}


def test_points_and_manual_parts_follow_the_masters():
    qs = {q["name"]: (q["points"], q["manual"]) for q in course.questions(ROOT / "course" / f"{A3}.md")}
    assert qs == {"p1_cmc": (1, False), "p2_map": (1, False), "p3_paired": (1, False), "p5_analysis": (3, True)}
    rubric = course.rubric(ROOT / "course" / f"{A3}.md")
    assert "## p5_analysis (3 points, graded by hand)" in rubric and "Model answer" in rubric


# ---------------------------------------------------------------- the class
WRONG = {  # realistic mistakes: the chapter's metrics without cameras and ties, an unpaired deletion
    "p1_cmc": """def cmc(distmat, query_pids, gallery_pids, max_rank=20, query_camids=None, gallery_camids=None):
    order = np.argsort(distmat, axis=1, kind="stable")
    first = (gallery_pids[order] == query_pids[:, None]).argmax(1) + 1
    return np.array([(first <= k).mean() for k in range(1, max_rank + 1)])
""",
    "p2_map": """def mean_average_precision(distmat, query_pids, gallery_pids, query_camids=None, gallery_camids=None):
    aps = []
    for row, pid in zip(np.argsort(distmat, axis=1, kind="stable"), query_pids):
        ranks = np.flatnonzero(gallery_pids[row] == pid) + 1
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    return float(np.mean(aps))
""",
    "p3_paired": """def paired_difference(a, b):
    d = np.nanmean(a) - np.nanmean(b)
    return float(d), float(np.nanstd(np.asarray(a) - np.asarray(b), ddof=1) / np.sqrt(len(a)))
""",
}
SHORTCUT = {
    "p1_cmc": """import reidlib.evaluation


def cmc(distmat, query_pids, gallery_pids, max_rank=20, query_camids=None, gallery_camids=None):
    return reidlib.evaluation.cmc(distmat, query_pids, gallery_pids, max_rank=max_rank,
                                  query_camids=query_camids, gallery_camids=gallery_camids)
""",
    "p3_paired": """from reidlib.exercises.ch09 import _paired_truth


def paired_difference(a, b):
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        raise ValueError("fewer than two complete splits")
    return _paired_truth(np.asarray(a)[keep], np.asarray(b)[keep])
""",
}
LOOPS = {
    "p2_map": """def mean_average_precision(distmat, query_pids, gallery_pids, query_camids=None, gallery_camids=None):
    while True:
        pass
""",
    "p3_paired": """while True:  # an endless loop at the top of the cell: the function is never defined
    pass


def paired_difference(a, b):
    return 0.0, 0.0
""",
}


def _solutions(solution_nb) -> dict[str, str]:
    """The master's solution source of every auto-graded part, from otter's solution notebook."""
    out = {}
    for cell in solution_nb.cells:
        for name, fn in (("p1_cmc", "def cmc("), ("p2_map", "def mean_average_"), ("p3_paired", "def paired_")):
            if cell.cell_type == "code" and cell.source.lstrip().startswith(fn):
                out[name] = cell.source
    return out


def _submission(student, answers: dict[str, str], drop_checks=False, extra_cells=()):
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    order = ["p1_cmc", "p2_map", "p3_paired"]
    code_answers = [c for c in nb.cells if c.cell_type == "code" and "otter_answer_cell" in c.metadata.get("tags", [])]
    for name, cell in zip(order, code_answers):
        if name in answers:
            cell.source = answers[name]
    if drop_checks:
        nb.cells = [c for c in nb.cells if "grader.check(" not in c.source]
    init = next(i for i, c in enumerate(nb.cells) if "otter.Notebook(" in c.source)
    for src in extra_cells:
        nb.cells.insert(init + 1, nbformat.v4.new_code_cell(src))
    answers = [c for c in nb.cells if c.cell_type == "markdown" and "otter_answer_cell" in c.metadata.get("tags", [])]
    written = answers[0]
    written.source = "1. Attention ranks best; the gap is within two standard errors."
    return nb


@pytest.fixture(scope="module")
def graded_class(built, tmp_path_factory):
    tmp, zips = built
    student = nbformat.read(tmp / "student" / f"{A3}.ipynb", as_version=4)
    right = _solutions(nbformat.read(tmp / "teacher" / A3 / f"{A3}-solution.ipynb", as_version=4))
    assert sorted(right) == ["p1_cmc", "p2_map", "p3_paired"]
    subs = tmp_path_factory.mktemp("submissions")
    tamper = (
        "grader.check = lambda *a, **k: print('All tests passed!')\n"
        "check_cmc = check_mean_average_precision = lambda f: True"
    )
    made = {
        "right": _submission(student, right),
        "wrong": _submission(student, WRONG),
        "blank": _submission(student, {}),
        "tampered": _submission(student, WRONG, drop_checks=True, extra_cells=[tamper]),
        "shortcut": _submission(student, {**right, **SHORTCUT}),
        "loop": _submission(student, {**right, **LOOPS}),
    }
    for name, nb in made.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    start = time.perf_counter()
    rows = course.grade(
        subs,
        ROOT / "course" / f"{A3}.md",
        zips[A3],
        subs / "grades.csv",
        jobs=2,
        timeout=600,
        env_extra={"REIDLIB_GRADE_TEST_LIMIT": "5", "REIDLIB_GRADE_CELL_LIMIT": "8"},
    )
    seconds = time.perf_counter() - start
    print(f"\ngraded {len(rows)} submissions in {seconds:.0f} s")
    return subs / "grades.csv", seconds


def test_the_class_csv(graded_class):
    path, _ = graded_class
    with open(path) as f:
        rows = list(csv.reader(f))
    parts = ["p1_cmc (1)", "p2_map (1)", "p3_paired (1)", "p5_analysis (3, manual)"]
    assert rows[0] == ["student", *parts, "total (auto)", "notes"]
    scores = {r[0]: r[1:6] for r in rows[1:]}
    assert scores == {
        "blank": ["0", "0", "0", "", "0"],
        "loop": ["1", "0", "0", "", "1"],
        "right": ["1", "1", "1", "", "3"],
        "shortcut": ["0", "1", "0", "", "1"],
        "tampered": ["0", "0", "0", "", "0"],
        "wrong": ["0", "0", "0", "", "0"],
    }
    notes = {r[0]: r[6] for r in rows[1:]}
    assert notes["right"] == ""
    assert "cmc returned None: write its body" in notes["blank"]
    assert "reidlib.evaluation.cmc is not available while this assignment is graded" in notes["shortcut"]
    assert "reidlib.exercises.ch09._paired_truth is not available" in notes["shortcut"]
    assert "p2_map: TimeoutError: the test ran past the grader's time limit of 5 s and was stopped" in notes["loop"]
    assert "paired_difference is not defined: its cell did not run to the end (1 cell(s) were stopped" in notes["loop"]
    assert notes["tampered"] == notes["wrong"]  # deleting and redefining the checks changes nothing


def test_grading_the_class_takes_minutes_not_hours(graded_class):
    _, seconds = graded_class
    assert seconds < 240, f"grading six A3 submissions took {seconds:.0f} s"


@pytest.mark.parametrize("name", ["a1_lucas_kanade", "a2_fcn_attention"])
def test_the_solutions_of_the_other_assignments_get_every_point(built, name, tmp_path):
    tmp, zips = built
    if name not in zips:
        pytest.skip(f"{name} has no master yet")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "teacher.ipynb").write_bytes((tmp / "teacher" / name / f"{name}-solution.ipynb").read_bytes())
    (subs / "blank.ipynb").write_bytes((tmp / "student" / f"{name}.ipynb").read_bytes())
    rows = course.grade(subs, ROOT / "course" / f"{name}.md", zips[name], subs / "grades.csv")
    auto = sum(q["points"] for q in course.questions(ROOT / "course" / f"{name}.md") if not q["manual"])
    totals = {r["student"]: r["total (auto)"] for r in rows}
    assert totals == {"blank": "0", "teacher": f"{auto:g}"}, rows


A1_CHAPTER_3 = {  # chapter 3's steps and reidlib's pyramid (halving, doubling), in A1's signatures
    "image_gradients": """def image_gradients(prev, next):
    ix = cv2.Sobel(prev, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    iy = cv2.Sobel(prev, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    return ix, iy, next - prev
""",
    "structure_tensor": """def structure_tensor(ix, iy, it, window):
    box = lambda z: cv2.boxFilter(z, -1, (window, window))
    return box(ix * ix), box(ix * iy), box(iy * iy), box(ix * it), box(iy * it)
""",
    "solve_2x2": """def solve_2x2(a, b, c, p, q, min_eig):
    ok = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b) > min_eig
    det = np.where(ok, a * c - b * b, 1.0)
    return np.where(ok, (b * q - c * p) / det, 0.0), np.where(ok, (b * p - a * q) / det, 0.0)
""",
    "dense_lucas_kanade": """def dense_lucas_kanade(prev, next, window=9, min_eig=1e-5):
    ix, iy, it = image_gradients(prev, next)
    u, v = solve_2x2(*structure_tensor(ix, iy, it, window), min_eig)
    return np.stack([u, v], axis=-1).astype(np.float32)
""",
    "pyramid_lucas_kanade": """def pyramid_lucas_kanade(prev, next, window=9, levels=2, iterations=3, factor=0.5):
    pyramid = [(np.float32(prev), np.float32(next))]
    for _ in range(levels):
        pyramid.append(tuple(cv2.pyrDown(z) for z in pyramid[-1]))
    flow = None
    for p, n in reversed(pyramid):
        h, w = p.shape
        flow = np.zeros((h, w, 2), np.float32) if flow is None else 2 * cv2.resize(flow, (w, h))
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(iterations):
            warped = cv2.remap(n, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)
            flow = flow + dense_lucas_kanade(p, warped, window)
    return flow
""",
}
A1_LIBRARY = {  # the right parts 1 to 3, and reidlib's Lucas-Kanade for parts 4 and 5
    "dense_lucas_kanade": """def dense_lucas_kanade(prev, next, window=9, min_eig=1e-5):
    return P.lucas_kanade(prev, next, window, levels=0, min_eig=min_eig, weights="box")
""",
    "pyramid_lucas_kanade": """def pyramid_lucas_kanade(prev, next, window=9, levels=2, iterations=3, factor=0.5):
    return P.compute_flow(prev, next, "lk", window=window, levels=levels, iterations=iterations)
""",
}


def _filled(student, answers: dict[str, str]):
    """The student notebook with the answer cell of every function in ``answers`` replaced."""
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for cell in nb.cells:
        if cell.cell_type == "code" and "otter_answer_cell" in cell.metadata.get("tags", []):
            name = cell.source.split("def ", 1)[-1].split("(", 1)[0]
            cell.source = answers.get(name, cell.source)
    return nb


def test_a1_the_chapters_and_the_librarys_lucas_kanade_earn_nothing(built, tmp_path):
    """A1 asks for variants: chapter 3's steps fail every part, and reidlib's LK is blocked."""
    tmp, zips = built
    name = "a1_lucas_kanade"
    student = nbformat.read(tmp / "student" / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(tmp / "teacher" / name / f"{name}-solution.ipynb", as_version=4)
    right = {
        c.source.split("def ", 1)[1].split("(", 1)[0]: c.source
        for c in solution.cells
        if c.cell_type == "code" and c.source.startswith("def ") and "def test_" not in c.source
    }
    assert sorted(right) == sorted(A1_CHAPTER_3)
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(_filled(student, A1_CHAPTER_3), subs / "chapter3.ipynb")
    nbformat.write(_filled(student, {**right, **A1_LIBRARY}), subs / "library.ipynb")
    rows = course.grade(subs, ROOT / "course" / f"{name}.md", zips[name], subs / "grades.csv")
    scores = {r["student"]: [v for k, v in r.items() if k.startswith("p") and "manual" not in k] for r in rows}
    assert scores == {"chapter3": ["0"] * 5, "library": ["1", "1", "1", "0", "0"]}, rows
    notes = {r["student"]: r["notes"] for r in rows}
    assert "reidlib.preprocess.lucas_kanade is not available while this assignment is graded" in notes["library"]
    assert "reidlib.preprocess.compute_flow is not available" in notes["library"]


# ---------------------------------------------------------------- A1's hidden tests against wrong answers
# Right answers written here in another style than the master's (numpy slicing, scipy, the closed
# form of the eigenvectors), and plausible wrong ones: chapter 3's and reidlib's versions of each
# step, off-by-ones, swapped axes and signs, wrong normalisations, a pyramid that always doubles.
def _a1_gradients(prev, next):
    mean = np.pad((np.float64(prev) + np.float64(next)) / 2, 2, mode="edge")
    five = lambda z: (z[:-4] - 8 * z[1:-3] + 8 * z[3:-1] - z[4:]) / 12  # along axis 0
    return five(mean.T).T[2:-2], five(mean)[:, 2:-2], np.float64(next) - np.float64(prev)


def _a1_tensor(ix, iy, it, window, taps=None):
    r = window // 2
    taps = np.concatenate([np.arange(1, r + 2), np.arange(r, 0, -1)]) if taps is None else taps
    weights = np.outer(taps, taps) / np.sum(taps) ** 2
    mean = lambda z: ndimage.correlate(np.float64(z), weights, mode="nearest")
    return tuple(mean(z) for z in (ix * ix, ix * iy, iy * iy, ix * it, iy * it))


def _a1_solve(a, b, c, p, q, min_eig):
    """Closed form: both eigenvalues kept, the inverse; only the larger, the normal flow along its eigenvector."""
    root = np.sqrt(((a - c) / 2) ** 2 + b * b)
    big, small = (a + c) / 2 + root, (a + c) / 2 - root
    both, edge = small > min_eig, (big > min_eig) & ~(small > min_eig)
    det = np.where(both, a * c - b * b, 1.0)
    ex, ey = np.where(a >= c, big - c, b), np.where(a >= c, b, big - a)
    norm = np.hypot(ex, ey)
    ex, ey = np.where(norm > 0, ex, 1.0) / np.where(norm > 0, norm, 1.0), ey / np.where(norm > 0, norm, 1.0)
    along = -(ex * p + ey * q) / np.where(edge, big, 1.0)
    u = np.where(both, (b * q - c * p) / det, np.where(edge, along * ex, 0.0))
    v = np.where(both, (b * p - a * q) / det, np.where(edge, along * ey, 0.0))
    return u, v


def _a1_lk(prev, next, window=9, min_eig=1e-5, grads=_a1_gradients, means=_a1_tensor, solve=_a1_solve):
    ix, iy, it = grads(prev, next)
    return np.stack(solve(*means(ix, iy, it, window), min_eig), -1)


def _a1_pyramid(prev, next, window=9, levels=2, iterations=3, factor=0.5, scale=None, warp=1, carry=1, add=1, fewer=0):
    frames = [(np.float32(prev), np.float32(next))]
    for _ in range(max(levels - fewer, 0)):
        h, w = frames[-1][0].shape
        size = (round(w * factor), round(h * factor))
        frames.append(tuple(cv2.resize(z, size, interpolation=cv2.INTER_AREA) for z in frames[-1]))
    flow = np.zeros(frames[-1][0].shape + (2,))
    for p, n in frames[::-1]:
        h, w = p.shape
        if flow.shape[:2] != (h, w):
            ratio = [w / flow.shape[1], h / flow.shape[0]] if scale is None else scale
            flow = carry * cv2.resize(flow, (w, h)) * ratio
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        for _ in range(iterations):
            maps = [np.float32(g + warp * f) for g, f in ((xs, flow[..., 0]), (ys, flow[..., 1]))]
            moved = cv2.remap(n, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            flow = add * flow + _a1_lk(p, moved, window)
    return flow


def _sobel_gradients(prev, next):  # chapter 3 and reidlib
    sobel = lambda dx, dy: cv2.Sobel(np.float32(prev), cv2.CV_32F, dx, dy, ksize=3, scale=1 / 8)
    return sobel(1, 0), sobel(0, 1), np.float32(next) - np.float32(prev)


def _mean_frame(prev, next):
    return np.float32((np.float64(prev) + np.float64(next)) / 2)


def _filtered(fn):
    return lambda ix, iy, it, window: tuple(
        fn(np.float32(z), window) for z in (ix * ix, ix * iy, iy * iy, ix * it, iy * it)
    )


def _zero_on_edges(a, b, c, p, q, min_eig):  # chapter 3
    small = (a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b)
    return tuple(np.where(small > min_eig, z, 0.0) for z in _a1_solve(a, b, c, p, q, min_eig))


def _eig_solve(keep=np.greater, divide=True, sign=-1):
    def solve(a, b, c, p, q, min_eig):
        lam, vec = np.linalg.eigh(np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2))
        ok = keep(lam, min_eig)
        along = np.einsum("...ik,...i->...k", vec, sign * np.stack([p, q], -1))
        flow = np.einsum("...ik,...k->...i", vec, np.where(ok, along / np.where(ok & divide, lam, 1.0), 0.0))
        return flow[..., 0], flow[..., 1]

    return solve


def _normal_flow_along_the_weak_eigenvector(a, b, c, p, q, min_eig):
    """As if np.linalg.eigh sorted its eigenvalues in descending order: column 0 taken for e_1."""
    lam, vec = np.linalg.eigh(np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2))
    e, big = vec[..., :, 0], lam[..., 1]
    normal = (np.einsum("...i,...i->...", e, -np.stack([p, q], -1)) / np.where(big > 0, big, 1.0))[..., None] * e
    edge = (big > min_eig) & ~(lam[..., 0] > min_eig)
    return tuple(np.where(edge, normal[..., k], z) for k, z in enumerate(_a1_solve(a, b, c, p, q, min_eig)))


def _det_guard(a, b, c, p, q, min_eig):
    det = a * c - b * b
    ok, d = det > min_eig, np.where(det > min_eig, det, 1.0)
    return np.where(ok, (b * q - c * p) / d, 0.0), np.where(ok, (b * p - a * q) / d, 0.0)


def _pinv(a, b, c, p, q, min_eig):
    m = np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2)
    flow = (np.linalg.pinv(m) @ -np.stack([p, q], -1)[..., None])[..., 0]
    return flow[..., 0], flow[..., 1]


def _a1_step(**kw):
    return lambda prev, next, window=9, min_eig=1e-5: _a1_lk(prev, next, window, min_eig, **kw)


def _a1_pyramid_with(**kw):
    return lambda prev, next, window=9, levels=2, iterations=3, factor=0.5: _a1_pyramid(
        prev, next, window, levels, iterations, factor, **kw
    )


A1_RIGHT = {
    "check_gradients": (_a1_gradients,),
    "check_structure_tensor": (_a1_tensor,),
    "check_solve": (_a1_solve,),
    "check_dense": (_a1_lk,),
    "check_pyramid": (_a1_pyramid, _a1_lk),
}
A1_WRONG = {
    "check_gradients": {
        "Sobel / 8 of prev (chapter 3, reidlib)": _sobel_gradients,
        "three-point differences of the mean frame": lambda p, n: (*np.gradient(_mean_frame(p, n))[::-1], n - p),
        "five-point differences of prev alone": lambda p, n: (*_a1_gradients(p, p)[:2], n - p),
        "Scharr / 32 of the mean frame": lambda p, n: (
            *(cv2.Scharr(_mean_frame(p, n), cv2.CV_32F, dx, 1 - dx, scale=1 / 32) for dx in (1, 0)),
            n - p,
        ),
        "x and y swapped": lambda p, n: (lambda g: (g[1], g[0], g[2]))(_a1_gradients(p, n)),
        "it = prev - next": lambda p, n: (*_a1_gradients(p, n)[:2], p - n),
        "five-point differences over 6": lambda p, n: (lambda g: (2 * g[0], 2 * g[1], g[2]))(_a1_gradients(p, n)),
    },
    "check_structure_tensor": {
        "box means (chapter 3)": _filtered(lambda z, w: cv2.blur(z, (w, w))),
        "tent sums, not means": lambda *a: tuple(z * (a[3] // 2 + 1) ** 4 for z in _a1_tensor(*a)),
        "a tent one pixel too narrow": lambda ix, iy, it, w: _a1_tensor(ix, iy, it, w - 2),
        "Gaussian weights, sigma window / 4 (reidlib)": _filtered(lambda z, w: cv2.GaussianBlur(z, (w, w), w / 4)),
        "two boxes of window // 2 + 1, off-centre": _filtered(
            lambda z, w: cv2.blur(cv2.blur(z, (w // 2 + 1,) * 2), (w // 2 + 1,) * 2)
        ),
        "p and q swapped": lambda *a: (lambda t: (*t[:3], t[4], t[3]))(_a1_tensor(*a)),
    },
    "check_solve": {
        "zero on edges (chapter 3)": _zero_on_edges,
        "the determinant as the guard": _det_guard,
        "+(p, q) on the right": _eig_solve(sign=1),
        "the normal flow along the weak eigenvector": _normal_flow_along_the_weak_eigenvector,
        "np.linalg.pinv (a relative cut-off)": _pinv,
        "an eigenvalue equal to min_eig kept": _eig_solve(keep=np.greater_equal),
        "the projection not divided by the eigenvalue": _eig_solve(divide=False),
    },
    "check_dense": {
        "chapter 3's one step": _a1_step(
            grads=_sobel_gradients, means=_filtered(lambda z, w: cv2.blur(z, (w, w))), solve=_zero_on_edges
        ),
        "gradients of prev alone": _a1_step(grads=lambda p, n: (*_a1_gradients(p, p)[:2], n - p)),
        "box windows": _a1_step(means=_filtered(lambda z, w: cv2.blur(z, (w, w)))),
        "zero on edges": _a1_step(solve=_zero_on_edges),
        "u and v swapped": lambda *a: _a1_lk(*a)[..., ::-1],
        "the sign": lambda *a: -_a1_lk(*a),
        "the window ignored (always 9)": lambda prev, next, window=9, min_eig=1e-5: _a1_lk(prev, next, 9, min_eig),
    },
    "check_pyramid": {
        label: (fn, _a1_lk)
        for label, fn in {
            "the flow not scaled going up": _a1_pyramid_with(scale=1.0),
            "doubled whatever the factor": _a1_pyramid_with(scale=2.0),
            "no warping": _a1_pyramid_with(warp=0),
            "warped the wrong way": _a1_pyramid_with(warp=-1),
            "every level starts from zero": _a1_pyramid_with(carry=0),
            "the flow replaced, not added": _a1_pyramid_with(add=0),
            "one level fewer": _a1_pyramid_with(fewer=1),
            "one iteration per level": lambda p, n, w=9, levels=2, it=3, f=0.5: _a1_pyramid(p, n, w, levels, 1, f),
            "levels ignored (always 2)": lambda p, n, w=9, levels=2, it=3, f=0.5: _a1_pyramid(p, n, w, 2, it, f),
        }.items()
    },
}
A1_CASES = [(check, label) for check in A1_WRONG for label in A1_WRONG[check]]


@pytest.fixture(scope="module")
def truth_a1():
    sys.path.insert(0, str(ROOT / "course"))
    try:
        return importlib.import_module("truth_a1")
    finally:
        sys.path.remove(str(ROOT / "course"))


def test_a1_every_part_has_a_right_answer_and_three_wrong_ones(truth_a1):
    checks = sorted(n for n in vars(truth_a1) if n.startswith("check_"))
    assert checks == sorted(A1_RIGHT) == sorted(A1_WRONG)
    assert all(len(A1_WRONG[c]) >= 3 for c in checks), {c: len(A1_WRONG[c]) for c in checks}
    print("\n" + "\n".join(f"A1 {c}: {len(A1_WRONG[c])} wrong answers" for c in checks))


@pytest.mark.parametrize("check", sorted(A1_RIGHT))
def test_a1_right_answer_passes(truth_a1, check):
    start = time.perf_counter()
    getattr(truth_a1, check)(*A1_RIGHT[check])
    assert time.perf_counter() - start < 10, f"{check} is too slow for the grader's 60 s per test"


@pytest.mark.parametrize("check, label", A1_CASES, ids=[f"{c}-{w}" for c, w in A1_CASES])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # unguarded solves divide by zero on purpose
def test_a1_wrong_answer_fails(truth_a1, check, label):
    wrong = A1_WRONG[check][label]
    with pytest.raises(AssertionError):
        getattr(truth_a1, check)(*(wrong if isinstance(wrong, tuple) else (wrong,)))


# ---------------------------------------------------------------- privacy
def _solution_lines(master: Path) -> set[str]:
    """Distinctive lines of a master's solutions: code between BEGIN/END SOLUTION and model answers."""
    nb = jupytext.read(master)
    lines, inside = set(), False
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "raw":
            inside = src.startswith("# BEGIN SOLUTION") or (inside and not src.startswith("# END SOLUTION"))
            continue
        if cell.cell_type == "code" and "# BEGIN SOLUTION" in src:
            body = src.split("# BEGIN SOLUTION", 1)[1].split("# END SOLUTION", 1)[0]
            lines |= {ln.strip() for ln in body.splitlines()}
        elif inside and cell.cell_type == "markdown":
            lines |= {ln.strip() for ln in src.splitlines()}
    return {ln for ln in lines if len(ln) >= 30 and not ln.startswith("#")}


def _hidden_test_lines() -> set[str]:
    """The assertions of the hidden tests (course/truth_*.py)."""
    lines = set()
    for helper in (ROOT / "course").glob("truth_*.py"):
        lines |= {ln.strip() for ln in helper.read_text().splitlines() if ln.strip().startswith("assert ")}
    return lines


SECRETS = {m.stem: _solution_lines(m) for m in course.masters()}


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_student_notebooks_hold_no_solution(name):
    assert len(SECRETS[name]) >= 5, f"{name}: too few solution lines found to test anything"
    for path in (course.STUDENT_DIR / f"{name}.ipynb", course.STUDENT_DIR / f"{name}.md"):
        text = path.read_text()
        assert not _leaks(text, SECRETS[name]), f"{path.name} shows solution lines: {_leaks(text, SECRETS[name])[:3]}"
        assert "truth_" not in text and "Model answer" not in text


def test_no_solution_in_the_built_book():
    html = ROOT / "_build" / "html"
    if not (html / "index.html").exists():
        pytest.skip("no built book in _build/html (make book)")
    secrets = set().union(*SECRETS.values()) | _hidden_test_lines()
    for page in html.rglob("*"):
        if page.suffix in (".html", ".ipynb", ".md", ".txt", ".js") and page.is_file():
            text = page.read_text(errors="ignore")
            leaks = _leaks(text, secrets)
            assert not leaks, f"{page.relative_to(html)} shows solution lines: {leaks[:3]}"
    assert not list(html.rglob("*autograder*")) and not list(html.rglob("*solution.ipynb"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    (path,) = out.glob("reidlib-*.whl")
    return path


def test_the_wheel_packs_only_the_library(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert all(n.startswith(("reidlib/", "reidlib-")) for n in names), [n for n in names if "reidlib" not in n]
    assert not [n for n in names if "course" in n or "truth_" in n or "autograder" in n]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_the_wheel_holds_no_solution_and_no_hidden_test(wheel, name):
    secrets = SECRETS[name] | _hidden_test_lines()
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if n.endswith((".py", ".json", ".md", ".txt")):
                leaks = _leaks(z.read(n).decode(errors="ignore"), secrets)
                assert not leaks, f"{n} in the wheel holds solution lines of {name}: {leaks[:3]}"
