"""Book build times: a full build, a rebuild with no change, and a rebuild after editing one chapter.

The book's sources (_config.yml, _toc.yml, book/, tools/book_sphinx.py) are copied to a
temporary folder and built there, as `make book` does (quick profile, cached execution,
every page rewritten), so
the repository's own _build is not touched. The edit changes one code cell of the first
chapter notebook; with cached execution only that chapter may run again, and the script
fails if any other does.

    .venv/bin/python benchmarks/bench_book.py [--chapter book/ch01_problem.ipynb]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = re.compile(r"^(\S+\.ipynb): Executing notebook", re.M)


def build(src: Path) -> tuple[float, list[str]]:
    """Build the book in ``src``; return (seconds, the notebooks that were executed)."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # inline figures, as `make book`
    env.update(REIDLIB_PROFILE="quick", OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    out = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--all", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
    )
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(
            f"the book build failed (exit {out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        )
    log = out.stdout + out.stderr
    return seconds, sorted({Path(p).relative_to(src).as_posix() for p in EXECUTED.findall(log)})


def edit_one_code_cell(notebook: Path) -> None:
    """Append a comment to the last code cell: a change that the execution cache must notice."""
    nb = json.loads(notebook.read_text())
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    cell["source"] = "".join(cell["source"]) + "\n# edited by benchmarks/bench_book.py"
    notebook.write_text(json.dumps(nb, indent=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chapter", help="the notebook to edit (default: the first chapter notebook in _toc.yml)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tools import browser_check

    _, entries = browser_check.toc_entries(ROOT)
    notebooks = [doc + ".ipynb" for _, doc, _, _ in entries if (ROOT / (doc + ".ipynb")).is_file()]
    chapter = args.chapter or notebooks[0]
    with tempfile.TemporaryDirectory(prefix="bench_book_") as tmp:
        src = Path(tmp)
        for name in ("_config.yml", "_toc.yml"):
            shutil.copy(ROOT / name, src / name)
        shutil.copytree(ROOT / "book", src / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        (src / "tools").mkdir()
        shutil.copy(ROOT / "tools" / "book_sphinx.py", src / "tools")
        full, ran_full = build(src)
        noop, ran_noop = build(src)
        edit_one_code_cell(src / chapter)
        one, ran_one = build(src)
    rows = [
        ("full build, empty cache", full, ran_full),
        ("rebuild, nothing changed", noop, ran_noop),
        (f"rebuild after editing a code cell of {chapter}", one, ran_one),
    ]
    print(f"| build ({len(notebooks)} notebooks in _toc.yml) | wall time (s) | notebooks executed |")
    print("|---|---:|---|")
    for name, seconds, ran in rows:
        print(f"| {name} | {seconds:.1f} | {len(ran)}: {', '.join(Path(r).stem for r in ran) or '-'} |")
    if ran_one != [chapter] or ran_noop:
        print(f"FAIL: expected only {chapter} to run again after its edit and nothing without an edit")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
