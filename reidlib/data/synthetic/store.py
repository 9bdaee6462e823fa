"""The rendered frames on disk (chapter 2): one folder per generator, read back memory-mapped.

A folder ``synthetic-<cache key>`` holds one .npy file per array (:data:`ARRAYS`, all tracklets
stacked) and ``index.json`` (every tracklet's pid, camid, length and meta, and each file's size and
CRC-32, :mod:`reidlib.data.integrity`). It is written into a temporary folder and renamed into
place when complete; a folder that fails its checks is rebuilt with a warning, never served.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..integrity import CacheRebuiltWarning, file_record, problem, trust
from ..tempfiles import remove_stale, temp_folder, write_error
from ..tracklet import Tracklet

ARRAYS = ("frames", "visibility", "flow_truth", "degradation")  # one .npy file each, all tracklets stacked


def cached_tracklets(folder: Path, render_all: Callable[[], list[Tracklet]]) -> list[Tracklet]:
    """The tracklets saved in ``folder``; when it is missing or damaged, ``render_all()`` saved there first."""
    if (folder / "index.json").exists() or folder.is_symlink():
        loaded = load(folder)
        if not isinstance(loaded, str):
            return loaded
        warnings.warn(
            f"the synthetic frames cache {folder} is damaged: {loaded}. Rebuilding it.",
            CacheRebuiltWarning,
            stacklevel=3,
        )
        discard(folder)
    save(render_all(), folder)
    loaded = load(folder)
    if isinstance(loaded, str):
        raise OSError(f"the synthetic frames cache {folder} was written but does not read back: {loaded}.")
    return loaded


def remove_leftovers(parent: Path) -> None:
    """Remove the temporary folders of writers of ``parent`` that were killed (or ran out of disk) before
    they finished."""
    remove_stale(parent.glob("synthetic-*.tmp*"))


def save(tracklets: list[Tracklet], folder: Path) -> None:
    """Write tracklets as one .npy per array (all frames stacked) plus index.json (their lengths and each
    file's size and CRC-32) into a temporary folder made exclusively, renamed into place when complete;
    a failed write removes it and says why."""
    remove_leftovers(folder.parent)
    tmp = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_folder(folder)
        for name in ARRAYS:
            np.save(tmp / f"{name}.npy", np.concatenate([getattr(tr, name) for tr in tracklets]))
        files = {f"{name}.npy": file_record(tmp / f"{name}.npy") for name in ARRAYS}
        index = [dict(pid=tr.pid, camid=tr.camid, length=len(tr), meta=tr.meta) for tr in tracklets]
        (tmp / "index.json").write_text(json.dumps(dict(tracklets=index, files=files)))
        os.chmod(tmp, 0o755)  # a cache may be shared; mkdtemp makes folders private
    except BaseException as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise write_error(folder, e, "the synthetic frames cache") from e
        raise
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        return
    for name in ARRAYS:
        trust(folder / f"{name}.npy")


def discard(folder: Path) -> None:
    """Remove a damaged cache folder (or a link in its place, not what it points to)."""
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def load(folder: Path) -> list[Tracklet] | str:
    """The cached tracklets, or what is wrong with the cache (in words) when it fails its checks."""
    remove_leftovers(folder.parent)
    index = _index(folder)
    if isinstance(index, str):
        return index
    try:
        frames = np.load(folder / "frames.npy", mmap_mode="r")
        vis, flow = np.load(folder / "visibility.npy"), np.load(folder / "flow_truth.npy")
        flags = np.load(folder / "degradation.npy")
        items = index["tracklets"]
        total = sum(int(item["length"]) for item in items)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return f"its files do not read as reidlib wrote them ({type(e).__name__})"
    if not (total == len(frames) == len(vis) == len(flow) == len(flags)):
        return f"index.json lists {total} frames, the arrays hold {[len(frames), len(vis), len(flow), len(flags)]}"
    out, start = [], 0
    for item in items:
        end = start + item["length"]
        meta = {**item["meta"], "cache": str(folder)}
        out.append(
            Tracklet(
                item["pid"], item["camid"], frames[start:end], vis[start:end], flow[start:end], meta, flags[start:end]
            )
        )
        start = end
    return out


def _index(folder: Path) -> dict | str:
    """The folder's index once its files pass their checks, or what is wrong (in words)."""
    if folder.is_symlink():
        return "it is a symbolic link, not a folder reidlib wrote"
    try:
        index = json.loads((folder / "index.json").read_text())
    except (OSError, ValueError) as e:
        return f"its index.json cannot be read ({type(e).__name__})"
    if not isinstance(index, dict) or not isinstance(index.get("files"), dict) or "tracklets" not in index:
        return "its index.json records no sizes and checksums (written by an older reidlib, or edited)"
    for name in ARRAYS:
        why = problem(folder / f"{name}.npy", index["files"].get(f"{name}.npy"))
        if why is not None:
            return f"{name}.npy: {why}"
    return index
