"""Every module of reidlib says which chapter defines it (docs/style.md, d2l's "Defined in" habit), so that a
reader of the library finds the chapter that explains it, and a reader of a chapter the code it builds."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "reidlib"
# Without a chapter of their own: the entry point, and the old names of moved modules (they name the new one).
NO_CHAPTER = {"__main__.py", "viz.py", "widgets.py", "exercises.py", "diagrams.py", "data/tempfiles.py"}
NO_CHAPTER |= {"data/integrity.py"}
CHAPTER = re.compile(r"\bchapters? (\(?\d)|\bevery chapter", re.IGNORECASE)


@pytest.mark.parametrize("module", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")))
def test_each_module_names_its_chapter(module):
    if module in NO_CHAPTER:
        return
    doc = ast.get_docstring(ast.parse((PACKAGE / module).read_text())) or ""
    assert CHAPTER.search(doc.replace("\n", " ")), f"reidlib/{module}: its docstring names no chapter ({doc[:80]!r})"
