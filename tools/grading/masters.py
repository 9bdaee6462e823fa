"""The assignments and their masters: questions, points, hidden tests, rubrics, solution lines.

A master is the MyST text of an otter-assign notebook (``# ASSIGNMENT CONFIG``, questions between
``# BEGIN QUESTION`` and ``# END QUESTION``, solutions, public and hidden tests). The sealed
assignments' masters are read from the teacher's folder (``_build/teacher/masters``, unsealed there on
demand); the public demo's from ``course/demo``. ``course/assignments.toml`` lists every assignment with
the reidlib names its notebook may use while it is graded.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jupytext
import yaml

from . import sealed

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "course"
DEMO = COURSE / "demo"
REGISTRY = COURSE / "assignments.toml"
TEST_CONFIG = re.compile(r'^\s*"""\s*# BEGIN TEST CONFIG(.*?)"""\s*# END TEST CONFIG\s*\n', re.S)


def _toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text())


@dataclass(frozen=True)
class HiddenTest:
    question: str
    name: str  # the test function, e.g. test_p1_cmc
    source: str  # its cell, without the config header
    points: float | None


class Assignment:
    """One assignment: its master (opened when sealed), truth module and allow-list."""

    def __init__(self, name: str, allow: list[str], public: bool, folder: Path):
        self.name, self.allow, self.public, self.folder = name, list(allow), public, folder

    @property
    def master(self) -> Path:
        return self.folder / f"{self.name}.md"

    @cached_property
    def notebook(self):
        if not self.master.exists():
            raise FileNotFoundError(f"the master of {self.name} is not at {self.master}")
        return jupytext.read(self.master)

    def config(self) -> dict:
        for cell in self.notebook.cells:
            if cell.cell_type == "raw" and cell.source.startswith("# ASSIGNMENT CONFIG"):
                return yaml.safe_load(cell.source.split("\n", 1)[1])
        raise ValueError(f"{self.master} must start with a raw cell '# ASSIGNMENT CONFIG' (otter's format)")

    def questions(self) -> list[dict]:
        """Every question: name, points, manual, prompt and answer (markdown), public and hidden tests."""
        out, current, where = [], None, None
        for cell in self.notebook.cells:
            src = cell.source.strip()
            raw = cell.cell_type == "raw"
            if raw and src.startswith("# BEGIN QUESTION"):
                current = {**yaml.safe_load(src.split("\n", 1)[1]), "prompt": [], "answer": [], "tests": []}
                current.setdefault("manual", False)
                where = "prompt"
            elif raw and src.startswith("# END QUESTION"):
                out.append(current)
                current = None
            elif current is None:
                continue
            elif raw and src.startswith(("# BEGIN SOLUTION", "# BEGIN TESTS")):
                where = "answer" if "SOLUTION" in src else "tests"
            elif raw and src.startswith(("# END SOLUTION", "# END TESTS")):
                where = None
            elif where == "tests" and cell.cell_type == "code":
                current["tests"].append(src)
            elif where in ("prompt", "answer") and cell.cell_type == "markdown":
                current[where].append(src)
        return out

    def auto_points(self) -> float:
        return sum(q["points"] for q in self.questions() if not q["manual"])

    def hidden_tests(self) -> list[HiddenTest]:
        tests = []
        for q in self.questions():
            for src in q["tests"]:
                header = TEST_CONFIG.match(src)
                config = yaml.safe_load(header.group(1)) if header else {}
                if not (config or {}).get("hidden"):
                    continue
                body = src[header.end() :] if header else src
                name = re.search(r"^def (test_\w+)\(", body, re.M)
                if not name:
                    raise ValueError(f"{self.master}: a hidden test of {q['name']} defines no test_ function")
                tests.append(HiddenTest(q["name"], name.group(1), body, config.get("points")))
        return tests

    def truth_modules(self) -> list[Path]:
        return sorted(self.folder.glob(f"truth_{self.name.split('_')[0]}*.py"))

    def rubric(self) -> str:
        """The teacher's rubric: every manually graded question, its points and its model answer."""
        lines = [f"# Rubric: {self.name}", ""]
        for q in self.questions():
            if q["manual"]:
                lines += [f"## {q['name']} ({q['points']} points, graded by hand)", "", *q["prompt"], ""]
                lines += ["### Model answer and what to look for", "", *q["answer"], ""]
        return "\n".join(lines)

    def solution_lines(self, min_length: int = 30) -> set[str]:
        """Distinctive lines of the solutions (code between BEGIN/END SOLUTION, model answers) and of the
        hidden tests (their truth modules' assertions): what must never be public."""
        lines, inside = set(), False
        for cell in self.notebook.cells:
            src = cell.source
            if cell.cell_type == "raw":
                inside = src.startswith("# BEGIN SOLUTION") or (inside and not src.startswith("# END SOLUTION"))
                continue
            if cell.cell_type == "code" and "# BEGIN SOLUTION" in src:
                body = src.split("# BEGIN SOLUTION", 1)[1].split("# END SOLUTION", 1)[0]
                lines |= {ln.strip() for ln in body.splitlines()}
            elif inside and cell.cell_type == "markdown":
                lines |= {ln.strip() for ln in src.splitlines()}
        for truth in self.truth_modules():
            lines |= {ln.strip() for ln in truth.read_text().splitlines() if ln.strip().startswith("assert ")}
        return {ln for ln in lines if len(ln) >= min_length and not ln.startswith("#")}


def registry() -> dict[str, dict]:
    return _toml(REGISTRY)


def opened(root: Path = ROOT) -> Path:
    """The teacher's folder with the sealed masters in clear (unsealed now if needed)."""
    sealed.unseal(sealed.Vault(root=root))
    return sealed.OPENED


def assignment(name: str) -> Assignment:
    """The assignment called ``name`` (as in course/assignments.toml); sealed ones need the secret."""
    entries = registry()
    if name not in entries:
        raise ValueError(f"unknown assignment {name!r}; the course has {', '.join(sorted(entries))}")
    entry = entries[name]
    public = bool(entry.get("public", False))
    return Assignment(name, entry.get("allow", []), public, DEMO if public else opened())


def names(public: bool | None = None) -> list[str]:
    """The assignments' names (only the public or only the sealed ones when ``public`` is given)."""
    return sorted(n for n, e in registry().items() if public is None or bool(e.get("public", False)) == public)


def solution_cells(assignment: Assignment) -> dict[str, list[str]]:
    """Each question's solution cells as a student would write them (the master's BEGIN/END SOLUTION
    comment lines taken out): code for the automatic questions, the model answer for the manual ones."""
    out: dict[str, list[str]] = {}
    current, inside = None, False
    for cell in assignment.notebook.cells:
        src = cell.source.strip()
        if cell.cell_type == "raw":
            if src.startswith("# BEGIN QUESTION"):
                current = yaml.safe_load(src.split("\n", 1)[1])["name"]
            elif src.startswith("# END QUESTION"):
                current = None
            elif src.startswith("# BEGIN SOLUTION"):
                inside = True
            elif src.startswith("# END SOLUTION"):
                inside = False
            continue
        if inside and current:
            kept = [ln for ln in cell.source.splitlines() if ln.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")]
            out.setdefault(current, []).append("\n".join(kept))
    return out
