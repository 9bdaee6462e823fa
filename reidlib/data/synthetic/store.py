"""The rendered frames on disk (chapter 2): one frame store per generator, read back memory-mapped.

A folder ``synthetic-<cache key>`` is a :class:`reidlib._store.FrameStore`: one .npy file per array
(:data:`ARRAYS`, all tracklets stacked) and ``index.json`` (every tracklet's pid, camid, length and
meta, and each file's size and CRC-32). This module knows only what a tracklet is made of; writing,
checking and rebuilding a damaged folder with a warning are the store's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ... import _store
from ..._store import FrameStore, Stored
from ..tracklet import Tracklet

ARRAYS = ("frames", "visibility", "flow_truth", "degradation")  # one .npy file each, all tracklets stacked
FAMILY = "synthetic-*"  # the folders of every generator, side by side in one cache folder


def frame_store(folder: Path) -> FrameStore:
    """The store of the rendered frames in ``folder`` (``synthetic-<cache key>``)."""
    return FrameStore(folder, ARRAYS, "the synthetic frames cache", FAMILY)


def cached_tracklets(folder: Path, render_all: Callable[[], list[Tracklet]]) -> list[Tracklet]:
    """The tracklets saved in ``folder``; when it is missing or damaged, ``render_all()`` saved there first."""
    return _tracklets(frame_store(folder).get(lambda: _contents(render_all()), _check))


def remove_leftovers(parent: Path) -> None:
    """Remove the temporary folders of writers of ``parent`` that were killed (or ran out of disk) before
    they finished."""
    _store.remove_leftovers(parent, FAMILY)


def save(tracklets: list[Tracklet], folder: Path) -> None:
    """Write ``tracklets`` to the store ``folder`` (kept as it is when another writer finished first)."""
    frame_store(folder).write(*_contents(tracklets))


def discard(folder: Path) -> None:
    """Remove a damaged cache folder (or a link in its place, not what it points to)."""
    frame_store(folder).discard()


def load(folder: Path) -> list[Tracklet] | str:
    """The cached tracklets, or what is wrong with the cache (in words) when it fails its checks."""
    store = frame_store(folder)
    store.remove_leftovers()
    stored = store.read()
    why = stored if isinstance(stored, str) else _check(stored)
    return why if why is not None else _tracklets(stored)


def _contents(tracklets: list[Tracklet]) -> tuple[dict, dict]:
    """(array name -> all tracklets' rows stacked, the index: each tracklet's pid, camid, length, meta)."""
    arrays = {name: np.concatenate([getattr(tr, name) for tr in tracklets]) for name in ARRAYS}
    index = [dict(pid=tr.pid, camid=tr.camid, length=len(tr), meta=tr.meta) for tr in tracklets]
    return arrays, dict(tracklets=index)


def _check(stored: Stored) -> str | None:
    """What is wrong with the tracklets of a store whose files passed their checks (None: nothing)."""
    items = stored.index.get("tracklets")
    keys = {"pid", "camid", "length", "meta"}
    if not isinstance(items, list) or not all(isinstance(item, dict) and keys <= set(item) for item in items):
        return "its index.json lists no tracklets as reidlib writes them (edited, or another program's)"
    try:
        total = sum(int(item["length"]) for item in items)
    except (TypeError, ValueError) as e:
        return f"its index.json lists lengths that are not numbers ({type(e).__name__})"
    if total != stored.rows:
        return f"index.json lists {total} frames, the arrays hold {stored.rows}"
    return None


def _tracklets(stored: Stored) -> list[Tracklet]:
    """The tracklets of a checked store: frames memory-mapped, the small arrays in memory."""
    frames = stored.arrays["frames"]
    vis, flow, flags = (np.array(stored.arrays[name]) for name in ARRAYS[1:])
    out, start = [], 0
    for item in stored.index["tracklets"]:
        end = start + item["length"]
        meta = {**item["meta"], "cache": str(stored.folder)}
        out.append(
            Tracklet(
                item["pid"], item["camid"], frames[start:end], vis[start:end], flow[start:end], meta, flags[start:end]
            )
        )
        start = end
    return out
