"""Notebook hygiene for the book: text twins, the Colab link and setup cell, stored without outputs.

Every notebook ``book/**/X.ipynb`` has a MyST markdown twin ``X.md`` (paired by jupytext,
see ``jupytext.toml``): the text is what people edit and review, the ``.ipynb`` is what
Jupyter Book, nbval and Colab run.

``python tools/nbtools.py check``      reports problems in every notebook under book/;
``python tools/nbtools.py strip``      removes outputs and execution counts in place;
``python tools/nbtools.py sync``       pairs every twin (the newer side wins), then rewrites the Colab
                                       links and setup cells of both sides from _config.yml;
``python tools/nbtools.py new X.md``   makes the notebook of a new chapter written as MyST markdown;
``python tools/nbtools.py edition DEST SHA``  writes the Colab edition of every notebook to DEST (for the
                                       published book: its setup cell installs reidlib at commit SHA, its
                                       model answers are folded <details>, which Colab renders);
``python tools/nbtools.py relink REF [SHA]`` points every Colab link (and _config.yml's launch
                                       buttons) at REF, in this working tree only: the published build links
                                       to the edition of its own commit (and the files it names, to SHA).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml
from jupytext.combine import combine_inputs_with_outputs
from jupytext.myst import CompactDumper

# jupytext registers notebook metadata (NotebookNode) with yaml's SafeRepresenter when it is imported,
# which reaches its MyST writer only if no library gave yaml.SafeDumper representers of its own before:
# jsonargparse (reidlib's command line) does, and then every twin failed to write. Register it where
# the writers look, whatever was imported first.
CompactDumper.add_representer(nbformat.NotebookNode, CompactDumper.yaml_representers[dict])
yaml.SafeDumper.add_representer(nbformat.NotebookNode, yaml.SafeDumper.yaml_representers[dict])

ROOT = Path(__file__).resolve().parents[1]
SETUP_MARKER = "google.colab"
SETUP_HEADER = "# Setup: on Google Colab"  # how every setup cell, old or new, begins
IMPORT_NAMES = {"opencv-python-headless": "cv2", "pyyaml": "yaml", "otter-grader": "otter"}  # distribution -> module
LINK_TEXT = "[Open this chapter in Colab]"
METADATA_FILTER = "kernelspec,-jupytext"  # as jupytext.toml's notebook_metadata_filter


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


def colab_url(notebook: Path, root: Path = ROOT, ref: str | None = None) -> str:
    """The Colab address of a notebook of this repository, at ``ref`` (default: the published branch)."""
    repo = repository_url(root).split("github.com/")[-1]
    rel = notebook.resolve().relative_to(root.resolve()).as_posix()
    return f"https://colab.research.google.com/github/{repo}/blob/{ref or repository_branch(root)}/{rel}"


def dependencies(extra: str | None = None) -> dict[str, str]:
    """reidlib's dependencies (pyproject.toml), and those of its optional ``extra`` (e.g. "course"), by the
    module each provides: {"cv2": "opencv-python-headless>=4.8", ...}."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])
    return {IMPORT_NAMES.get(Requirement(s).name, Requirement(s).name.replace("-", "_")): s for s in specs}


def setup_source(root: Path = ROOT, extra: str | None = None, ref: str | None = None) -> str:
    """The setup cell every notebook starts with: installs reidlib on Colab, no-op elsewhere.

    ``extra`` (e.g. ``"course"`` for the assignments, which need otter-grader) adds its packages;
    ``ref`` is the git ref reidlib is installed at (default: the published branch; the published
    book's Colab edition gives the commit it was built from, so that page and library agree).

    It installs reidlib without its dependencies, then only the dependencies that cannot be
    imported yet: Colab's own torch and OpenCV stay (reidlib's opencv-python-headless would
    overwrite the cv2 folder of Colab's opencv-python). A failed install raises, so the
    notebook stops there with pip's message instead of failing later on an import.
    """
    needed = "".join(f"        {json.dumps(m)}: {json.dumps(s)},\n" for m, s in dependencies(extra).items())
    return (
        f"{SETUP_HEADER} this installs reidlib from the book's repository, and\n"
        "# only the packages Colab lacks (its torch and OpenCV stay); elsewhere it does nothing.\n"
        "import sys\n"
        "\n"
        f'if "{SETUP_MARKER}" in sys.modules:\n'
        "    import importlib.util\n"
        "    import subprocess\n"
        "\n"
        "    def pip_install(*args):\n"
        '        cmd = [sys.executable, "-m", "pip", "install", "-q", *args]\n'
        "        done = subprocess.run(cmd, capture_output=True, text=True)\n"
        "        if done.returncode != 0:\n"
        "            raise RuntimeError(\n"
        "                f\"Setup failed: pip could not install {' '.join(args)} \"\n"
        '                f"(exit code {done.returncode}):\\n{done.stderr[-3000:]}\\n"\n'
        '                "Check the internet connection, then run this cell again."\n'
        "            )\n"
        "        importlib.invalidate_caches()\n"
        "\n"
        "    # reidlib itself, then only the dependencies missing here: a second OpenCV package\n"
        "    # would overwrite the cv2 folder of Colab's opencv-python.\n"
        f'    source = "reidlib @ git+{repository_url(root)}@{ref or repository_branch(root)}"\n'
        '    pip_install("--no-deps", source)\n'
        "    needed = {\n"
        f"{needed}"
        "    }\n"
        "    missing = [s for m, s in needed.items() if importlib.util.find_spec(m) is None]\n"
        "    if missing:\n"
        "        pip_install(*missing)\n"
        '    if importlib.util.find_spec("reidlib") is None:\n'
        "        raise RuntimeError(\n"
        '            "Setup failed: reidlib was installed but cannot be imported. "\n'
        '            "Restart the session (Runtime > Restart session), then run this cell again."\n'
        "        )"
    )


def is_setup_cell(cell) -> bool:
    """True for the Colab setup cell of :func:`setup_source` (of this or an earlier version)."""
    return cell.cell_type == "code" and cell.source.startswith(SETUP_HEADER)


def twin(path: Path) -> Path:
    """The MyST markdown twin of a notebook (``X.ipynb`` -> ``X.md``)."""
    return Path(path).with_suffix(".md")


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """What the text twin and the notebook must agree on: kind, source and tags of every cell."""
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def out_of_sync(path: Path) -> str | None:
    """Why a notebook and its text twin disagree (None when they agree)."""
    md = twin(path)
    if not md.exists():
        return f"no text twin {md.name} (run `python tools/nbtools.py sync`)"
    a, b = _cells(nbformat.read(path, as_version=4)), _cells(jupytext.read(md))
    if a == b:
        return None
    diff = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return (
        f"{path.name} and {md.name} differ from cell {diff} on ({len(a)} vs {len(b)} cells); "
        "run `python tools/nbtools.py sync` (the newer file wins)"
    )


def check_notebook(path: Path, root: Path = ROOT) -> list[str]:
    """Problems of one notebook (empty list when it is clean)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as e:
        return [f"unreadable notebook: {e}"]
    problems = []
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernel is {kernel!r}, expected 'python3'")
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, c in enumerate(code):
        if c.get("outputs"):
            problems.append(f"code cell {i} has stored outputs (run `python tools/nbtools.py strip`)")
        if c.get("execution_count") is not None:
            problems.append(f"code cell {i} has an execution count stored")
    if not code or SETUP_MARKER not in code[0].source:
        problems.append("the first code cell is not the Colab setup cell (tools/nbtools.py: setup_source)")
    elif repository_url(root) not in code[0].source:
        problems.append(f"the setup cell does not install from {repository_url(root)}")
    try:
        rel = str(Path(path).resolve().relative_to(root.resolve()).with_suffix(""))
    except ValueError:
        rel = str(path)
    if rel not in toc_files(root):
        problems.append(f"{rel} is not listed in _toc.yml")
    why = out_of_sync(Path(path))
    if why:
        problems.append(why)
    return problems


def book_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _with_colab_cells(nb, path: Path, root: Path):
    """``nb`` with its Colab link (after the title) and setup cell (the first code cell) made from _config.yml."""
    link = nbformat.v4.new_markdown_cell(f"{LINK_TEXT}({colab_url(path, root)})", id="colab-link")
    extra = "course" if "assignments" in Path(path).parts else None  # the assignments run otter-grader
    setup = nbformat.v4.new_code_cell(setup_source(root, extra), id="colab-setup", metadata={"tags": ["remove-cell"]})
    cells = [
        c
        for c in nb.cells
        if not (c.cell_type == "markdown" and c.source.startswith(LINK_TEXT)) and not is_setup_cell(c)
    ]
    first_md = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), -1)
    cells[first_md + 1 : first_md + 1] = [link, setup]
    nb.cells = cells
    return nb


def _text_of(nb) -> str:
    """The text twin of a notebook (with the settings of the repository's jupytext.toml)."""
    text = copy.deepcopy(nb)
    text.metadata["jupytext"] = {"notebook_metadata_filter": METADATA_FILTER}  # the header: kernelspec only
    return jupytext.writes(text, fmt="md:myst")


def _write_pair(nb, path: Path) -> None:
    """Write the notebook, then its text twin from it."""
    nb.metadata.pop("jupytext", None)  # the notebook carries no text-format settings
    nbformat.write(nb, path)
    twin(path).write_text(_text_of(nb))


def sync(path: Path, root: Path = ROOT) -> None:
    """Pair the notebook with its twin (the newer side wins), then rewrite its Colab link and setup cell.

    When the text is newer, its cells replace the notebook's (code cells keep no outputs: the book
    stores none); otherwise the notebook is the source and the text is rewritten from it.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    md = twin(path)
    newer = md.exists() and md.stat().st_mtime > path.stat().st_mtime
    if newer and md.read_text() != _text_of(nb):  # an edited text (an unchanged one leaves the notebook as it is)
        nb = combine_inputs_with_outputs(jupytext.read(md), nb)  # the text's cells; unchanged ones keep their ids
    _write_pair(_with_colab_cells(nb, path, root), path)


def new(md: Path, root: Path = ROOT) -> Path:
    """Make the notebook of a chapter written as MyST markdown, with the Colab link and setup cell."""
    md = Path(md)
    path = md.with_suffix(".ipynb")
    nb = jupytext.read(md)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    _write_pair(_with_colab_cells(nb, path, root), path)
    return path


# A MyST dropdown admonition (how the chapters write model answers) and its HTML twin, which Colab renders
# folded: Colab shows MyST directives as raw code blocks, open.
_DROPDOWN = re.compile(r"^```\{admonition\} (?P<title>[^\n]+)\n:class: dropdown\n\n(?P<body>.*?)\n```$", re.M | re.S)


def colab_markdown(source: str) -> str:
    """A markdown cell for Colab: each MyST dropdown admonition becomes ``<details><summary>``."""
    return _DROPDOWN.sub(lambda m: f"<details>\n<summary>{m['title']}</summary>\n\n{m['body']}\n\n</details>", source)


# A repository file named in the text (`benchmarks/bench_models.py`), which a pip install of reidlib lacks.
_REPO_FILE = re.compile(r"(?<!\[)`(?P<path>(?:benchmarks|tools|course|\.github)/[\w./-]+)`(?!\]\()")


def link_repository_files(source: str, sha: str, root: Path = ROOT) -> str:
    """A markdown cell whose mentions of repository files (`benchmarks/bench_models.py`) link to them at
    commit ``sha``: a reader on Colab or the published page has no clone to run them from."""

    def link(m: re.Match) -> str:
        path = m["path"]
        if not (root / path).exists():
            return m[0]
        return f"[`{path}`]({repository_url(root)}/blob/{sha}/{path})"

    return _REPO_FILE.sub(link, source)


def colab_edition(path: Path, sha: str, root: Path = ROOT):
    """The Colab edition of a notebook: its setup cell installs reidlib at commit ``sha``, its model
    answers are folded (<details>), the repository files it names link to them at ``sha``, and its
    Colab link points at the edition of ``sha`` itself."""
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            c.source = link_repository_files(colab_markdown(c.source), sha, root)
    extra = "course" if "assignments" in Path(path).parts else None
    for c in nb.cells:
        if is_setup_cell(c):
            c.source = setup_source(root, extra, ref=sha)
    return relinked(nb, path, f"colab-{sha}", root)


def relinked(nb, path: Path, ref: str, root: Path = ROOT):
    """``nb`` with its Colab link pointing at the notebook at ``ref``."""
    for c in nb.cells:
        if c.cell_type == "markdown" and c.source.startswith(LINK_TEXT):
            c.source = f"{LINK_TEXT}({colab_url(path, root, ref)})"
    return nb


def write_edition(dest: Path, sha: str, root: Path = ROOT) -> list[Path]:
    """Write the Colab edition of every notebook of the book under ``dest`` (same relative paths)."""
    written = []
    for path in book_notebooks(root):
        out = Path(dest) / path.resolve().relative_to(root.resolve())
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(colab_edition(path, sha, root), out)
        written.append(out)
    return written


def relink(ref: str, sha: str | None = None, *, root: Path = ROOT) -> None:
    """Point the Colab links of every notebook, and _config.yml's launch buttons, at ``ref`` in this working
    tree (the published build's, never committed: ``make sync`` points them back at the branch); with
    ``sha``, the repository files the text names link to them at that commit."""
    for path in book_notebooks(root):
        nb = relinked(nbformat.read(path, as_version=4), path, ref, root)
        for c in nb.cells:
            if sha and c.cell_type == "markdown":
                c.source = link_repository_files(c.source, sha, root)
        nbformat.write(nb, path)
    config = root / "_config.yml"
    text = config.read_text()
    branch = f"branch: {repository_branch(root)}"
    if branch not in text:
        raise ValueError(f"{config}: no '{branch}' line under repository: to point the launch buttons at {ref}.")
    config.write_text(text.replace(branch, f"branch: {ref}", 1))


def strip(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    if twin(path).exists():
        twin(path).touch()  # the sources did not change: the twin stays in sync, and no older than the notebook


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "new":  # python tools/nbtools.py new book/chNN_name.md
        print(new(Path(sys.argv[2])))
        sys.exit(0)
    if cmd == "edition":  # python tools/nbtools.py edition DEST SHA
        print(f"{len(write_edition(Path(sys.argv[2]), sys.argv[3]))} notebooks written to {sys.argv[2]}")
        sys.exit(0)
    if cmd == "relink":  # python tools/nbtools.py relink REF [SHA]
        relink(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
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
