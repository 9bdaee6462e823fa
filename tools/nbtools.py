"""Notebook hygiene for the book: what every chapter notebook must look like.

``python tools/nbtools.py check``  reports problems in every notebook under book/;
``python tools/nbtools.py strip``  removes outputs and execution counts in place;
``python tools/nbtools.py sync``   rewrites Colab links and setup cells from _config.yml;
``python tools/nbtools.py build SRC.py book/X.ipynb``  makes a notebook from a py:percent script.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_MARKER = "google.colab"


def repository_url(root: Path = ROOT) -> str:
    """The one repository URL setting, from _config.yml."""
    return _repository(root)["url"].rstrip("/")


def repository_branch(root: Path = ROOT) -> str:
    """The branch the book is published from (``repository.branch`` in _config.yml)."""
    return _repository(root).get("branch", "main")


def _repository(root: Path) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]


def toc_files(root: Path = ROOT) -> set[str]:
    """Every file named in _toc.yml, without suffix, relative to the root."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    found.add(str(Path(node[key]).with_suffix("")))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return found


def colab_url(notebook: Path, root: Path = ROOT) -> str:
    """The Colab address of a notebook of this repository."""
    repo = repository_url(root).split("github.com/")[-1]
    rel = notebook.resolve().relative_to(root.resolve()).as_posix()
    return f"https://colab.research.google.com/github/{repo}/blob/{repository_branch(root)}/{rel}"


def setup_source(root: Path = ROOT) -> str:
    """The setup cell every notebook starts with: installs reidlib on Colab, no-op elsewhere."""
    return (
        "# Setup: on Google Colab this installs reidlib from the book's repository;\n"
        "# anywhere else (a laptop, the book build, the tests) it does nothing.\n"
        "import sys\n"
        f"if \"{SETUP_MARKER}\" in sys.modules:\n"
        f"    %pip install -q \"reidlib @ git+{repository_url(root)}@{repository_branch(root)}\""
    )


def check_notebook(path: Path, root: Path = ROOT) -> list[str]:
    """Problems of one notebook (empty list when it is clean)."""
    try:
        nb = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        return [f"unreadable notebook: {e}"]
    problems = []
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernel is {kernel!r}, expected 'python3'")
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for i, c in enumerate(code):
        if c.get("outputs"):
            problems.append(f"code cell {i} has stored outputs (run `python tools/nbtools.py strip`)")
        if c.get("execution_count") is not None:
            problems.append(f"code cell {i} has an execution count stored")
    if not code or SETUP_MARKER not in "".join(code[0].get("source", "")):
        problems.append("the first code cell is not the Colab setup cell (tools/nbtools.py: setup_source)")
    elif repository_url(root) not in "".join(code[0]["source"]):
        problems.append(f"the setup cell does not install from {repository_url(root)}")
    try:
        rel = str(Path(path).resolve().relative_to(root.resolve()).with_suffix(""))
    except ValueError:
        rel = str(path)
    if rel not in toc_files(root):
        problems.append(f"{rel} is not listed in _toc.yml")
    return problems


def book_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def sync(path: Path, root: Path = ROOT) -> None:
    """Rewrite a notebook's Colab link and setup cell from the repository setting."""
    nb = json.loads(Path(path).read_text())
    for c in nb["cells"]:
        if c.get("id") == "colab-link":
            c["source"] = f"[Open this chapter in Colab]({colab_url(Path(path), root)})"
        if c.get("id") == "colab-setup":
            c["source"] = setup_source(root)
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def strip(path: Path) -> None:
    nb = json.loads(Path(path).read_text())
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    nb.get("metadata", {}).pop("widgets", None)
    Path(path).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def from_percent(text: str, notebook: Path, root: Path = ROOT) -> dict:
    """Build a chapter notebook from a py:percent script (``# %%`` code, ``# %% [markdown]``).

    The Colab link goes after the first markdown cell (the title) and the setup cell
    becomes the first code cell. Cell tags: ``# %% tags=["remove-input"]``.
    """
    cells, kind, tags, lines = [], None, [], []

    def flush():
        src = "\n".join(lines).strip("\n")
        if kind == "markdown":
            src = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in src.splitlines())
        if kind and src.strip():
            cell = {"cell_type": kind, "id": f"cell-{len(cells) + 2:02d}",
                    "metadata": {"tags": tags} if tags else {}, "source": src}
            if kind == "code":
                cell.update(outputs=[], execution_count=None)
            cells.append(cell)

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind = "markdown" if "[markdown]" in line else "code"
            tags = json.loads(line.split("tags=", 1)[1]) if "tags=" in line else []
            lines = []
        else:
            lines.append(line)
    flush()
    link = {"cell_type": "markdown", "id": "colab-link", "metadata": {},
            "source": f"[Open this chapter in Colab]({colab_url(notebook, root)})"}
    setup = {"cell_type": "code", "id": "colab-setup", "metadata": {"tags": ["remove-cell"]}, "outputs": [],
             "execution_count": None, "source": setup_source(root)}
    first_md = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"), -1)
    cells[first_md + 1:first_md + 1] = [link, setup]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}}


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "build":  # python tools/nbtools.py build SRC.py book/chNN_name.ipynb
        src, out = Path(sys.argv[2]), Path(sys.argv[3])
        out.write_text(json.dumps(from_percent(src.read_text(), out), indent=1, ensure_ascii=False) + "\n")
        sys.exit(0)
    bad = 0
    for nb in book_notebooks():
        if cmd == "strip":
            strip(nb)
        elif cmd == "sync":
            sync(nb)
        for p in check_notebook(nb):
            print(f"{nb.relative_to(ROOT)}: {p}")
            bad += 1
    sys.exit(1 if bad else 0)
