"""Every assignment runs on Colab as a student opens it: a simulated Colab runtime.

Colab runs a notebook opened from GitHub in ``/content``, where neither the notebook file nor a
``tests`` folder exists, and its shell is ``google.colab._shell.Shell`` (otter-grader looks for that
name and then refuses tests kept in the notebook's metadata). The simulation reproduces all three in
a fresh interpreter: an empty working folder, a ``google.colab`` package whose ``_shell.Shell`` is an
IPython shell, and a ``sys.executable`` that logs the setup cell's pip commands instead of installing.
It then runs the student notebook's code cells in order, as "Run all" does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools.grading import build, masters, sealed

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

RUNNER = r"""
import json, sys, traceback
sys.path.insert(0, sys.argv[1])  # the fake google.colab
import google.colab  # noqa: F401  (Colab has it loaded: the setup cell looks in sys.modules)
from google.colab._shell import Shell

cells = json.load(open(sys.argv[2]))
upto = int(sys.argv[3])
shell = Shell.instance()
sys.executable = sys.argv[4]  # pip goes to a logger
report = {"errors": {}, "checks": {}}
for i, src in enumerate(cells[:upto]):
    result = shell.run_cell(src, store_history=False)
    error = result.error_in_exec or result.error_before_exec
    if error is not None:
        report["errors"][i] = f"{type(error).__name__}: {error}"
for i, src in enumerate(cells[:upto]):
    if src.startswith("grader.check("):
        name = src.split('"')[1]
        try:
            report["checks"][name] = bool(shell.user_ns["grader"].check(name, shell.user_ns).passed_all)
        except Exception as e:
            report["checks"][name] = f"{type(e).__name__}: {e}"
print("REPORT" + json.dumps(report))
"""

FAKE_PIP = """#!{python}
import json, os, sys
with open(os.path.join(os.path.dirname(__file__), "pip.log"), "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def colab_run(nb, tmp_path: Path, upto: int | None = None) -> dict:
    """Run the code cells of ``nb`` (the first ``upto`` of them) as Colab would -> {errors, checks, pip}."""
    fake = tmp_path / "fake"
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s package."""\n')
    (fake / "google" / "colab" / "_shell.py").write_text(
        "from IPython.core.interactiveshell import InteractiveShell\n\n\nclass Shell(InteractiveShell):\n    pass\n"
    )
    pip = fake / "python"
    pip.write_text(FAKE_PIP.format(python=sys.executable))
    pip.chmod(0o755)
    content = tmp_path / "content"  # Colab's working folder: no notebook file, no tests folder
    content.mkdir()
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    (tmp_path / "cells.json").write_text(json.dumps(cells))
    (tmp_path / "runner.py").write_text(RUNNER)
    run = subprocess.run(
        [
            sys.executable,
            str(tmp_path / "runner.py"),
            str(fake),
            str(tmp_path / "cells.json"),
            str(len(cells) if upto is None else upto),
            str(pip),
        ],
        cwd=content,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "REIDLIB_PROFILE": "quick", "MPLBACKEND": "Agg"},
    )
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("REPORT")), None)
    assert line, f"the simulated Colab runtime did not finish:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    report = json.loads(line[len("REPORT") :])
    log = fake / "pip.log"
    report["pip"] = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return report


@pytest.fixture(scope="module")
def secret():
    """The sealed masters: without the secret, a loud skip (a failure under CI=true)."""
    why = sealed.secret_problem()
    if why:
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(why)


def _student(name: str):
    return nbformat.read(build.STUDENT_DIR / f"{name}.ipynb", as_version=4)


def _graded_cells(nb) -> int:
    """How many code cells come before the first experiment (otter_ignore): the part a blank notebook runs."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    return next(i for i, c in enumerate(code) if "otter_ignore" in c.metadata.get("tags", []))


@pytest.mark.parametrize("name", masters.names(public=False))
def test_a_blank_assignment_opens_and_checks_on_colab(name, tmp_path):
    """The student notebook as published: setup, public checks, every part's check runs (and fails: blank)."""
    nb = _student(name)
    report = colab_run(nb, tmp_path, _graded_cells(nb))
    assert report["errors"] == {}, report["errors"]
    assert report["pip"] and report["pip"][0][:5] == ["-m", "pip", "install", "-q", "--no-deps"], report["pip"]
    parts = [q for q, manual in _questions(name) if not manual]
    assert report["checks"] == {q: False for q in parts}, report["checks"]  # found, run, failed


def _questions(name: str) -> list[tuple[str, bool]]:
    nb = _student(name)
    found = []
    for cell in nb.cells:
        q = cell.metadata.get("course", {}).get("question")
        if q and (q, cell.cell_type == "markdown") not in found:
            found.append((q, cell.cell_type == "markdown"))
    return found


def test_the_earlier_init_cell_fails_on_colab(tmp_path):
    """The simulation catches what broke A2 on Colab: tests kept in the notebook's metadata."""
    nb = _student("a2_fcn_attention")
    checks = next(c for c in nb.cells if c.source.startswith(build.CHECKS_HEADER))
    checks.source = 'import otter\n\ngrader = otter.Notebook("a2_fcn_attention.ipynb")'
    report = colab_run(nb, tmp_path, _graded_cells(nb))
    assert any("does not exist" in e for e in report["errors"].values()), report["errors"]


@pytest.mark.parametrize("name", masters.names(public=False))
def test_a_solved_assignment_runs_top_to_bottom_on_colab(secret, name, tmp_path):
    """The teacher's solutions in the student notebook: every cell runs, experiments included (quick
    profile), and every public check passes."""
    solved = build.solved(_student(name), masters.assignment(name))
    report = colab_run(solved, tmp_path)
    assert report["errors"] == {}, report["errors"]
    assert report["checks"] and all(v is True for v in report["checks"].values()), report["checks"]
