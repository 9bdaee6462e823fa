"""What the loaders of the official layouts share: frames ordered by their numbers, person folders per
camera, and splits (the official ``.mat`` files of the iLIDS-VID archive, or random ones saved as JSON
next to the data: ``splits_<name>_<P>persons_<n>x_seed<s>.json``) (chapter 2)."""

from __future__ import annotations

import os
import re
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np

from ..download import manual_instructions, source
from ..splits import Split, check_splits, load_splits, make_splits, save_splits
from ..tracklet import SkippedDataWarning, Tracklet

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
PathLike = str | os.PathLike


def frame_number(path: PathLike) -> int:
    """The frame index written in a file name: its last run of digits (``cam1_person001_00317.png`` -> 317)."""
    digits = re.findall(r"\d+", Path(path).stem)
    if not digits:
        raise ValueError(
            f"The name {Path(path).name!r} has no number in it; frames (and person folders) are "
            "identified by the last number in their names (e.g. 0001.png, person_0001). Rename it."
        )
    return int(digits[-1])


def sorted_frames(folder: PathLike) -> list[Path]:
    """The image files of one tracklet folder in temporal order: by frame number, never by directory order."""
    folder = Path(folder)
    entries = list(folder.iterdir())
    files = [p for p in entries if p.suffix.lower() in IMAGE_EXTS and p.is_file()]
    if not files:
        others = ", ".join(sorted(p.name for p in entries)[:5]) or "nothing"
        raise ValueError(
            f"The person folder {folder} is empty: expected image files ({', '.join(IMAGE_EXTS)}); "
            f"found {others}. Re-extract the dataset archive, or delete the empty folder."
        )
    numbered = sorted((frame_number(p), p.name, p) for p in files)
    same = [(a, b) for a, b in pairwise(numbered) if a[0] == b[0]]
    if same:
        (n, _, first), (_, _, second) = same[0]
        more = f" ({len(same)} such pairs in all)" if len(same) > 1 else ""
        raise ValueError(
            f"Two frames in {folder} have the number {n}: {first.name} and {second.name}{more}. Expected one "
            "file per frame number (frames are ordered by the last number in their names). Remove the "
            "copy, or rename one of them."
        )
    return [p for _, _, p in numbered]


def subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def find_dataset(root: Path, name: str, candidates: list[str]) -> Path:
    """The first ``root/c`` (c in candidates) that holds the dataset's marker folder; a helpful error if none does."""
    marker = source(name).marker
    for c in candidates:
        if (root / c / marker).is_dir():
            return (root / c).resolve()
    seen = ", ".join(p.name for p in sorted(root.iterdir())[:8]) if root.is_dir() else "nothing (no such folder)"
    seen = seen or "an empty folder"
    tried = ", ".join(str(root / c / marker) for c in candidates)
    raise FileNotFoundError(
        f"Could not find the {source(name).title} dataset: expected the folder {tried}. "
        f"Found in {root}: {seen}. {manual_instructions(name, root)} "
        "(Or pass root=... / set REIDLIB_DATA to where it already is.)"
    )


def camera_dirs(folder: Path, names: list[str], dataset: str) -> list[Path]:
    """``folder/name`` for each camera name; an error naming the missing ones and what is there instead."""
    missing = [n for n in names if not (folder / n).is_dir()]
    if missing:
        found = [p.name for p in subdirs(folder)]
        raise FileNotFoundError(
            f"{dataset}: expected the camera folders {names} in {folder}; {missing} missing, "
            f"found {found}. Re-extract the archive (camera folders keep their official names)."
        )
    return [folder / n for n in names]


def read_cameras(cam_dirs: list[Path]) -> dict[int, dict[int, list[Path]]]:
    """{camid: {pid: sorted frame paths}} for person folders named with their id (person001, person_0001)."""
    out = {}
    for camid, cam in enumerate(cam_dirs):
        persons: dict[int, list[Path]] = {}
        names: dict[int, str] = {}
        for d in subdirs(cam):
            pid = frame_number(d)
            if pid in persons:
                raise ValueError(
                    f"Two person folders in {cam} have the id {pid}: {names[pid]} and {d.name}. "
                    "Expected one folder per person, each with its own number; rename or remove one."
                )
            persons[pid], names[pid] = sorted_frames(d), d.name
        out[camid] = persons
    return out


def tracklets_of(frames: dict[int, dict[int, list[Path]]], pids: list[int], dataset: str) -> list[Tracklet]:
    return [
        Tracklet(pid=p, camid=c, frames=frames[c][p], meta={"dataset": dataset, "folder": str(frames[c][p][0].parent)})
        for p in sorted(pids)
        for c in sorted(frames)
        if p in frames[c]
    ]


def some_ids(pids) -> str:
    pids = sorted(pids)
    return f"{pids[:8]}" + (f" and {len(pids) - 8} more" if len(pids) > 8 else "")


def read_splits_file(path: Path, pids: list[int], dataset: str) -> list[Split]:
    """Splits from a JSON file, checked against the dataset's persons."""
    splits = load_splits(path)
    named = set().union(*(set(s["train"]) | set(s["test"]) for s in splits))
    unknown = named - set(pids)
    if unknown:
        raise ValueError(
            f"The split file {path} names {len(unknown)} persons that are not in the {dataset} data "
            f"({len(pids)} persons, ids {min(pids)}..{max(pids)}): {some_ids(unknown)}. Expected splits of "
            "this dataset's persons: pass the split file made for this data, or delete that file "
            "(or drop splits_file=) to make new random splits."
        )
    unused = set(pids) - named
    if unused:
        warnings.warn(
            f"The split file {path} leaves out {len(unused)} of the {len(pids)} persons of {dataset} "
            f"({some_ids(unused)}); they are in no split's train or test set.",
            SkippedDataWarning,
            stacklevel=3,
        )
    check_splits(splits, pids)
    return splits


def dataset_splits(
    dataset: str, folder: Path, pids: list[int], splits_file: PathLike | None, num_splits: int, seed: int
) -> tuple[list[Split], str]:
    """(splits, how they were made): ``splits_file`` if given, else random splits saved next to the data."""
    if splits_file is not None:
        return read_splits_file(Path(splits_file), pids, dataset), f"splits from {splits_file}"
    path = folder / f"splits_{dataset}_{len(pids)}persons_{num_splits}x_seed{seed}.json"
    if path.is_file():
        return read_splits_file(path, pids, dataset), f"random half/half splits (seed {seed}), read from {path}"
    splits = make_splits(pids, num_splits=num_splits, seed=seed)
    try:
        save_splits(splits, path)
        how = f"random half/half splits (seed {seed}), saved to {path}"
    except OSError as e:
        warnings.warn(
            f"Could not save the splits to {path} ({e}); they are remade from seed {seed} at every load.", stacklevel=3
        )
        how = f"random half/half splits (seed {seed}), not saved"
    return splits, how


def mat_splits(mat: Path, pids: list[int]) -> list[Split]:
    """The splits of the official .mat file: each row of ``ls_set`` is a permutation of 1..P, test persons first."""
    from scipy.io import loadmat

    advice = "Re-extract the archive, or pass splits_file= with JSON splits (reidlib.data.save_splits)."
    try:
        contents = loadmat(str(mat))
    except Exception as e:  # scipy fails on damaged files in many ways: MatReadError, IndexError, OSError, ...
        raise ValueError(
            f"Could not read the iLIDS-VID splits file {mat}: it is damaged or not a MATLAB file "
            f"({type(e).__name__}: {e}). Expected the official .mat file with the key 'ls_set'. {advice}"
        ) from None
    if "ls_set" not in contents:
        keys = sorted(k for k in contents if not k.startswith("__"))
        raise ValueError(f"{mat} holds {keys} but no 'ls_set', the key of iLIDS-VID's official splits. {advice}")
    ls_set = np.asarray(contents["ls_set"])
    P = len(pids)
    if ls_set.ndim != 2 or ls_set.shape[1] != P:
        raise ValueError(
            f"{mat} holds ls_set of shape {ls_set.shape}; expected (splits, {P}) for the {P} person "
            "folders found. The dataset folder is incomplete or from another release."
        )
    for i, row in enumerate(ls_set):
        if sorted(int(v) for v in row) != list(range(1, P + 1)):
            bad = sorted(set(int(v) for v in row) - set(range(1, P + 1)))
            raise ValueError(
                f"Row {i} of ls_set in {mat} is not a permutation of the person indices 1..{P} "
                f"(unknown indices {bad[:5]}, or repeats). Re-extract the archive."
            )
    half = P // 2
    return [
        {"train": sorted(pids[int(i) - 1] for i in row[half:]), "test": sorted(pids[int(i) - 1] for i in row[:half])}
        for row in ls_set
    ]
