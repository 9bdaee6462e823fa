"""Make the student version of each assignment, and grade a notebook by its check cells.

A teacher notebook (``book/assignments/*.ipynb``) tags each solution cell ``solution``; the
cell's first line is ``# HINT: <one-line hint>`` and the cell defines functions (or classes).
The student version keeps that hint line, the cell's imports (signatures may need them), and
the signature and docstring of each function (and of each method of a class), and replaces
each body by ``raise NotImplementedError("<hint>")``; the cell's other code is dropped, and so are
markdown cells tagged ``solution``. Outputs and widget state are stripped, and the Colab
link (it opens the teacher's version) is removed. Student versions are generated, never
stored in the repository.

    python tools/make_assignments.py [book/assignments] [--out _build/assignments/student]
    python tools/make_assignments.py --grade submitted.ipynb     # one line per check cell
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import re
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
HINT_PREFIX = "# HINT:"
HIDING_TAGS = {"hide-input", "hide-cell", "hide-output", "remove-input", "remove-cell", "remove-output"}
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")


def _header_end(lines: list[str], lineno: int) -> tuple[int, int]:
    """(line index, column) of the ':' that ends the def/class header starting on line ``lineno``."""
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(lines[lineno - 1 :]) + "\n").readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
            elif tok.type == tokenize.OP and tok.string == ":" and depth == 0:
                return lineno - 2 + tok.start[0], tok.start[1]
    except (tokenize.TokenError, IndentationError):
        pass
    raise ValueError(f"could not find the end of the header that starts on line {lineno}")


def _stub(node: ast.AST, lines: list[str], source: str, hint: str) -> list[str]:
    """The lines of a def (or class, with its methods) whose bodies raise NotImplementedError(hint)."""
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    end_line, end_col = _header_end(lines, node.lineno)
    rest = lines[end_line][end_col + 1 :].strip()
    header_tail = lines[end_line][: end_col + 1] + ("  " + rest if rest.startswith("#") else "")  # keep a comment
    out = lines[start - 1 : end_line] + [header_tail]  # decorators + header
    indent = " " * (node.col_offset + 4)
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):  # keep the docstring
        out += (indent + ast.get_source_segment(source, body[0])).splitlines()
        body = body[1:]
    if isinstance(node, ast.ClassDef):
        methods = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for m in methods:
            out += [""] + _stub(m, lines, source, hint)
        if not methods and len(out) == end_line - start + 2:  # no docstring, no method
            out.append(indent + "pass")
    else:
        out.append(indent + f"raise NotImplementedError({json.dumps(hint, ensure_ascii=False)})")
    return out


def stub_source(source: str, where: str = "solution cell") -> str:
    """Turn a solution cell's source into the student's stub (see the module docstring)."""
    lines = source.splitlines()
    first = lines[0] if lines else ""
    hint = first[len(HINT_PREFIX) :].strip() if first.startswith(HINT_PREFIX) else ""
    if not hint:
        raise ValueError(
            f"{where}: a solution cell must start with '{HINT_PREFIX} <one-line hint>'; "
            f"its first line is {first!r}. Add the hint line."
        )
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ValueError(
            f"{where}: the solution does not parse ({e.msg}, line {e.lineno}); fix the teacher version."
        ) from None
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if not defs:
        raise ValueError(
            f"{where}: a solution cell must define the function(s) the student writes; found no def or class."
        )
    imports = [ast.get_source_segment(source, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    stubs = ["\n".join(_stub(node, lines, source, hint)) for node in defs]
    return "\n".join([first] + imports) + ("\n\n" if imports else "\n") + "\n\n\n".join(stubs)


def student_notebook(nb: dict, name: str = "notebook") -> dict:
    """The student version of a teacher notebook (a new dict; ``nb`` is left as it was)."""
    nb = copy.deepcopy(nb)
    cells, solutions = [], 0
    for i, cell in enumerate(nb["cells"]):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("id") == "colab-link" or (cell["cell_type"] != "code" and SOLUTION_TAG in tags):
            continue  # teacher-only cells
        if cell["cell_type"] == "code":
            if SOLUTION_TAG in tags:
                cell["source"] = stub_source("".join(cell["source"]), f"{name}, cell {i}")
                cell["metadata"]["tags"] = [t for t in tags if t != SOLUTION_TAG and t not in HIDING_TAGS]
                solutions += 1
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    if not solutions:
        raise ValueError(
            f"{name}: no code cell is tagged {SOLUTION_TAG!r}, so there is nothing for the "
            "student to write. Tag each solution cell (cell metadata: tags)."
        )
    nb["cells"] = cells
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def make_all(src: Path, out: Path) -> list[Path]:
    """Write the student version of every teacher notebook in ``src`` to ``out``; return the paths."""
    teachers = sorted(p for p in Path(src).glob("*.ipynb"))
    if not teachers:
        raise FileNotFoundError(f"expected teacher notebooks (*.ipynb) in {src}; found none.")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in teachers:
        nb = student_notebook(json.loads(path.read_text()), path.name)
        (out / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        written.append(out / path.name)
    return written


def execute(nb: dict, cwd: Path, timeout: int = 600, allow_errors: bool = False):
    """Run a notebook in a python3 kernel; return ``(executed nb, CellExecutionError or None)``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    node = nbformat.reads(json.dumps(nb), as_version=4)  # a copy, with every source as one string
    client = NotebookClient(
        node,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute()
    except CellExecutionError as e:
        return node, e
    return node, None


def grade(path: Path, timeout: int = 600) -> list[tuple[int, bool, str]]:
    """Run a submitted notebook to the end; ``(cell index, passed, verdict)`` for each check cell."""
    nb, _ = execute(json.loads(Path(path).read_text()), Path(path).parent, timeout, allow_errors=True)
    results = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not CHECK_CALL.search(cell.source):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip()
        results.append((i, not errors, f"{errors[0].ename}: {errors[0].evalue}" if errors else text))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="?", default=str(ROOT / "book" / "assignments"))
    ap.add_argument("--out", default=str(ROOT / "_build" / "assignments" / "student"))
    ap.add_argument("--grade", metavar="NOTEBOOK", help="run NOTEBOOK and report each check cell")
    args = ap.parse_args(argv)
    if args.grade:
        results = grade(Path(args.grade))
        for i, ok, verdict in results:
            print(f"cell {i}: {'PASS' if ok else 'FAIL'} {verdict.splitlines()[0] if verdict else ''}")
        print(f"{sum(ok for _, ok, _ in results)} of {len(results)} checks passed")
        return 0 if results and all(ok for _, ok, _ in results) else 1
    for path in make_all(Path(args.src), Path(args.out)):
        print(f"student version: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
