"""Every repository path named in the docs, docstrings and comments exists: a moved or renamed file
leaves no stale pointer behind (as the Makefile once named training/shipped.py, which had moved).

A repository path is a token such as ``reidlib/data/loaders/mars.py``, ``benchmarks/bench_*.py`` or
``docs/`` whose first part is a top-level entry of the repository, or a bare ``NAME.md`` / ``NAME.toml``.
Paths of a reader's own files (a dataset's layout, a run folder) start elsewhere and are not checked;
those few that start like a repository path are listed in ``EXAMPLES``, each with why.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import os
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "_build", "__pycache__", ".pytest_cache", "runs"}

# Named like a repository path (or a bare file of the repository), and meant as an example or a user's file.
EXAMPLES = {
    "results.md": "a run folder's table (reidlib.experiments.write_table)",
    "rubric.md": "the teacher's rubric, written into _build/teacher/<name>/ (tools/grading/build.py)",
    "similarity.md": "the similarity report written beside a class's grades (tools/grading/similarity.py)",
    "X.md": "any chapter's text twin (tools/nbtools.py)",
    "reidlib/results/budget.json": "the end-to-end budget study: written by benchmarks/bench_accuracy.py "
    "--budget-report, not in the repository yet (chapter 11 reads it)",
}
# chNN.py, <name>/, {head}.pt, speed_<device>.json, ...; a regular expression (^book/.*\.md$) is no path.
PLACEHOLDER = re.compile(r"NN|NAME|[<>{}]|\.\.\.|\.\*")

PATH = re.compile(r"(?<![\w./$@~<>{}-])((?:[.\w<{][\w.*<>{}-]*/)+[\w.*<>{}-]*)")
BARE = re.compile(r"(?<![\w./$@~<>{}-])([A-Za-z_][\w-]*\.(?:md|toml|cfg|cff))(?![\w/-])")


def _tracked() -> list[str]:
    """The repository's files: git's list in a checkout, else every file outside build and cache folders."""
    try:
        git = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]  # new files count before git add
        out = subprocess.run(git, cwd=ROOT, capture_output=True, text=True, check=True)
        return [f for f in out.stdout.splitlines() if f]
    except (OSError, subprocess.CalledProcessError):
        found = []
        for folder, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
            found += [Path(folder, n).relative_to(ROOT).as_posix() for n in names]
        return found


FILES = set(_tracked())
FOLDERS = {"/".join(f.split("/")[:k]) for f in FILES for k in range(1, f.count("/") + 1)}
TOP = {f.split("/")[0] for f in FILES}
NAMES = {f.rsplit("/", 1)[-1] for f in FILES}


def _python_prose(text: str) -> str:
    """The docstrings and comments of a Python source."""
    parts = [
        ast.get_docstring(node, clean=False) or ""
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    parts += [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]
    return "\n".join(parts)


def prose() -> dict[str, str]:
    """Where -> the text to check: docs whole, Python files by their docstrings and comments."""
    out = {}
    for f in FILES:
        path = ROOT / f
        if f.endswith(".py"):
            out[f] = _python_prose(path.read_text())
        elif f.endswith((".md", ".toml", ".yml", ".yaml", ".cfg", ".cff")) or f in ("Makefile", ".ci/run"):
            if not f.startswith(("tests/fixtures/", "book/assignments/")):  # fabricated pages, generated notebooks
                out[f] = path.read_text()
    return out


def missing(token: str) -> bool:
    """Whether ``token`` names a repository path that does not exist."""
    path = token.rstrip("/")
    if path in EXAMPLES or PLACEHOLDER.search(path):
        return False
    if "/" not in token:
        return path not in NAMES  # a bare NAME.md: a file somewhere in the repository
    if path.split("/")[0] not in TOP:
        return False  # not a repository path: a dataset layout, a run folder, a URL's tail
    if "*" in path:
        return not any(fnmatch.fnmatch(f, path) for f in FILES | FOLDERS)
    # _toc.yml names chapters without their suffix
    return path not in FILES and path not in FOLDERS and not any(f.startswith(path + ".") for f in FILES)


def named_paths(text: str) -> set[str]:
    """The tokens of ``text`` that look like paths (``a/b``, ``a/``, ``a/*.py``) or bare ``NAME.md`` files."""
    return {m.rstrip(".,:;") for m in PATH.findall(text)} | set(BARE.findall(text))


PROSE = prose()


@pytest.mark.parametrize("where", sorted(PROSE))
def test_every_path_named_exists(where):
    stale = sorted(t for t in named_paths(PROSE[where]) if missing(t))
    assert not stale, f"{where} names repository paths that do not exist: {stale}"


def test_the_check_finds_a_stale_path_and_passes_a_user_path():
    assert missing("reidlib/training/shipped.py") and missing("DESIGN.md") and missing("benchmarks/bench_nothing_*.py")
    assert not missing("reidlib/experiments/shipped.py") and not missing("benchmarks/bench_*.py")
    assert not missing("reidlib/book/") and not missing("i-LIDS-VID/sequences/cam1") and not missing("runs/weights")
    text = "see `reidlib/models/build.py`, docs/architecture.md and /content/runs/x; MARS/info/query_IDX.mat"
    assert named_paths(text) >= {"reidlib/models/build.py", "docs/architecture.md"}
    assert not any(missing(t) for t in named_paths(text))
