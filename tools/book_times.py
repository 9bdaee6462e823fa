"""How long each notebook of the book took to execute, from the build's jupyter-cache records.

``make book`` runs it after Jupyter Book, so CI logs show every notebook's execution time (a
stalled one stands out, and a failed one is named even when the build stops):

    python tools/book_times.py [_build/.jupyter_cache]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".jupyter_cache"


def times(cache_dir: str | Path = CACHE) -> list[dict]:
    """One row per notebook of the cache: {"notebook", "seconds", "executed", "status"}, slowest first.

    ``seconds`` and ``executed`` (UTC) come from the newest cached execution; ``status`` is "ok", or
    "FAILED" when the last attempt left a traceback (then ``seconds`` is that of an older success, if any).
    """
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    newest = {}
    for record in cache.list_cache_records():
        if record.uri not in newest or record.created > newest[record.uri].created:
            newest[record.uri] = record
    failed = {p.uri for p in cache.list_project_records() if p.traceback}
    rows = [
        {
            "notebook": uri,
            "seconds": (newest[uri].data or {}).get("execution_seconds") if uri in newest else None,
            "executed": newest[uri].created.isoformat(" ", "seconds") if uri in newest else "",
            "status": "FAILED" if uri in failed else "ok",
        }
        for uri in sorted(set(newest) | failed)
    ]
    return sorted(rows, key=lambda r: -(r["seconds"] or 0))


def relative(uri: str) -> str:
    try:
        return str(Path(uri).resolve().relative_to(ROOT))
    except ValueError:
        return uri


def main(argv: list[str]) -> int:
    cache_dir = Path(argv[0]) if argv else CACHE
    if not (cache_dir / "global.db").is_file():
        print(f"book_times: no jupyter-cache in {cache_dir} (build the book first: make book)")
        return 1
    rows = times(cache_dir)
    print(f">>> book: execution time of each notebook (jupyter-cache in {cache_dir})")
    for r in rows:
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:7.1f} s"
        print(f"  {seconds:>9}  {r['status']:6s}  {relative(r['notebook'])}  (executed {r['executed'] or 'never'} UTC)")
    total = sum(r["seconds"] or 0 for r in rows)
    print(f">>> book: {len(rows)} notebooks, {total:.0f} s of execution in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
