"""A made-up class, to try the grader before a real one (and to time it): ``python tools/course.py drill
a3_cmc_ablation --size 30``. Its students take turns: the teacher's solutions, a blank notebook, and
one that answers the first half of the automatic parts."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat

from . import build, masters


def make_class(assignment: masters.Assignment, student_path: Path, folder: Path, size: int) -> dict[str, float]:
    """Write ``size`` notebooks into ``folder``; return the automatic points each should earn."""
    student = nbformat.read(student_path, as_version=4)
    solved = build.solved(student, assignment)
    auto = [q for q in assignment.questions() if not q["manual"]]
    half = {q["name"] for q in auto[: len(auto) // 2]}
    partial = nbformat.from_dict(nbformat.reads(nbformat.writes(student), as_version=4))
    for mine, theirs in zip(partial.cells, solved.cells, strict=True):
        if mine.metadata.get("course", {}).get("question") in half:
            mine.source = theirs.source
    kinds = [
        (solved, sum(q["points"] for q in auto)),
        (student, 0.0),
        (partial, sum(q["points"] for q in auto if q["name"] in half)),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for i in range(size):
        nb, points = kinds[i % len(kinds)]
        nbformat.write(nb, folder / f"student{i:02d}.ipynb")
        expected[f"student{i:02d}"] = float(points)
    return expected


def student_notebook(assignment: masters.Assignment) -> Path:
    if assignment.public:
        path = build.TEACHER_DIR / assignment.name / f"{assignment.name}.ipynb"
        return path if path.exists() else build.build(assignment)
    return build.STUDENT_DIR / f"{assignment.name}.ipynb"


def run(name: str, size: int, jobs: int, grade, workdir: Path) -> tuple[float, list[str]]:
    """Make and grade a class of ``size``; return (seconds, students whose points differ from their due)."""
    assignment = masters.assignment(name)
    expected = make_class(assignment, student_notebook(assignment), workdir / "class", size)
    start = time.monotonic()
    sheet = grade(name, workdir / "class", workdir / "graded", jobs)
    seconds = time.monotonic() - start
    import csv

    with open(sheet, newline="") as f:
        wrong = [r["student"] for r in csv.DictReader(f) if float(r["auto"]) != expected[r["student"]]]
    return seconds, wrong
