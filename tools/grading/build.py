"""Student notebooks and teacher material from the masters, with ``otter assign``.

otter-grader makes the student version of a master (solutions replaced by ``...``, hidden tests
removed, public tests kept) and the solution notebook. This module turns them into:

* the student notebook (``book/assignments/<name>.ipynb`` and its MyST twin for the book's
  assignments; ``_build/teacher/<name>/<name>.ipynb`` for the public demo), with the book's Colab link
  and setup cell, and a *public checks* cell that writes the public tests to ``./tests`` before it
  makes ``grader = otter.Notebook(tests_dir="tests")``: on Colab the notebook is not a file the kernel
  can read, so tests kept in its metadata would not be found there. Each answer cell carries
  ``metadata.course.question``, which the grader uses to find the written answers and the code of each
  part;
* the teacher's folder ``_build/teacher/<name>/``: the solution notebook and ``rubric.md``.

otter's autograder zip is not used: its grading runs the student's code in the same process as the
hidden tests (see tools/grading/__init__.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from tools import nbtools

from .masters import ROOT, Assignment, solution_cells

STUDENT_DIR = ROOT / "book" / "assignments"
TEACHER_DIR = ROOT / "_build" / "teacher"
CHECKS_HEADER = "# The public checks:"


def checks_source(tests: dict[str, str]) -> str:
    """The cell that writes the public tests to ./tests and makes otter's ``grader``."""
    entries = []
    for name, source in tests.items():
        body = source.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        entries.append(f'    "{name}": """\\\n{body}\n""",')
    src = "\n".join(
        [
            f'{CHECKS_HEADER} `grader.check("{next(iter(tests))}")` after a part runs a few examples.',
            "# They are written to ./tests here, so they run on Colab, JupyterHub or a laptop alike;",
            "# your grade comes from other, hidden tests that your teacher runs.",
            "import pathlib",
            "",
            "import otter",
            "",
            "PUBLIC_CHECKS = {",
            *entries,
            "}",
            'pathlib.Path("tests").mkdir(exist_ok=True)',
            "for name, source in PUBLIC_CHECKS.items():",
            '    (pathlib.Path("tests") / f"{name}.py").write_text(source)',
            'grader = otter.Notebook(tests_dir="tests")',
        ]
    )
    return _formatted(src)


def _formatted(src: str) -> str:
    """``src`` as ``ruff format`` writes a notebook cell of the book (book/ruff.toml)."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--config",
            str(ROOT / "book" / "ruff.toml"),
            "--stdin-filename",
            "cell.py",
            "-",
        ],
        input=src + "\n",
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise RuntimeError(f"ruff could not format the public checks cell: {run.stderr}")
    return run.stdout.rstrip("\n")


def _tag_answers(nb) -> None:
    """``metadata.course.question`` on every answer cell: the question of the ``grader.check`` that
    follows a code answer, or of the ``<!-- BEGIN QUESTION -->`` block around a written answer."""
    pending, block = [], []
    manual_questions = iter(name for name, manual in nb.metadata.get("course", {}).get("questions", []) if manual)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown" and "<!-- BEGIN QUESTION -->" in cell.source:
            block = [True]
        elif cell.cell_type == "markdown" and "<!-- END QUESTION -->" in cell.source:
            name = next(manual_questions)
            for answer in block[1:]:
                answer.metadata["course"] = {"question": name}
            block = []
        elif "otter_answer_cell" in tags:
            (block if block else pending).append(cell)
        elif cell.cell_type == "code" and cell.source.startswith("grader.check("):
            name = cell.source.split('"')[1]
            for answer in pending:
                answer.metadata["course"] = {"question": name}
            pending = []


def student_notebook(nb, assignment: Assignment, path: Path, tests: dict[str, str], book: bool):
    """otter's student notebook made into the course's: checks cell, tags, ids, no outputs, Colab cells."""
    init = next(c for c in nb.cells if c.cell_type == "code" and "otter.Notebook(" in c.source)
    init.source = checks_source(tests)
    init.metadata = {"tags": ["hide-input"]}
    nb.metadata["course"] = {"questions": [(q["name"], q["manual"]) for q in assignment.questions()]}
    _tag_answers(nb)
    nb.cells.remove(init)
    if book:
        nb = nbtools._with_colab_cells(nb, STUDENT_DIR / path.name, ROOT)  # the book's Colab link and setup cell
        after = next(i for i, c in enumerate(nb.cells) if c.get("id") == "colab-setup")
    else:
        after = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")  # the title
    nb.cells.insert(after + 1, init)
    for i, cell in enumerate(nb.cells):
        if cell.get("id") not in ("colab-link", "colab-setup"):
            cell["id"] = f"cell-{i}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "otter": {"assignment_name": assignment.name},
    }
    return nb


def build(assignment: Assignment, student_dir: Path | None = None, teacher_dir: Path = TEACHER_DIR) -> Path:
    """Run ``otter assign`` on one master; write the student notebook and the teacher's folder.
    Returns the student notebook's path."""
    book = not assignment.public
    target = teacher_dir / assignment.name
    student_dir = student_dir or (STUDENT_DIR if book else target)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "dist"
        src.mkdir()
        nb = nbformat.from_dict(assignment.notebook)
        nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
        nbformat.write(nb, src / f"{assignment.name}.ipynb")
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "otter",
                "assign",
                "--no-run-tests",
                "--no-pdfs",
                f"{assignment.name}.ipynb",
                str(out),
            ],
            cwd=src,
            capture_output=True,
            text=True,
        )
        if run.returncode:
            raise RuntimeError(f"otter assign failed on {assignment.master}:\n{run.stdout}\n{run.stderr}")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "autograder" / f"{assignment.name}.ipynb", target / f"{assignment.name}-solution.ipynb")
        (target / "rubric.md").write_text(assignment.rubric())
        made = nbformat.read(out / "student" / f"{assignment.name}.ipynb", as_version=4)
        tests = made.metadata["otter"]["tests"]
        path = student_dir / f"{assignment.name}.ipynb"
        student = student_notebook(made, assignment, path, tests, book)
        student_dir.mkdir(parents=True, exist_ok=True)
        if book:
            nbtools._write_pair(student, path)
            os.utime(path)  # the notebook is the source: `make sync` must not rewrite it from its twin
        else:
            nbformat.write(student, path)
    return path


def same_notebook(a: Path, b: Path) -> bool:
    """Whether two notebooks agree on metadata and every cell's kind, source and metadata (ids, and the
    blank lines around a source, which the text twin's round trip drops, aside)."""
    na, nb_ = (nbformat.read(p, as_version=4) for p in (a, b))
    cells = lambda n: [(c.cell_type, c.source.strip(), dict(c.metadata)) for c in n.cells]  # noqa: E731
    return na.metadata == nb_.metadata and cells(na) == cells(nb_)


def solved(student, assignment: Assignment):
    """A copy of the student notebook with the master's solutions in its answer cells (the teacher's
    submission: it earns every automatic point)."""
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    solutions = {q: iter(cells) for q, cells in solution_cells(assignment).items()}
    for cell in nb.cells:
        question = cell.metadata.get("course", {}).get("question")
        if question in solutions:
            cell.source = next(solutions[question], cell.source)
    return nb
