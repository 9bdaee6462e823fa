"""The course assignments on otter-grader: build the student and teacher versions, grade a class.

The masters are ``course/a*.md`` (MyST text of otter-assign notebooks: solutions, public and
hidden tests, points, manual questions with their model answers). ``otter assign`` makes:

* the student notebooks, written to ``book/assignments/<name>.ipynb`` (and their MyST twins),
  with the book's Colab link and setup cell: these are what the published book shows;
* the teacher material in ``_build/teacher/<name>/`` (outside ``_build/html``): the autograder
  zip ``<name>-autograder.zip``, the solution notebook and ``rubric.md`` for the written parts.

Grading runs ``otter run`` (otter's local runner, no Docker) on every submission, in parallel,
in the quick profile, and writes one CSV row per student::

    python tools/course.py build                  # make assignments / make teacher
    python tools/course.py grade SUBMISSIONS      # make grade SUBMISSIONS=dir -> grades.csv
    python tools/course.py check                  # are the student notebooks up to date?
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbtools  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
STUDENT_DIR = ROOT / "book" / "assignments"
TEACHER_DIR = ROOT / "_build" / "teacher"


def masters(course: Path = COURSE) -> list[Path]:
    found = sorted(course.glob("a*.md"))
    if not found:
        raise FileNotFoundError(f"expected assignment masters course/a*.md in {course}; found none")
    return found


def _config(nb) -> dict:
    """The ``# ASSIGNMENT CONFIG`` of a master notebook."""
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# ASSIGNMENT CONFIG"):
            return yaml.safe_load(cell.source.split("\n", 1)[1])
    raise ValueError("a master must start with a raw cell '# ASSIGNMENT CONFIG' (otter-grader's format)")


def questions(master: Path) -> list[dict]:
    """Every question of a master: name, points, manual, and (manual ones) prompt and model answer."""
    nb = jupytext.read(master)
    out, current, where = [], None, None
    for cell in nb.cells:
        src = cell.source.strip()
        if cell.cell_type == "raw" and src.startswith("# BEGIN QUESTION"):
            current = {**yaml.safe_load(src.split("\n", 1)[1]), "prompt": [], "answer": []}
            current.setdefault("manual", False)
            where = "prompt"
        elif cell.cell_type == "raw" and src.startswith("# END QUESTION"):
            out.append(current)
            current = None
        elif cell.cell_type == "raw" and current is not None and src.startswith("# BEGIN SOLUTION"):
            where = "answer"
        elif cell.cell_type == "raw" and current is not None and src.startswith("# END SOLUTION"):
            where = None
        elif current is not None and cell.cell_type == "markdown" and where:
            current[where].append(src)
    return out


def _student_notebook(nb, path: Path):
    """otter's student notebook made into a book page: stable cell ids, no outputs, the Colab cells,
    and otter's init cell after the setup cell (which installs reidlib[course] on Colab)."""
    init = next(c for c in nb.cells if c.cell_type == "code" and "otter.Notebook(" in c.source)
    nb.cells.remove(init)
    init.source = f'import otter\n\ngrader = otter.Notebook("{path.name}")'
    nb = nbtools._with_colab_cells(nb, STUDENT_DIR / path.name, ROOT)  # links to the notebook in the book
    setup = next(i for i, c in enumerate(nb.cells) if c.get("id") == "colab-setup")
    nb.cells.insert(setup + 1, init)
    for i, cell in enumerate(nb.cells):
        if cell.get("id") not in ("colab-link", "colab-setup"):
            cell["id"] = f"cell-{i}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "otter": nb.metadata["otter"],
    }
    return nb


def rubric(master: Path) -> str:
    """The teacher's rubric: every manually graded question, its points and its model answer."""
    lines = [f"# Rubric: {master.stem}", ""]
    for q in questions(master):
        if q["manual"]:
            lines += [f"## {q['name']} ({q['points']} points, graded by hand)", "", *q["prompt"], ""]
            lines += ["### Model answer and what to look for", "", *q["answer"], ""]
    return "\n".join(lines)


def build(student_dir: Path = STUDENT_DIR, teacher_dir: Path = TEACHER_DIR, course: Path = COURSE) -> list[Path]:
    """Run ``otter assign`` on every master; return the autograder zips written."""
    zips = []
    for master in masters(course):
        name = master.stem
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "src"
            src.mkdir()
            for extra in course.glob("*.py"):
                shutil.copy(extra, src)
            nb = jupytext.read(master)
            nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
            nbformat.write(nb, src / f"{name}.ipynb")
            out = Path(tmp) / "dist"
            run = subprocess.run(
                [sys.executable, "-m", "otter", "assign", "--no-run-tests", "--no-pdfs", f"{name}.ipynb", str(out)],
                cwd=src,
                capture_output=True,
                text=True,
            )
            if run.returncode:
                raise RuntimeError(f"otter assign failed on {master}:\n{run.stdout}\n{run.stderr}")
            target = teacher_dir / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            (zip_path,) = (out / "autograder").glob("*.zip")
            shutil.copy(zip_path, target / f"{name}-autograder.zip")
            shutil.copy(out / "autograder" / f"{name}.ipynb", target / f"{name}-solution.ipynb")
            (target / "rubric.md").write_text(rubric(master))
            zips.append(target / f"{name}-autograder.zip")
            path = student_dir / f"{name}.ipynb"
            student = _student_notebook(nbformat.read(out / "student" / f"{name}.ipynb", as_version=4), path)
            student_dir.mkdir(parents=True, exist_ok=True)
            nbtools._write_pair(student, path)
            os.utime(path)  # the notebook is the source: `make sync` must not rewrite it from its twin
    return zips


def same_notebook(a: Path, b: Path) -> bool:
    """Whether two notebooks agree on metadata and every cell's kind, source and metadata (ids, and the
    blank lines around a source, which the text twin's round trip drops, aside)."""
    na, nb_ = (nbformat.read(p, as_version=4) for p in (a, b))
    cells = lambda n: [(c.cell_type, c.source.strip(), dict(c.metadata)) for c in n.cells]  # noqa: E731
    return na.metadata == nb_.metadata and cells(na) == cells(nb_)


def out_of_date(course: Path = COURSE) -> list[str]:
    """The student notebooks in book/assignments/ that differ from what the masters make now."""
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "student", Path(tmp) / "teacher", course)
        for made in sorted((Path(tmp) / "student").glob("*.ipynb")):
            kept = STUDENT_DIR / made.name
            if not kept.exists() or not same_notebook(kept, made):
                stale.append(kept.name)
    return stale


# ---------------------------------------------------------------- grading
def _students(submissions: Path) -> list[tuple[str, Path]]:
    """(student, notebook or zip): ``dir/<student>.ipynb`` or ``dir/<student>/<anything>.ipynb|.zip``."""
    found = []
    for p in sorted(Path(submissions).iterdir()):
        if p.suffix in (".ipynb", ".zip"):
            found.append((p.stem, p))
        elif p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix in (".ipynb", ".zip"))
            if len(files) != 1:
                raise ValueError(f"{p}: expected one notebook (.ipynb) or otter zip per student folder, found {files}")
            found.append((p.name, files[0]))
    if not found:
        raise FileNotFoundError(f"no submissions (*.ipynb, *.zip or one folder per student) in {submissions}")
    return found


def _grade_one(path: Path, autograder: Path, out: Path, timeout: float, env: dict) -> tuple[dict, str]:
    """({question: score}, note) for one submission, from ``otter run``'s results.json."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder), "-o", str(out), str(path)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {}, f"the whole notebook ran past {timeout:.0f} s and was stopped: 0 points"
    results = out / "results.json"
    if run.returncode or not results.exists():
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        return {}, f"otter could not grade this notebook ({tail[0][:200]}): 0 points"
    scores, notes = {}, []
    for test in json.loads(results.read_text())["tests"]:
        if "score" not in test:
            continue  # the public-test summary
        name = test["name"]
        scores[name] = test["score"]
        if test["score"] < test["max_score"]:
            reasons = re.findall(r"(\w+(?:Error|Exception)): (.*)", test.get("output", ""))
            why = "; ".join(f"{kind}: {msg.strip()[:160]}" for kind, msg in reasons[:2]) or "a test failed"
            notes.append(f"{name}: {why}")
    return scores, " | ".join(notes)


def grade(
    submissions: Path,
    master: Path,
    autograder: Path,
    csv_path: Path,
    jobs: int = 2,
    timeout: float = 1800,
    env_extra: dict | None = None,
) -> list[dict]:
    """Grade every submission in ``submissions`` with ``autograder``; write and return the CSV rows."""
    qs = questions(master)
    env = {
        **os.environ,
        "REIDLIB_PROFILE": "quick",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(COURSE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        **(env_extra or {}),
    }
    students = _students(submissions)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(_grade_one, path, autograder, Path(tmp) / f"{i}", timeout, env)
            for i, (_, path) in enumerate(students)
        ]
        graded = [f.result() for f in futures]
    header = ["student"] + [f"{q['name']} ({q['points']}{', manual' if q['manual'] else ''})" for q in qs]
    header += ["total (auto)", "notes"]
    rows = []
    for (student, _), (scores, note) in zip(students, graded):
        row = {"student": student}
        for q, col in zip(qs, header[1:]):
            row[col] = "" if q["manual"] else f"{scores.get(q['name'], 0):g}"
        row["total (auto)"] = f"{sum(scores.get(q['name'], 0) for q in qs if not q['manual']):g}"
        row["notes"] = note
        rows.append(row)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _assignment_of(submissions: Path) -> str:
    """The assignment of a folder of submissions, read from otter's metadata in the first notebook."""
    _, path = _students(submissions)[0]
    if path.suffix == ".ipynb":
        name = json.loads(path.read_text()).get("metadata", {}).get("otter", {}).get("assignment_name")
        if name:
            return name
    raise ValueError(f"cannot tell the assignment of {path}; pass --assignment a1_lucas_kanade (or a2_..., a3_...)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="student notebooks -> book/assignments, teacher material -> _build/teacher")
    sub.add_parser("check", help="exit 1 when book/assignments is out of date with course/")
    g = sub.add_parser("grade", help="grade a folder of submissions into a CSV")
    g.add_argument("submissions", type=Path)
    g.add_argument("--assignment", help="e.g. a3_cmc_ablation (default: read from the notebooks)")
    g.add_argument("--out", type=Path, help="CSV path (default: SUBMISSIONS/grades.csv)")
    g.add_argument("--jobs", type=int, default=2)
    g.add_argument("--timeout", type=float, default=1800, help="seconds for one whole notebook")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        for z in build():
            print(f"autograder: {z.relative_to(ROOT)}")
        print(f"student notebooks: {STUDENT_DIR.relative_to(ROOT)}/a*.ipynb; rubrics: _build/teacher/*/rubric.md")
        return 0
    if args.cmd == "check":
        stale = out_of_date()
        for name in stale:
            print(f"book/assignments/{name} is out of date with course/: run `make assignments`")
        return 1 if stale else 0
    name = args.assignment or _assignment_of(args.submissions)
    autograder = TEACHER_DIR / name / f"{name}-autograder.zip"
    if not autograder.exists():
        raise SystemExit(f"no autograder at {autograder}: run `make teacher` first")
    out = args.out or args.submissions / "grades.csv"
    rows = grade(args.submissions, COURSE / f"{name}.md", autograder, out, args.jobs, args.timeout)
    print(f"{len(rows)} submissions graded -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
