"""RESULTS.md sections made by scripts: each lives between two markers and is rewritten whole."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS_MD = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, text: str, path: Path = RESULTS_MD) -> str:
    """Put ``text`` between the ``<!-- name: begin -->`` and ``<!-- name: end -->`` markers of RESULTS.md
    (appended at the end the first time) -> the block written."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text}\n{end}"
    old = path.read_text()
    if begin in old:
        new = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)
    return block


def provenance(results: dict, path: str) -> str:
    """Where, with what and how a results file was made: the line under a section's heading."""
    return (
        f"Machine: {results['machine']}, torch {results['torch']}, {results['date']}. Command: "
        f"`{results['command']}`. Results file: `{path}` (the chapters read it)."
    )


def heading(title: str, results: dict, path: str) -> list[str]:
    """The first lines of a section: its title and its :func:`provenance`, each followed by a blank line."""
    return [f"## {title}", "", provenance(results, path), ""]
