"""MARS (Zheng et al., ECCV 2016; chapter 13): 1,261 persons, 6 cameras, about 20,000 tracklets, read in its
official layout.

Layout under the data root::

    MARS/bbox_train/0001/0001C1T0001F001.jpg     (<pid>C<camera>T<tracklet>F<frame>.jpg)
    MARS/bbox_test/0000/..., 00-1/..., 0002/...  (0000: distractors, 00-1: junk)
    MARS/info/train_name.txt, test_name.txt      (every frame's file name, in tracklet order)
    MARS/info/tracks_train_info.mat              (track_train_info: one row per tracklet:
    MARS/info/tracks_test_info.mat                first row, last row of the names file, pid, camera;
    MARS/info/query_IDX.mat                       1-based; query_IDX: rows of track_test_info)

The protocol is fixed: train on bbox_train's 625 persons; the queries are the test tracklets
that ``query_IDX`` names, the gallery every other test tracklet (as torchreid does; the authors'
MATLAB evaluation also keeps the queries in the gallery, so its numbers can differ a little).
Junk tracklets (pid -1) are dropped with a :class:`SkippedDataWarning`; distractors (pid 0)
stay in the gallery. Queries and gallery share cameras, so evaluate camera-aware
(:func:`reidlib.evaluation.rank_metrics` with camera ids, as :func:`reidlib.evaluation.evaluate`
does): a query ignores its person's gallery tracklets from its own camera.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..dataset import VideoReIDDataset
from ..download import data_root, manual_instructions
from ..tracklet import SkippedDataWarning, Tracklet
from .layout import find_dataset

NAME = re.compile(r"(\d{4}|00-1)C(\d)T(\d{4})F(\d{3,})\.jpg")  # 0001C1T0001F001.jpg
INFO = {  # set -> (names file, info file, key of its matrix)
    "train": ("train_name.txt", "tracks_train_info.mat", "track_train_info"),
    "test": ("test_name.txt", "tracks_test_info.mat", "track_test_info"),
}
JUNK, DISTRACTOR = -1, 0


def load_mars(root: str | os.PathLike | None = None) -> VideoReIDDataset:
    """MARS with its official query/gallery: ``split(0)`` is the only split (no random ones).

    Tracklet ``camid`` is the camera number minus 1 (0..5); ``meta`` records the protocol,
    the junk tracklets dropped and the distractor tracklets kept.
    """
    top = find_dataset(data_root(root), "mars", ["MARS", "mars", "."])
    _check_layout(top, root)
    rows = {s: _read_tracks(top, s) for s in INFO}  # set -> (R, 4) int rows: first, last, pid, camera
    frames = {s: _frame_paths(top, s, rows[s]) for s in INFO}
    query_rows = _read_query(top / "info" / "query_IDX.mat", len(rows["test"]))

    tracklets, query = [], []
    for s in INFO:
        for r, ((_, _, pid, cam), paths) in enumerate(zip(rows[s], frames[s], strict=True)):
            if pid == JUNK:
                continue
            if s == "test" and r in query_rows:
                query.append(len(tracklets))
            tracklets.append(Tracklet(int(pid), int(cam) - 1, paths, meta={"dataset": "mars", "set": s, "row": r}))
    train_pids = sorted({int(p) for p in rows["train"][:, 2]} - {JUNK})
    test_pids = sorted({int(p) for p in rows["test"][:, 2]} - {JUNK})
    both = set(train_pids) & set(test_pids)
    if both:
        raise ValueError(
            f"MARS in {top}: {len(both)} person ids appear in both bbox_train and bbox_test (e.g. {sorted(both)[:5]}); "
            "the official sets are disjoint. The info files or image folders are mixed up: re-extract them."
        )
    junk = [r for r in range(len(rows["test"])) if rows["test"][r, 2] == JUNK]
    junk_queries = len(set(junk) & query_rows)
    distractors = sum(t.pid == DISTRACTOR for t in tracklets)
    if junk:
        warnings.warn(
            f"MARS: dropped {len(junk)} junk tracklets (person id -1) of bbox_test"
            + (f", {junk_queries} of them named by query_IDX" if junk_queries else "")
            + f", as the standard protocol does; {distractors} distractor tracklets (person id 0) stay in the gallery.",
            SkippedDataWarning,
            stacklevel=2,
        )
    meta = {
        "protocol": "official MARS query/gallery (info/query_IDX.mat); junk (pid -1) dropped, distractors (pid 0) kept",
        "splits": "official (info/query_IDX.mat)",
        "junk_dropped": len(junk),
        "distractor_tracklets": distractors,
    }
    split = {"train": train_pids, "test": test_pids}
    return VideoReIDDataset("mars", tracklets, [split], root=top, meta=meta, official_query=query)


def _check_layout(top: Path, root) -> None:
    """Every folder and info file of the layout is there, or an error lists what is missing."""
    needed = ["bbox_train", "bbox_test"]
    files = [f"info/{n}" for names, mat, _ in INFO.values() for n in (names, mat)] + ["info/query_IDX.mat"]
    missing = [d + "/" for d in needed if not (top / d).is_dir()] + [f for f in files if not (top / f).is_file()]
    if missing:
        found = sorted(p.name for p in top.iterdir()) + sorted(f"info/{p.name}" for p in (top / "info").iterdir())
        raise FileNotFoundError(
            f"MARS in {top}: missing {missing}. Expected bbox_train/, bbox_test/ and info/ with "
            f"{', '.join(f[5:] for f in files)}; found {found}. {manual_instructions('mars', root)}"
        )


def _read_mat(path: Path, key: str) -> np.ndarray:
    from scipy.io import loadmat

    try:
        return np.asarray(loadmat(str(path))[key])
    except Exception as e:  # scipy fails on damaged files in many ways (MatReadError, zlib.error, EOFError, ...)
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ValueError(
            f"Could not read {key!r} from {path} ({type(e).__name__}: {reason}); expected the MATLAB file of the "
            "MARS info folder with that key. Download the info folder again."
        ) from None


def _integers(values: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``values`` as int64, refusing any that are not whole numbers (they would be truncated)."""
    values = np.asarray(values)
    if values.dtype.kind not in "iub":
        bad = ~np.isfinite(values) | (values != np.round(values)) if values.dtype.kind == "f" else None
        if bad is None or bad.any():
            example = values[bad][:3].tolist() if bad is not None else values.reshape(-1)[:3].tolist()
            raise ValueError(
                f"{path}: {key} must hold whole numbers (row numbers, person and camera ids); found "
                f"{values.dtype} values such as {example}. The file is damaged or not MARS's: download the "
                "info folder again."
            )
    return values.astype(np.int64)


def _read_tracks(top: Path, s: str) -> np.ndarray:
    """The rows (R, 4) of a set's track info: first and last name row (1-based), pid, camera (1..6)."""
    names_file, mat, key = INFO[s]
    info = _read_mat(top / "info" / mat, key)
    if info.ndim != 2 or info.shape[1] < 4 or len(info) == 0:
        raise ValueError(
            f"{top / 'info' / mat}: {key} has shape {info.shape}; expected one row per tracklet with at least "
            "4 columns (first, last, pid, camera). Download the info folder again."
        )
    return _integers(info[:, :4], top / "info" / mat, key)


def _frame_paths(top: Path, s: str, rows: np.ndarray) -> list[list[str]]:
    """The frame paths of every tracklet row, checked: names well formed, one person and one camera per
    tracklet (those of its info row), every file on disk."""
    names_file, mat, _ = INFO[s]
    names = [n.strip() for n in (top / "info" / names_file).read_text().splitlines() if n.strip()]
    parsed = [NAME.fullmatch(n) for n in names]
    bad = [n for n, m in zip(names, parsed, strict=True) if m is None]
    if bad:
        raise ValueError(
            f"{top / 'info' / names_file}: {len(bad)} names are not MARS frame names "
            f"<pid>C<camera>T<tracklet>F<frame>.jpg (like 0001C1T0001F001.jpg), e.g. {bad[:3]}. The file is not "
            "MARS's names list; download the info folder again."
        )
    first, last = rows[:, 0], rows[:, 1]
    out_of_range = np.flatnonzero((first < 1) | (last < first) | (last > len(names)))
    if len(out_of_range):
        r = int(out_of_range[0])
        raise ValueError(
            f"{top / 'info' / mat}: row {r + 1} spans name rows {first[r]}..{last[r]}, but {names_file} has "
            f"{len(names)} names ({len(out_of_range)} rows out of range). The info files are from different releases."
        )
    name_pid = np.array([JUNK if m[1] == "00-1" else int(m[1]) for m in parsed])
    name_cam = np.array([int(m[2]) for m in parsed])
    lengths = last - first + 1
    row_of = np.repeat(np.arange(len(rows)), lengths)  # the info row of every frame of every tracklet
    # the row of the names file of every frame of every tracklet
    name_row = np.concatenate([np.arange(a - 1, b) for a, b in zip(first, last, strict=True)])
    wrong = (name_pid[name_row] != rows[row_of, 2]) | (name_cam[name_row] != rows[row_of, 3])
    if wrong.any():
        k = int(np.flatnonzero(wrong)[0])
        r, n = int(row_of[k]), names[name_row[k]]
        raise ValueError(
            f"MARS {s} tracklet {r + 1} ({mat} row {r + 1}: person {rows[r, 2]}, camera {rows[r, 3]}, name rows "
            f"{first[r]}..{last[r]}) holds the frame {n} of person {name_pid[name_row[k]]}, camera "
            f"{name_cam[name_row[k]]} ({int(wrong.sum())} such frames). A tracklet shows one person in one camera: "
            f"{names_file} and {mat} do not belong together; download the info folder again."
        )
    folder = top / f"bbox_{s}"
    on_disk = {d: set(os.listdir(folder / d)) for d in {n[:4] for n in names} if (folder / d).is_dir()}
    missing = [n for n in names if n not in on_disk.get(n[:4], ())]
    if missing:
        raise FileNotFoundError(
            f"MARS: {len(missing)} of the {len(names)} frames listed in {names_file} are not in {folder}, e.g. "
            f"{[f'{n[:4]}/{n}' for n in missing[:3]]}. Extract bbox_{s}.zip completely into {folder}."
        )
    paths = [os.path.join(folder, n[:4], n) for n in names]  # strings: MARS has 1.2 million frames
    return [paths[a - 1 : b] for a, b in zip(first, last, strict=True)]


def _read_query(path: Path, num_test: int) -> set[int]:
    """The 0-based rows of track_test_info that are queries, checked."""
    idx = _integers(_read_mat(path, "query_IDX").reshape(-1), path, "query_IDX")
    bad = idx[(idx < 1) | (idx > num_test)]
    if len(idx) == 0 or len(bad) or len(set(idx.tolist())) != len(idx):
        raise ValueError(
            f"{path}: query_IDX must name distinct test tracklets 1..{num_test} (rows of track_test_info); found "
            f"{len(idx)} indices, {len(bad)} out of range (e.g. {bad[:3].tolist()}), "
            f"{len(idx) - len(set(idx.tolist()))} repeated. The info files are from different releases."
        )
    return set((idx - 1).tolist())
