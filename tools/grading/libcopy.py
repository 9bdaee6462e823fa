"""The grading copy of reidlib: the same modules and names, with only an assignment's allowed code kept.

A notebook's setup cell imports reidlib (``from reidlib.evaluation import cmc as reference_cmc``), and
the graded parts ask for code that reidlib already holds in some form (``cmc``, ``rank_metrics``,
``MaxPool``, ``masked_activation``, ``reidlib.stats.paired_t`` ...). While a notebook is graded it therefore
imports a copy written here, module by module from reidlib's source:

* the names on the assignment's allow-list (``course/assignments.toml``) keep their source, with the
  data and private helpers of their module that they read, and the imports they need;
* every other function and class is replaced by one that raises when it is called, and every other
  value by an object that raises when it is used. A stand-in is written from scratch: it subclasses
  nothing of reidlib, so ``__bases__``, ``importlib.reload`` or ``inspect`` find nothing behind it.

Public functions and classes are kept only when listed: a listed name that calls an unlisted one is an
error when the copy is written, so the allow-list says everything a graded notebook can call.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "reidlib"

HELPER = '''"""What every stand-in of this grading copy of reidlib raises (tools/grading/libcopy.py)."""

ASSIGNMENT = {assignment!r}
ALLOWED = {allowed!r}


def unavailable(name):
    kept = ", ".join(ALLOWED) or "nothing"
    return RuntimeError(
        f"{{name}} is not available while {{ASSIGNMENT}} is graded: the graded parts ask for your own code, "
        f"and the grading copy of reidlib keeps only {{kept}}"
    )


class Unavailable:
    """A value of reidlib that the grading copy does not keep: any use of it raises."""

    def __init__(self, name):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        raise unavailable(self._name)

    def _refuse(self, *args, **kwargs):
        raise unavailable(self._name)

    __call__ = __getitem__ = __iter__ = __len__ = __contains__ = __setattr__ = _refuse
    __add__ = __sub__ = __mul__ = __truediv__ = __eq__ = __lt__ = __gt__ = __float__ = __int__ = _refuse
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<{{self._name}}: not available while {{ASSIGNMENT}} is graded>"
'''


class AllowListError(ValueError):
    """An allow-list that names something reidlib lacks, or keeps code that calls unlisted code."""


def _module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _bound(stmt) -> dict[str, str]:
    """Names a top-level statement binds -> the name each has where it comes from (imports)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name: stmt.name}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id: n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    if isinstance(stmt, ast.ImportFrom):
        return {a.asname or a.name: a.name for a in stmt.names if a.name != "*"}
    if isinstance(stmt, ast.Import):
        return {(a.asname or a.name).split(".")[0]: a.name for a in stmt.names}
    return {}


def _kind(stmt) -> str:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return "code"
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return "import"
    return "data"


class Module:
    """One reidlib module, parsed: its top-level statements and the names they bind."""

    def __init__(self, path: Path, package: Path):
        self.path, self.name = path, _module_name(path, package)
        self.text = path.read_text()
        self.tree = ast.parse(self.text, str(path))
        self.binding: dict[str, list[ast.stmt]] = {}  # every top-level statement that binds each name
        for stmt in self.tree.body:
            for name in _bound(stmt):
                self.binding.setdefault(name, []).append(stmt)

    def origin(self, stmt) -> str | None:
        """The reidlib module a ``from ... import`` statement of this module reads from, else None."""
        if not isinstance(stmt, ast.ImportFrom) or stmt.module == "__future__":
            return None
        if stmt.level:
            base = self.name.split(".") if self.path.name == "__init__.py" else self.name.split(".")[:-1]
            base = base[: len(base) - stmt.level + 1]
            return ".".join(base + ([stmt.module] if stmt.module else []))
        return stmt.module if stmt.module and stmt.module.split(".")[0] == "reidlib" else None


class Package:
    """Every module of reidlib, and where each of its names is defined."""

    def __init__(self, package: Path = PACKAGE):
        self.root = package
        self.modules = {m.name: m for m in (Module(p, package) for p in sorted(package.rglob("*.py")))}

    def defined_at(self, qualified: str) -> str:
        """Follow re-exports: ``reidlib.evaluation.cmc`` -> ``reidlib.evaluation.metrics.cmc``."""
        module, _, attr = qualified.rpartition(".")
        mod = self.modules.get(module)
        if mod is None or attr not in mod.binding:
            if qualified in self.modules:
                return qualified
            raise AllowListError(f"{qualified} is not a name of reidlib")
        stmt = mod.binding[attr][-1]
        origin = mod.origin(stmt)
        if origin is None:
            return qualified
        return self.defined_at(f"{origin}.{_bound(stmt)[attr]}")

    def kept(self, mod: Module, allowed: set[str]) -> set[int]:
        """Line numbers of the statements of ``mod`` that its allowed names need (data and private helpers
        follow the code that reads them; public code must be allowed itself)."""
        todo = [n.rpartition(".")[2] for n in allowed if n.rpartition(".")[0] == mod.name]
        todo += [n for n in mod.binding if n.startswith("__") and n.endswith("__")]  # __all__, __version__
        kept, seen = set(), set()
        while todo:
            name = todo.pop()
            stmts = mod.binding.get(name)
            if name in seen or not stmts:
                continue  # done, or a builtin or local name
            seen.add(name)
            qualified, origin = f"{mod.name}.{name}", mod.origin(stmts[-1])
            if origin is not None:  # another reidlib module's name: kept there, or not at all
                target = self.defined_at(qualified)
                if target not in allowed and target not in self.modules:
                    raise AllowListError(f"allowed code of {mod.name} uses {name}, from {target}: allow it too")
                continue
            if _kind(stmts[-1]) == "code" and not name.startswith("_") and qualified not in allowed:
                raise AllowListError(f"allowed code of {mod.name} calls {qualified}: allow it too, or keep less")
            for stmt in stmts:
                kept.add(stmt.lineno)
                if _kind(stmt) != "import":
                    todo += sorted({n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)})
        return kept

    def copy_source(self, mod: Module, allowed: set[str]) -> str:
        """The grading copy of one module, statement by statement in the original order."""
        kept, stood_in = self.kept(mod, allowed), set()
        out = [
            f'"""Grading copy of {mod.name}: only the allowed names keep their code (tools/grading/libcopy.py)."""',
            "",
            "from __future__ import annotations",
            "",
            "import reidlib._grading as _grading",
        ]
        for stmt in mod.tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                continue
            if stmt.lineno in kept or mod.origin(stmt) is not None:
                out += ["", ast.get_source_segment(mod.text, stmt)]
            elif _kind(stmt) != "import":
                for name in set(_bound(stmt)) - stood_in:  # once, where the name is first bound
                    out += ["", _stand_in(f"{mod.name}.{name}", name, stmt)]
                    stood_in.add(name)
        return "\n".join(out).rstrip() + "\n"


def _stand_in(qualified: str, name: str, stmt) -> str:
    """Code that binds ``name`` to something that raises when used, related to nothing of reidlib."""
    if isinstance(stmt, ast.ClassDef):
        init = f"    def __init__(self, *args, **kwargs):\n        raise _grading.unavailable({qualified!r})"
        return f"class {name}:\n{init}"
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {name}(*args, **kwargs):\n    raise _grading.unavailable({qualified!r})"
    return f"{name} = _grading.Unavailable({qualified!r})"


def write(dest: Path, assignment: str, allowed: list[str], package: Path = PACKAGE) -> Path:
    """Write the grading copy of ``package`` for ``assignment`` into ``dest/reidlib``; return that folder.
    Each allowed name may be given where it is defined or where it is re-exported."""
    pkg = Package(package)
    allowed_set = set(allowed) | {pkg.defined_at(n) for n in allowed}
    out = dest / "reidlib"
    for mod in pkg.modules.values():
        target = out / mod.path.relative_to(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pkg.copy_source(mod, allowed_set))
    (out / "_grading.py").write_text(HELPER.format(assignment=assignment, allowed=sorted(set(allowed))))
    return out
