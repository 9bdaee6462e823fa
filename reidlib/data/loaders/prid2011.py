"""PRID-2011 multi-shot in its official layout (chapter 2)."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..dataset import VideoReIDDataset
from ..download import data_root
from ..splits import Split
from ..tracklet import SkippedDataWarning
from .layout import PathLike, camera_dirs, dataset_splits, find_dataset, mat_splits, read_cameras, tracklets_of


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
    top = find_dataset(data_root(root), "prid2011", ["prid_2011", "prid2011/prid_2011", "."])
    frames = read_cameras(camera_dirs(top / "multi_shot", ["cam_a", "cam_b"], "PRID-2011"))
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
    splits, protocol, how = prid_splits(data_root(root), top, frames, pids, min_frames, splits_file, num_splits, seed)
    meta = {
        "protocol": f"persons in both cameras with >= {min_frames} frames each; {protocol}",
        "splits": how,
        "left_out_one_camera": len(one_camera),
        "left_out_short": short,
    }
    return VideoReIDDataset("prid2011", tracklets_of(frames, pids, "prid2011"), splits, root=top, meta=meta)


def prid_splits(
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
            return mat_splits(mat, pids), f"official splits (ls_set in {mat})", f"official ({name})"
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
    splits, protocol = dataset_splits("prid2011", top, pids, splits_file, num_splits, seed)
    return splits, protocol, f"from {splits_file}" if splits_file is not None else f"seeded random (seed {seed})"
