"""Grade a class: every submission in its sandbox, the hidden tests in the grader, one verdict each.

The grader (this process) keeps the hidden tests and their truth modules to itself. For each
submission it runs the notebook's code cells in a sandbox (cells tagged ``otter_ignore`` are not run:
they are the experiments after the graded parts), then calls each hidden test with stand-ins for the
student's functions (:class:`~tools.grading.run.RemoteFunction`): the student's code runs in the
sandbox, only plain values come back, and the test decides.

The submissions and the teacher's material are checksummed before and after; a difference stops the
run (:class:`IntegrityError`) and no grade sheet is written.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import queue
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import libcopy
from .masters import REGISTRY, Assignment
from .run import NotebookRun, RemoteFunction, SandboxGone
from .sandbox import Limits

MAX_NOTEBOOK_MB = 20


class IntegrityError(RuntimeError):
    """Files changed while the class was graded: the submissions or the teacher's material."""


@dataclass
class Submission:
    student: str
    notebook: Path | None  # the one that counts (the newest), None when there is none
    others: list[Path] = field(default_factory=list)  # older notebooks and other files, not graded
    problem: str = ""  # why it cannot be graded, if so


def find_submissions(folder: Path) -> list[Submission]:
    """``folder/<student>.ipynb`` or ``folder/<student>/<anything>.ipynb``. In a student's folder the newest
    notebook (by modification time, then name) counts; the others are listed, never graded."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder of submissions at {folder}")
    found: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink():
            found.setdefault(entry.name, []).extend(p for p in sorted(entry.iterdir()) if not p.name.startswith("."))
        elif entry.suffix == ".ipynb":
            found.setdefault(entry.stem, []).append(entry)
    if not found:
        raise FileNotFoundError(f"no submissions in {folder}: expected <student>.ipynb files or one folder per student")
    subs = []
    for student, files in sorted(found.items()):
        notebooks = [p for p in files if p.suffix == ".ipynb" and p.is_file() and not p.is_symlink()]
        notebooks.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
        if not notebooks:
            links = [p for p in files if p.is_symlink()]
            why = "a link, not a notebook file" if links else "no notebook (.ipynb) in the folder"
            subs.append(Submission(student, None, files, f"{why}: not graded"))
            continue
        subs.append(Submission(student, notebooks[0], [p for p in files if p != notebooks[0]]))
    return subs


def digests(paths: list[Path]) -> dict[str, str]:
    """sha256 of every file under ``paths`` (a link is recorded by its target, never followed)."""
    out = {}
    for top in paths:
        for p in sorted([top] if top.is_file() or top.is_symlink() else top.rglob("*")):
            if p.is_symlink():
                out[str(p)] = "link:" + str(p.readlink())
            elif p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def code_cells(nb) -> list[str]:
    """The cells grading runs: every code cell but those tagged ``otter_ignore``."""
    return [c.source for c in nb.cells if c.cell_type == "code" and "otter_ignore" not in c.metadata.get("tags", [])]


def load_truths(assignment: Assignment) -> None:
    """Import the assignment's truth modules under their names, for the hidden tests' ``import truth_aN``."""
    for path in assignment.truth_modules():
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)


def _note(e: BaseException) -> str:
    if isinstance(e, AssertionError):
        return str(e) or "a test failed"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


class Grader:
    """One assignment's hidden tests and grading copy of reidlib, applied to submissions."""

    def __init__(self, assignment: Assignment, limits: Limits, sandboxed: bool = True):
        self.assignment, self.limits, self.sandboxed = assignment, limits, sandboxed
        self.questions = assignment.questions()
        self.tests = assignment.hidden_tests()
        load_truths(assignment)
        self.workdir = Path(tempfile.mkdtemp(prefix="reidlib-grader-"))
        self.lib = self.workdir / "lib"
        libcopy.write(self.lib, assignment.name, assignment.allow)
        (self.lib / "otter").mkdir()
        (self.lib / "otter" / "__init__.py").write_text(OTTER_STUB)

    def material(self) -> list[Path]:
        """What the verdicts rest on, checksummed around the run."""
        return [self.assignment.master, *self.assignment.truth_modules(), REGISTRY, self.lib]

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _points(self, test) -> float:
        q = next(q for q in self.questions if q["name"] == test.question)
        share = [t for t in self.tests if t.question == test.question]
        return float(test.points if test.points is not None else q["points"] / len(share))

    def grade(self, sub: Submission, slot: int = 0) -> dict:
        """One submission -> {student, notebook, others, scores, failures, notes, cells, seconds}."""
        start = time.monotonic()
        result = {
            "student": sub.student,
            "notebook": sub.notebook.name if sub.notebook else "",
            "others": [p.name for p in sub.others],
            "scores": {t.question: 0.0 for t in self.tests},
            "failures": {},
            "notes": [sub.problem] if sub.problem else [],
            "cells": {},
        }
        nb = self._read(sub, result)
        if nb is not None:
            run = NotebookRun(code_cells(nb), self.lib, self.limits, slot, self.sandboxed)
            try:
                self._test(run, result)
            finally:
                run.close()
            result["cells"] = {"stopped": run.stopped, "errors": run.errors, "starts": run.starts}
        result["seconds"] = round(time.monotonic() - start, 2)
        return result

    def _read(self, sub: Submission, result: dict):
        if sub.notebook is None:
            return None
        if sub.notebook.stat().st_size > MAX_NOTEBOOK_MB << 20:
            result["notes"].append(f"{sub.notebook.name} is over {MAX_NOTEBOOK_MB} MB: not graded")
            return None
        try:
            nb = nbformat.read(sub.notebook, as_version=4)
        except Exception as e:  # any unreadable file: a note, not a crash of the whole class
            result["notes"].append(f"{sub.notebook.name} is not a readable notebook ({type(e).__name__}): not graded")
            return None
        named = nb.metadata.get("otter", {}).get("assignment_name") if isinstance(nb.metadata, dict) else None
        if named and named != self.assignment.name:
            result["notes"].append(f"the notebook says it is {named}, not {self.assignment.name}")
        return nb

    def _test(self, run: NotebookRun, result: dict) -> None:
        for test in self.tests:
            points = self._points(test)
            namespace: dict = {"__name__": f"hidden_{self.assignment.name}"}
            exec(compile(test.source, f"<hidden test {test.name}>", "exec"), namespace)
            fn = namespace[test.name]
            try:
                if not run.ready():
                    raise SandboxGone(run.gone)
                run.call_deadline = time.monotonic() + self.limits.test_s
                fn(**{p: RemoteFunction(run, p) for p in inspect.signature(fn).parameters})
                result["scores"][test.question] += points
            except SandboxGone as e:
                result["failures"].setdefault(test.question, []).append(str(e))
            except Exception as e:  # the student's answer failed the test
                result["failures"].setdefault(test.question, []).append(_note(e))
            finally:
                run.call_deadline = None


OTTER_STUB = '''"""Grading stand-in for otter-grader: the public checks do not run while a notebook is graded."""


class Notebook:
    def __init__(self, *args, **kwargs):
        pass

    def check(self, *args, **kwargs):
        print("grader.check: public checks are not run while grading; the hidden tests decide")

    def __getattr__(self, name):
        return lambda *args, **kwargs: None
'''


def grade_class(
    assignment: Assignment,
    submissions: Path,
    limits: Limits,
    jobs: int = 2,
    sandboxed: bool = True,
    progress=None,
) -> list[dict]:
    """Grade every submission in ``submissions`` (in parallel, ``jobs`` sandboxes at once)."""
    subs = find_submissions(submissions)
    grader = Grader(assignment, limits, sandboxed)
    watched = [Path(submissions), *grader.material()]
    before = digests(watched)
    slots: queue.Queue = queue.Queue()
    for i in range(jobs):
        slots.put(i)

    def one(sub: Submission) -> dict:
        slot = slots.get()
        try:
            result = grader.grade(sub, slot)
        finally:
            slots.put(slot)
        if progress:
            progress(result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(one, subs))
        after = digests(watched)
    finally:
        grader.close()
    diff = changed(before, after)
    if diff:
        raise IntegrityError(
            f"{len(diff)} file(s) changed while the class was graded, so no grade can be trusted and no sheet "
            f"was written: {', '.join(diff[:10])}. Find out what changed them, restore the originals, grade again."
        )
    return results


def save(results: list[dict], assignment: Assignment, out: Path) -> Path:
    """results.json: everything the sheet, the feedback and a later merge of manual scores need."""
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "assignment": assignment.name,
        "questions": [
            {"name": q["name"], "points": q["points"], "manual": q["manual"]} for q in assignment.questions()
        ],
    }
    path = out / "results.json"
    path.write_text(json.dumps({**meta, "results": results}, indent=1, default=str) + "\n")
    return path
