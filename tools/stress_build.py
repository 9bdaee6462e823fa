"""Execute some of the book's notebooks under CPU load, as ``make book`` does, and fail on a stall.

A stall is a notebook whose execution takes more than ``--factor`` times its quiet time (plus
``--slack`` seconds). The known one: on a cell with an explorer (an ipywidgets Output widget),
nbclient could miss the cell's reply and wait for the whole cell timeout, 600 s in the book;
``tools/book_sphinx.py`` (``bound_lost_wakeups``) bounds that wait, and ``--without-fix`` runs
without it to show the stall. Each execution is the book build's own call (jupyter-cache's
``single_nb_execution``, which runs nbclient), in its own process, with the quick profile and a
fresh cache folder, so that every run does the same work. First each notebook runs alone (its
quiet time); then ``--rounds`` times each, with ``--parallel`` executions at once and ``--busy``
processes spinning on the CPU beside them. Each line also names the cell that ran longest and
the longest wait between cells, from the kernel's own timestamps.

    python tools/stress_build.py                  # ch01, ch02 (an explorer), ch06: 2 at once + 1 busy, 3 rounds
    python tools/stress_build.py book/ch02_data.ipynb --rounds 10 --without-fix

Prints one line per execution and a table; exits 1 when an execution stalled or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["book/ch01_problem.ipynb", "book/ch02_data.ipynb", "book/ch06_temporal_pooling.ipynb"]


def execute(notebook: Path, timeout: float, fix: bool = True) -> dict:
    """Execute ``notebook`` in its folder as the book build does -> {"seconds", "error", ...}. Runs in the child.

    ``fix``: apply the build's workaround for lost wake-ups (tools/book_sphinx.py), as ``make book`` does.
    """
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    if fix:
        from book_sphinx import bound_lost_wakeups

        bound_lost_wakeups()

    nb = nbformat.read(notebook, as_version=4)
    result = single_nb_execution(
        nb, cwd=str(notebook.parent), timeout=int(timeout), allow_errors=False, record_timing=True
    )
    error = None if result.err is None else f"{type(result.err).__name__}: {str(result.err).strip()[-300:]}"
    return {"seconds": result.time, "error": error, **where_the_time_went(nb)}


def where_the_time_went(nb) -> dict:
    """From the kernel's own timestamps (nbclient's record_timing): the cell that ran longest, and the
    longest wait between one cell's end and the next one's start (a message that was slow to arrive)."""
    from datetime import datetime

    stamps = []
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        ex = cell.get("metadata", {}).get("execution", {})
        if "iopub.status.busy" in ex and "shell.execute_reply" in ex:
            t = {k: datetime.fromisoformat(ex[k].replace("Z", "+00:00")).timestamp() for k in ex}
            stamps.append((i, t["iopub.status.busy"], t["shell.execute_reply"]))
    runs = [(t1 - t0, i) for i, t0, t1 in stamps]
    waits = [(b[1] - a[2], b[0]) for a, b in pairwise(stamps)]
    (run, run_cell), (wait, wait_cell) = max(runs, default=(0, None)), max(waits, default=(0, None))
    return {"longest_cell": [run_cell, round(run, 1)], "longest_wait": [wait_cell, round(wait, 1)]}


def run_one(notebook: Path, limit: float, fix: bool = True) -> dict:
    """Execute ``notebook`` in a child process with a cell timeout of ``limit`` s -> its record."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as `make book`
    with tempfile.TemporaryDirectory(prefix="stress-cache-") as cache:
        env.update(REIDLIB_PROFILE="quick", REIDLIB_CACHE=cache, PYTHONHASHSEED="0")
        cmd = [sys.executable, __file__, "--execute", str(notebook), "--timeout", str(limit)]
        cmd += [] if fix else ["--without-fix"]
        t0 = time.perf_counter()
        try:
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=limit + 120)
        except subprocess.TimeoutExpired:
            return {"seconds": time.perf_counter() - t0, "error": f"no answer within {limit + 120:.0f} s: killed"}
    wall = time.perf_counter() - t0
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"seconds": wall, "error": f"exit {out.returncode}: {out.stderr.strip()[-300:]}"}
    return {**json.loads(lines[-1]), "wall": wall}


def timing(record: dict) -> str:
    """'longest cell 7 (3.1 s), longest wait before cell 12 (0.0 s)' from a record of :func:`execute`."""
    if "longest_cell" not in record:
        return ""
    (c, run), (w, wait) = record["longest_cell"], record["longest_wait"]
    return f"[longest cell {c} ({run} s), longest wait before cell {w} ({wait} s)]"


class Busy:
    """``n`` processes that spin on the CPU while the block runs."""

    def __init__(self, n: int):
        self.n, self.procs = n, []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("notebooks", nargs="*", default=DEFAULT, help=f"notebooks to run (default: {' '.join(DEFAULT)})")
    p.add_argument("--parallel", type=int, default=2, help="executions at once under load (default 2)")
    p.add_argument("--busy", type=int, default=1, help="CPU-spinning processes beside them (default 1)")
    p.add_argument("--rounds", type=int, default=3, help="loaded executions of each notebook (default 3)")
    p.add_argument("--factor", type=float, default=5.0, help="a stall: more than FACTOR x quiet time (default 5)")
    p.add_argument("--slack", type=float, default=30.0, help="... plus SLACK seconds (default 30)")
    p.add_argument("--quiet-limit", type=float, default=600.0, help="cell timeout of the quiet runs (the book's)")
    p.add_argument(
        "--without-fix", action="store_true", help="run without the build's lost wake-up fix (to see the stall)"
    )
    p.add_argument("--execute", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=600.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.execute:  # the child: one execution
        print(json.dumps(execute(args.execute.resolve(), args.timeout, fix=not args.without_fix)))
        return 0

    notebooks = [(ROOT / n).resolve() if not Path(n).is_absolute() else Path(n) for n in args.notebooks]
    missing = [str(n) for n in notebooks if not n.is_file()]
    if missing:
        p.error(f"no such notebook: {', '.join(missing)}")
    print(
        f"stress_build: {len(notebooks)} notebooks; quiet runs first, then {args.rounds} rounds with "
        f"{args.parallel} at once + {args.busy} busy process(es); a stall is > {args.factor:g} x quiet + "
        f"{args.slack:g} s",
        flush=True,
    )
    quiet = {}
    for nb in notebooks:
        quiet[nb] = run_one(nb, args.quiet_limit, not args.without_fix)
        verdict = quiet[nb]["error"] or "ok"
        print(f"  quiet   {nb.name:32s} {quiet[nb]['seconds']:7.1f} s  {verdict}  {timing(quiet[nb])}", flush=True)
    limits = {nb: args.factor * quiet[nb]["seconds"] + args.slack for nb in notebooks}
    jobs = [nb for _ in range(args.rounds) for nb in notebooks]

    def loaded(nb: Path) -> tuple[Path, dict]:
        record = run_one(nb, limits[nb], not args.without_fix)
        verdict = record["error"] or ("STALL" if record["seconds"] > limits[nb] else "ok")
        print(
            f"  loaded  {nb.name:32s} {record['seconds']:7.1f} s  "
            f"({record['seconds'] / quiet[nb]['seconds']:.1f} x quiet)  {verdict}  {timing(record)}",
            flush=True,
        )
        return nb, {**record, "verdict": verdict}

    t0 = time.perf_counter()
    with Busy(args.busy), ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(loaded, jobs))
    print("\n| notebook | quiet s | loaded s (each run) | worst x quiet | limit s |\n|---|---|---|---|---|")
    bad = [nb for nb in notebooks if quiet[nb]["error"]]
    for nb in notebooks:
        runs = [r for n, r in results if n == nb]
        worst = max((r["seconds"] for r in runs), default=0) / quiet[nb]["seconds"]
        each = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        print(f"| {nb.name} | {quiet[nb]['seconds']:.1f} | {each} | {worst:.1f} | {limits[nb]:.0f} |")
        bad += [nb for r in runs if r["verdict"] != "ok"]
    print(
        f"\nstress_build: {len(results)} loaded executions in {time.perf_counter() - t0:.0f} s; "
        + (f"FAILED: {len(bad)} stalled or failed" if bad else "no stall")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
