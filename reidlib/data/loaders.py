"""Read the real datasets in their official layouts, and ``load_dataset`` for every source.

Frames stay on disk: a tracklet holds the sorted list of its image paths and
:func:`reidlib.data.sampling.load_frames` reads the ones a model needs. None of the
real datasets may be redistributed: readers download and extract them themselves
(:mod:`reidlib.data.download` helps), then pass ``root=`` (or set ``REIDLIB_DATA``) to the
folder that holds them.

Splits: the official splits files of iLIDS-VID and PRID-2011 (both in the iLIDS-VID archive)
are read when present; MARS has one official query/gallery; otherwise ``make_splits``
makes random half/half person splits from a seed and saves them as JSON next to the data
(``splits_<name>_<P>persons_<n>x_seed<s>.json``), and later loads read that file back.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from .dataset import VideoReIDDataset
from .download import data_root, manual_instructions, source
from .mars import load_mars
from .splits import Split, check_splits, load_splits, make_splits, save_splits
from .synthetic import PRESETS, SyntheticReID
from .tracklet import SkippedDataWarning, Tracklet

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
PathLike = str | os.PathLike

__all__ = [
    "data_root",
    "frame_number",
    "sorted_frames",
    "load_dataset",
    "load_ilidsvid",
    "load_prid2011",
    "load_sduvid",
    "load_mars",
    "load_folder",
    "load_synthetic",
]


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
    same = [(a, b) for a, b in zip(numbered, numbered[1:]) if a[0] == b[0]]
    if same:
        (n, _, first), (_, _, second) = same[0]
        more = f" ({len(same)} such pairs in all)" if len(same) > 1 else ""
        raise ValueError(
            f"Two frames in {folder} have the number {n}: {first.name} and {second.name}{more}. Expected one "
            "file per frame number (frames are ordered by the last number in their names). Remove the "
            "copy, or rename one of them."
        )
    return [p for _, _, p in numbered]


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _find(root: Path, name: str, candidates: list[str]) -> Path:
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


def _camera_dirs(folder: Path, names: list[str], dataset: str) -> list[Path]:
    """``folder/name`` for each camera name; an error naming the missing ones and what is there instead."""
    missing = [n for n in names if not (folder / n).is_dir()]
    if missing:
        found = [p.name for p in _subdirs(folder)]
        raise FileNotFoundError(
            f"{dataset}: expected the camera folders {names} in {folder}; {missing} missing, "
            f"found {found}. Re-extract the archive (camera folders keep their official names)."
        )
    return [folder / n for n in names]


def _read_cameras(cam_dirs: list[Path]) -> dict[int, dict[int, list[Path]]]:
    """{camid: {pid: sorted frame paths}} for person folders named with their id (person001, person_0001)."""
    out = {}
    for camid, cam in enumerate(cam_dirs):
        persons: dict[int, list[Path]] = {}
        names: dict[int, str] = {}
        for d in _subdirs(cam):
            pid = frame_number(d)
            if pid in persons:
                raise ValueError(
                    f"Two person folders in {cam} have the id {pid}: {names[pid]} and {d.name}. "
                    "Expected one folder per person, each with its own number; rename or remove one."
                )
            persons[pid], names[pid] = sorted_frames(d), d.name
        out[camid] = persons
    return out


def _tracklets(frames: dict[int, dict[int, list[Path]]], pids: list[int], dataset: str) -> list[Tracklet]:
    return [
        Tracklet(pid=p, camid=c, frames=frames[c][p], meta={"dataset": dataset, "folder": str(frames[c][p][0].parent)})
        for p in sorted(pids)
        for c in sorted(frames)
        if p in frames[c]
    ]


def _ids(pids) -> str:
    pids = sorted(pids)
    return f"{pids[:8]}" + (f" and {len(pids) - 8} more" if len(pids) > 8 else "")


def _read_splits_file(path: Path, pids: list[int], dataset: str) -> list[Split]:
    """Splits from a JSON file, checked against the dataset's persons."""
    splits = load_splits(path)
    named = set().union(*(set(s["train"]) | set(s["test"]) for s in splits))
    unknown = named - set(pids)
    if unknown:
        raise ValueError(
            f"The split file {path} names {len(unknown)} persons that are not in the {dataset} data "
            f"({len(pids)} persons, ids {min(pids)}..{max(pids)}): {_ids(unknown)}. Expected splits of "
            "this dataset's persons: pass the split file made for this data, or delete that file "
            "(or drop splits_file=) to make new random splits."
        )
    unused = set(pids) - named
    if unused:
        warnings.warn(
            f"The split file {path} leaves out {len(unused)} of the {len(pids)} persons of {dataset} "
            f"({_ids(unused)}); they are in no split's train or test set.",
            SkippedDataWarning,
            stacklevel=3,
        )
    check_splits(splits, pids)
    return splits


def _dataset_splits(
    dataset: str, folder: Path, pids: list[int], splits_file: PathLike | None, num_splits: int, seed: int
) -> tuple[list[Split], str]:
    """(splits, how they were made): ``splits_file`` if given, else random splits saved next to the data."""
    if splits_file is not None:
        return _read_splits_file(Path(splits_file), pids, dataset), f"splits from {splits_file}"
    path = folder / f"splits_{dataset}_{len(pids)}persons_{num_splits}x_seed{seed}.json"
    if path.is_file():
        return _read_splits_file(path, pids, dataset), f"random half/half splits (seed {seed}), read from {path}"
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


def load_ilidsvid(
    root: PathLike | None = None, splits_file: PathLike | None = None, num_splits: int = 10, seed: int = 0
) -> VideoReIDDataset:
    """iLIDS-VID: 300 persons x 2 cameras, 23-192 frames of 128 x 64.

    Layout: ``<root>/i-LIDS-VID/sequences/cam1/person001/cam1_person001_00317.png`` and the
    official splits ``<root>/train-test people splits/train_test_splits_ilidsvid.mat``
    (key ``ls_set``: 10 x 300 one-based indices into the sorted person folders; the first
    150 of each row are the test persons). Without that file: ``num_splits`` random
    splits from ``seed``, saved as JSON next to the data, with a warning.
    """
    base = data_root(root)
    top = _find(base, "ilidsvid", ["i-LIDS-VID", "iLIDS-VID/i-LIDS-VID", "."])
    frames = _read_cameras(_camera_dirs(top / "sequences", ["cam1", "cam2"], "iLIDS-VID"))
    only1, only2 = set(frames[0]) - set(frames[1]), set(frames[1]) - set(frames[0])
    if only1 or only2:
        raise ValueError(
            f"iLIDS-VID's cam1 and cam2 must hold the same persons; found {len(only1)} only in cam1 "
            f"({_ids(only1)}) and {len(only2)} only in cam2 ({_ids(only2)}) under {top / 'sequences'}. "
            "Re-extract the archive (an interrupted extraction leaves folders out)."
        )
    pids = sorted(frames[0])
    official = [d / "train-test people splits" / "train_test_splits_ilidsvid.mat" for d in (top.parent, top, base)]
    mat = next((m for m in official if m.is_file()), None)
    if splits_file is not None or mat is None:
        if splits_file is None:
            warnings.warn(
                f"iLIDS-VID's official splits file was not found ({official[0]}); using {num_splits} "
                f"random half/half splits (seed {seed}) instead. Results will not match published "
                "numbers exactly.",
                stacklevel=2,
            )
        splits, protocol = _dataset_splits("ilidsvid", top, pids, splits_file, num_splits, seed)
    else:
        splits, protocol = _ilidsvid_splits(mat, pids), f"official splits (ls_set in {mat})"
    return VideoReIDDataset(
        "ilidsvid", _tracklets(frames, pids, "ilidsvid"), splits, root=top, meta={"protocol": protocol}
    )


def _ilidsvid_splits(mat: Path, pids: list[int]) -> list[Split]:
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


def load_prid2011(
    root: PathLike | None = None,
    min_frames: int = 21,
    num_splits: int = 10,
    seed: int = 0,
    splits_file: PathLike | None = None,
) -> VideoReIDDataset:
    """PRID-2011 multi-shot: persons seen by both cameras with at least ``min_frames`` frames in each.

    Layout: ``<root>/prid_2011/multi_shot/cam_a/person_0001/0001.png`` (cam_a: 385 persons,
    cam_b: 749; persons 1-200 appear in both). The usual protocol keeps 178 persons and
    splits them half/half 10 times. A :class:`SkippedDataWarning` counts the persons left
    out (also recorded in ``.meta``). Splits: ``splits_file`` if given; else the official
    ``train_test_splits_prid.mat`` of the iLIDS-VID archive (``<root>/train-test people
    splits/``) when it is there and lists as many persons as were kept; else ``num_splits``
    random splits from ``seed``. ``meta["splits"]`` says which.
    """
    top = _find(data_root(root), "prid2011", ["prid_2011", "prid2011/prid_2011", "."])
    frames = _read_cameras(_camera_dirs(top / "multi_shot", ["cam_a", "cam_b"], "PRID-2011"))
    both = set(frames[0]) & set(frames[1])
    pids = sorted(p for p in both if min(len(frames[0][p]), len(frames[1][p])) >= min_frames)
    one_camera, short = set(frames[0]) ^ set(frames[1]), sorted(both - set(pids))
    if not pids:
        raise ValueError(
            f"PRID-2011 in {top}: no person has >= {min_frames} frames in both cameras ({len(both)} "
            "persons are in both). Lower min_frames, or check the extracted frames."
        )
    if one_camera or short:
        warnings.warn(
            f"PRID-2011: kept {len(pids)} persons; left out {len(one_camera)} persons seen by one camera "
            f"only and {len(short)} with fewer than {min_frames} frames in a camera (min_frames=), as the "
            "standard protocol does.",
            SkippedDataWarning,
            stacklevel=2,
        )
    splits, protocol, how = _prid_splits(data_root(root), top, frames, pids, min_frames, splits_file, num_splits, seed)
    meta = {
        "protocol": f"persons in both cameras with >= {min_frames} frames each; {protocol}",
        "splits": how,
        "left_out_one_camera": len(one_camera),
        "left_out_short": short,
    }
    return VideoReIDDataset("prid2011", _tracklets(frames, pids, "prid2011"), splits, root=top, meta=meta)


def _prid_splits(
    base: Path,
    top: Path,
    frames: dict[int, dict[int, list[Path]]],
    pids: list[int],
    min_frames: int,
    splits_file: PathLike | None,
    num_splits: int,
    seed: int,
) -> tuple[list[Split], str, str]:
    """(splits, protocol, which splits) of PRID-2011: ``splits_file``, else the official .mat when it fits
    the persons kept, else seeded random splits (with a warning when the .mat is there but does not fit)."""
    from scipy.io import whosmat

    name = "train_test_splits_prid.mat"
    folders = dict.fromkeys((base, top.parent, base / "iLIDS-VID", base / "i-LIDS-VID"))  # where iLIDS-VID unpacks
    mat = next((m for m in (d / "train-test people splits" / name for d in folders) if m.is_file()), None)
    if splits_file is None and mat is not None:
        try:
            shapes = {n: shape for n, shape, _ in whosmat(str(mat))}
        except Exception:  # a corrupt file: _ilidsvid_splits reads it and explains the error
            shapes = {}
        width = shapes.get("ls_set", (0, len(pids)))[-1]  # no ls_set: _ilidsvid_splits explains that too
        if width == len(pids):
            return _ilidsvid_splits(mat, pids), f"official splits (ls_set in {mat})", f"official ({name})"
        shortest = [min(len(frames[0][p]), len(frames[1][p])) for p in set(frames[0]) & set(frames[1])]
        fits = [m for m in range(1, max(shortest) + 1) if sum(n >= m for n in shortest) == width]
        hint = ""
        if fits:
            hint = f" min_frames={fits[0]}" + (f" to {fits[-1]}" if len(fits) > 1 else "") + f" keeps {width} persons."
        warnings.warn(
            f"PRID-2011: the official splits {mat} divide {width} persons, but min_frames={min_frames} keeps "
            f"{len(pids)}; using {num_splits} random half/half splits (seed {seed}) instead.{hint}",
            stacklevel=3,
        )
    splits, protocol = _dataset_splits("prid2011", top, pids, splits_file, num_splits, seed)
    return splits, protocol, f"from {splits_file}" if splits_file is not None else f"seeded random (seed {seed})"


def load_sduvid(
    root: PathLike | None = None, num_splits: int = 10, seed: int = 0, splits_file: PathLike | None = None
) -> VideoReIDDataset:
    """SDU-VID: 300 persons x 2 cameras; ``<root>/SDU-VID/sequences/<cam>/<person>/<frames>``.

    The two camera folders are taken in sorted order (the first is the query camera);
    protocol: a random half/half person split, repeated 10 times. Persons seen by one
    camera only are left out with a :class:`SkippedDataWarning`.
    """
    top = _find(data_root(root), "sduvid", ["SDU-VID", "."])
    cams = _subdirs(top / "sequences")
    if len(cams) != 2:
        raise ValueError(
            f"SDU-VID: expected 2 camera folders in {top / 'sequences'}; found {len(cams)}: "
            f"{[c.name for c in cams]}. Keep exactly the two camera folders of the dataset there."
        )
    frames = _read_cameras(cams)
    pids = sorted(set(frames[0]) & set(frames[1]))
    one_camera = set(frames[0]) ^ set(frames[1])
    if not pids:
        raise ValueError(
            f"SDU-VID: the camera folders {[c.name for c in cams]} share no person id. Expected the "
            "same person numbers in both; check the folder names."
        )
    if one_camera:
        warnings.warn(
            f"SDU-VID: left out {len(one_camera)} persons seen by one camera only ({_ids(one_camera)}); "
            f"kept {len(pids)}.",
            SkippedDataWarning,
            stacklevel=2,
        )
    splits, protocol = _dataset_splits("sduvid", top, pids, splits_file, num_splits, seed)
    meta = {"protocol": protocol, "cameras": [c.name for c in cams], "left_out_one_camera": len(one_camera)}
    return VideoReIDDataset("sduvid", _tracklets(frames, pids, "sduvid"), splits, root=top, meta=meta)


def load_folder(
    root: PathLike, num_splits: int = 10, seed: int = 0, splits_file: PathLike | None = None, name: str = "folder"
) -> VideoReIDDataset:
    """Your own data in the iLIDS-VID layout: ``<root>/<camera>/<person>/<frames>``.

    At least two camera folders, in sorted order (the first is the query camera); each
    person folder named with its id (``person007``, ``person_0007`` or ``7``). Every
    tracklet is kept; persons seen by one camera only are counted in a warning (as test
    persons they have no match). Splits as for the real datasets, saved in ``root``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"No folder at {root}; expected <root>/<camera>/<person>/<frames>. Pass the folder "
            "that holds the camera folders."
        )
    cams = _subdirs(root)
    if len(cams) < 2:
        raise ValueError(
            f"{root} should hold at least 2 camera folders (<root>/<camera>/<person>/<frames>); found "
            f"{[c.name for c in cams]}. Re-identification matches persons across cameras."
        )
    frames = _read_cameras(cams)
    pids = sorted(set().union(*frames.values()))
    lonely = [p for p in pids if sum(p in f for f in frames.values()) < 2]
    if lonely:
        warnings.warn(
            f"{root}: {len(lonely)} persons appear in one camera only ({_ids(lonely)}); they are kept, "
            "but as test persons they have no match in another camera.",
            stacklevel=2,
        )
    splits, protocol = _dataset_splits(name, root, pids, splits_file, num_splits, seed)
    return VideoReIDDataset(
        name,
        _tracklets(frames, pids, name),
        splits,
        root=root,
        meta={"cameras": [c.name for c in cams], "protocol": protocol},
        persons=f"{name} at {Path(root).resolve()}",  # another folder shows other people under the same pids
    )


def load_synthetic(
    preset: str = "quick",
    seed: int = 0,
    occlusion: float | None = None,
    cache_dir: PathLike | None = None,
    num_splits: int = 10,
    progress: bool = False,
    **overrides,
) -> VideoReIDDataset:
    """The synthetic benchmark at a preset size (``PRESETS``: tiny, quick, small, standard, degraded;
    tiny_clean ... standard_clean, the same persons without any degradation).

    ``occlusion`` (share of tracklets with a thin occluder) None keeps the preset's; ``overrides``
    change other :class:`SyntheticReID` arguments (``num_ids=``, ``heavy_occlusion=``, ...).
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown synthetic preset {preset!r}; choose one of {', '.join(PRESETS)}.")
    args = {**PRESETS[preset], **overrides, "seed": seed}
    if occlusion is not None:
        args["occlusion"] = occlusion
    return SyntheticReID(**args).dataset(num_splits, cache_dir=cache_dir, progress=progress, name=f"synthetic-{preset}")


LOADERS = {
    "synthetic": load_synthetic,
    "ilidsvid": load_ilidsvid,
    "prid2011": load_prid2011,
    "sduvid": load_sduvid,
    "mars": load_mars,
    "folder": load_folder,
}


def load_dataset(name: str, root: PathLike | None = None, **kw) -> VideoReIDDataset:
    """Load a dataset by name: ``"synthetic" | "ilidsvid" | "prid2011" | "sduvid" | "mars" | "folder"``.

    ``root`` is the folder holding the real data (default ``$REIDLIB_DATA`` or ``~/reid-data``);
    the synthetic benchmark needs none. Other keywords go to the loader, e.g.
    ``load_dataset("synthetic", preset="quick", seed=0)`` or ``load_dataset("prid2011", min_frames=21)``.
    """
    key = name.lower().replace("-", "").replace("_", "")
    if key not in LOADERS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(LOADERS)}.")
    if key == "synthetic":
        if root is not None:
            raise ValueError(
                "The synthetic dataset is generated, not read: drop root=, or use cache_dir= "
                "to keep rendered frames on disk."
            )
        return load_synthetic(**kw)
    if key == "folder" and root is None:
        raise ValueError("load_dataset('folder') needs root=, the folder holding <camera>/<person>/<frames>.")
    return LOADERS[key](root, **kw)
