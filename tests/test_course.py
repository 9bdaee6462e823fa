"""The course on otter-grader (tools/course.py, course/): build, grade a class, keep solutions private.

A class of six A3 submissions made here from the student notebook (right, wrong, blank,
tampered, shortcut, endless loop) is graded by ``otter run`` through ``tools/course.py grade``,
and its CSV is compared with what each submission deserves. The graders run in the quick
profile with short time limits, two at a time.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jupytext
import nbformat
import pytest

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


A1_GAP = pytest.mark.xfail(
    strict=True,
    reason="A1 still asks for the steps of the library's own Lucas-Kanade (reidlib/preprocess/flow.py): "
    "its variant parts are not written yet",
)


@pytest.mark.parametrize("name", [pytest.param(n, marks=A1_GAP) if n.startswith("a1") else n for n in sorted(SECRETS)])
def test_the_wheel_holds_no_solution_and_no_hidden_test(wheel, name):
    secrets = SECRETS[name] | _hidden_test_lines()
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if n.endswith((".py", ".json", ".md", ".txt")):
                leaks = _leaks(z.read(n).decode(errors="ignore"), secrets)
                assert not leaks, f"{n} in the wheel holds solution lines of {name}: {leaks[:3]}"
