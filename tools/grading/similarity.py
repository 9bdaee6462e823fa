"""How alike the class's answers are, part by part: a place to look, never a verdict.

Each graded part's code (its answer cells, ``metadata.course.question``) is normalised: parsed,
docstrings dropped, every name the student chose (arguments, local variables, functions and classes
they define) renamed in order of appearance, and unparsed; comments and formatting vanish with the
parse. Two answers are then compared by the share of tokens they have in common
(``difflib.SequenceMatcher``). Answers left as the template (``...``) are not compared.

Short parts leave little room to differ: two independent right answers of three lines can score high.
Read the flagged pairs' code side by side before concluding anything.
"""

from __future__ import annotations

import ast
import builtins
import csv
import difflib
import io
import itertools
import tokenize
from pathlib import Path

from .report import answer_cells

THRESHOLD = 0.9  # pairs at or above it are listed in similarity.md


class _Renamer(ast.NodeTransformer):
    """Rename the names a student binds (v0, v1, ...); keep library names (np, cv2.resize, torch)."""

    def __init__(self, bound: set[str]):
        self.bound, self.names = bound, {}

    def _new(self, name: str) -> str:
        if name not in self.bound:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg, node.annotation = self._new(node.arg), None
        return node

    def visit_FunctionDef(self, node):
        node.name, node.returns = self._new(node.name), None
        _drop_docstring(node)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        node.name = self._new(node.name)
        _drop_docstring(node)
        self.generic_visit(node)
        return node


def _drop_docstring(node) -> None:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        if isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]


def _bound_names(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names - set(dir(builtins))


def normalise(source: str) -> str:
    """The code of an answer with the student's names, docstrings, comments and layout taken out."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return " ".join(source.split())
    tree = _Renamer(_bound_names(tree)).visit(tree)
    return ast.unparse(tree)


def _tokens(code: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.string.strip()]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code.split()


def report(submissions: dict[str, Path | None], template: Path, parts: list[str]) -> list[dict]:
    """Every pair of students, for every part both answered: {part, a, b, similarity}, most alike first."""
    blank = {p: normalise(src) for p, src in answer_cells(template, parts, "code").items()}
    code = {}
    for student, path in submissions.items():
        for part, src in answer_cells(path, parts, "code").items():
            norm = normalise(src)
            if norm != blank.get(part):
                code[student, part] = _tokens(norm)
    out = []
    for part in parts:
        students = sorted(s for s, p in code if p == part)
        for a, b in itertools.combinations(students, 2):
            ratio = difflib.SequenceMatcher(None, code[a, part], code[b, part], autojunk=False).ratio()
            out.append({"part": part, "a": a, "b": b, "similarity": round(ratio, 3)})
    return sorted(out, key=lambda r: (-r["similarity"], r["part"], r["a"], r["b"]))


def write(out: Path, pairs: list[dict], threshold: float = THRESHOLD) -> None:
    with open(out / "similarity.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["part", "a", "b", "similarity"])
        w.writeheader()
        w.writerows(pairs)
    close = [p for p in pairs if p["similarity"] >= threshold]
    lines = [
        "# Similar answers",
        "",
        f"Pairs whose normalised code of a part is at least {threshold:.0%} alike (all pairs: similarity.csv). "
        "Short parts leave little room to differ: read the code before concluding anything.",
        "",
        "| part | student | student | similarity |",
        "|---|---|---|---|",
        *[f"| {p['part']} | {p['a']} | {p['b']} | {p['similarity']:.0%} |" for p in close],
    ]
    if not close:
        lines.append("| (none) | | | |")
    (out / "similarity.md").write_text("\n".join(lines) + "\n")
