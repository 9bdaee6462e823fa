"""The README's steps for teachers work in the order written: every command they name exists, and the
pin-a-tag flow, run in a scratch repository with a remote, leaves a tag whose notebooks point at it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import link_check, nbtools

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

ROOT = nbtools.ROOT
TAG = "course-2026-fall"


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## For teachers", 1)[1].split("\n## ", 1)[0]


def test_every_command_the_teachers_section_names_exists():
    section = _section()
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    named = set(re.findall(r"`make ([\w-]+)", section))
    assert named and named <= targets, f"README names make targets the Makefile lacks: {named - targets}"
    commands = set(re.findall(r"python tools/course\.py (\w+)", section))
    assert {"grade", "merge", "seal", "unseal", "drill"} <= commands
    helps = ""
    for cmd in sorted(commands):
        run = subprocess.run(
            [sys.executable, "tools/course.py", cmd, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert run.returncode == 0, f"tools/course.py {cmd}: {run.stderr}"
        helps += run.stdout
    for option in re.findall(r"`(--[\w-]+)", section):
        assert option in helps, f"README names {option}, which no command takes"


def test_the_steps_come_in_a_working_order():
    steps = re.findall(r"^\d+\. \*\*(.+?)\*\*", _section(), re.M)
    assert steps[:2] == ["Pin a version for the term", "Build."] and steps[-1] == "Grade the written parts."
    pin = _section().split("1. **Pin", 1)[1].split("2. **Build", 1)[0]
    order = [pin.index(word) for word in ("branch:", "make sync", "git commit", "git tag", "git push")]
    assert order == sorted(order), "the pin step must set the branch, sync, commit, then tag and push"


def _pin_commands() -> list[str]:
    block = _section().split("1. **Pin", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [ln.split("#", 1)[0].strip() for ln in block.splitlines() if ln.split("#", 1)[0].strip()]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def _scratch(tmp_path: Path) -> tuple[Path, Path]:
    """A repository holding the book's notebooks and tools (as tracked now), with a bare remote."""
    repo, remote = tmp_path / "book", tmp_path / "remote.git"
    files = _git(ROOT, "ls-files", "book", "tools", "_config.yml", "_toc.yml", "pyproject.toml").split()
    for f in files:
        if (ROOT / f).is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            (repo / f).write_bytes((ROOT / f).read_bytes())
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    for key, value in (("user.name", "Teacher"), ("user.email", "teacher@example.org")):
        _git(repo, "config", key, value)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the book as published")
    _git(repo, "remote", "add", "origin", str(remote))
    return repo, remote


def _run(repo: Path, command: str) -> None:
    if command == "make sync":  # what the target runs (the scratch copy has no .venv of its own)
        args = [sys.executable, "tools/nbtools.py", "sync"]
    else:
        args = shlex.split(command)
    run = subprocess.run(args, cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0, f"{command}: {run.stdout}{run.stderr}"


def _branches_at(repo: Path, ref: str) -> set[str]:
    """The branch or tag every notebook at ``ref`` links to (Colab link) and installs from (setup cell)."""
    found = set()
    for path in _git(repo, "ls-tree", "-r", "--name-only", ref, "book").split():
        if path.endswith(".ipynb"):
            nb = nbformat.reads(_git(repo, "show", f"{ref}:{path}"), as_version=4)
            text = "\n".join(c.source for c in nb.cells)
            found |= {link_check.colab_target(u)[1] for u in re.findall(r"https://colab\.research[^\s)]+", text)}
            found |= set(re.findall(r"git\+https://github\.com/[^@\"]+@([^\"]+)\"", text))
    return found


def test_the_pin_a_tag_flow_as_written(tmp_path):
    repo, remote = _scratch(tmp_path)
    config = repo / "_config.yml"
    config.write_text(re.sub(r"(\n  branch: )\S+", rf"\g<1>{TAG}", config.read_text(), count=1))
    for command in _pin_commands():
        _run(repo, command)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", TAG, str(remote), str(clone)], check=True, capture_output=True)
    assert _branches_at(clone, TAG) == {TAG}


def test_tagging_before_setting_the_branch_pins_nothing(tmp_path):
    """The order the README warns against: the tagged commit's notebooks still point at main."""
    repo, _ = _scratch(tmp_path)
    _git(repo, "tag", TAG)
    config = repo / "_config.yml"
    config.write_text(re.sub(r"(\n  branch: )\S+", rf"\g<1>{TAG}", config.read_text(), count=1))
    _run(repo, "make sync")
    assert _branches_at(repo, TAG) == {"main"}
