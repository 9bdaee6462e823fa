"""Write tracklets to disk in the iLIDS-VID layout, so the real loader can read them back (chapter 2).

``export_ilidsvid(dataset, root)`` writes ::

    <root>/i-LIDS-VID/sequences/cam1/person007/cam1_person007_00000.png   (camid 0 -> cam1, 1 -> cam2)
    <root>/train-test people splits/train_test_splits_ilidsvid.mat        (the dataset's splits)

and ``load_dataset("ilidsvid", root=root)`` returns the same persons, cameras, frames
(PNG is lossless) and splits.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np
from scipy.io import savemat
from tqdm.auto import tqdm

from .dataset import VideoReIDDataset
from .sampling import load_frames
from .tracklet import SkippedDataWarning, Tracklet


def _ls_set(splits: list[dict], pids: list[int]) -> np.ndarray | None:
    """The official ``ls_set`` (splits, P) of one-based indices into the sorted persons, test persons first;
    None when a split does not have P // 2 test persons covering, with its training persons, everyone."""
    index = {p: i + 1 for i, p in enumerate(sorted(pids))}
    rows = []
    for s in splits:
        if len(s["test"]) != len(pids) // 2 or sorted(s["test"] + s["train"]) != sorted(pids):
            return None
        rows.append([index[p] for p in sorted(s["test"])] + [index[p] for p in sorted(s["train"])])
    return np.array(rows, dtype=np.float64)  # MATLAB stores doubles


def export_ilidsvid(data: VideoReIDDataset | list[Tracklet], root: str | os.PathLike, progress: bool = False) -> Path:
    """Write ``data`` (a dataset or a list of tracklets, cameras 0 and 1) as ``<root>/i-LIDS-VID``; returns that folder.

    Frames are numbered from 0 (``_00000.png``). A dataset's splits go to the official
    ``.mat`` file when they have the official form (``P // 2`` test persons each);
    otherwise, and for a plain list of tracklets, none is written and the loader makes
    random splits (a warning says so). ``root/i-LIDS-VID`` must not exist yet.
    """
    tracklets = list(data.tracklets if isinstance(data, VideoReIDDataset) else data)
    if not tracklets:
        raise ValueError("export_ilidsvid got no tracklets; expected a dataset or a non-empty list of Tracklet.")
    cams = sorted({t.camid for t in tracklets})
    if not set(cams) <= {0, 1}:
        raise ValueError(
            f"The iLIDS-VID layout has two cameras (camid 0 -> cam1, 1 -> cam2); found camids {cams}. "
            "Export a subset with cameras 0 and 1 only."
        )
    keys = [(t.pid, t.camid) for t in tracklets]
    if len(set(keys)) != len(keys):
        raise ValueError(
            "export_ilidsvid needs one tracklet per (person, camera); found duplicates. The layout "
            "has one folder per person and camera."
        )
    if min(t.pid for t in tracklets) < 0:
        raise ValueError("Person ids must be >= 0 to be written as personNNN folder names.")
    top = Path(root).expanduser() / "i-LIDS-VID"
    mat = top.parent / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    for path in (top, mat):
        if path.exists():
            raise FileExistsError(
                f"{path} exists already; export_ilidsvid writes a fresh copy. Choose an empty root or delete it."
            )
    for t in tqdm(tracklets, desc="exporting", disable=not progress):
        cam, person = f"cam{t.camid + 1}", f"person{t.pid:03d}"
        folder = top / "sequences" / cam / person
        folder.mkdir(parents=True)
        for k, frame in enumerate(load_frames(t)):
            path = folder / f"{cam}_{person}_{k:05d}.png"
            if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
                raise OSError(f"Could not write {path}; check the disk space and permissions of {root}.")
    if isinstance(data, VideoReIDDataset):
        ls_set = _ls_set(data.splits, data.pids)
        if ls_set is None:
            warnings.warn(
                f"The splits of {data.name!r} do not have the official form ({len(data.pids) // 2} test "
                "persons per split), so no splits file was written; the loader will make random "
                "splits.",
                SkippedDataWarning,
                stacklevel=2,
            )
        else:
            mat.parent.mkdir(exist_ok=True)
            savemat(mat, {"ls_set": ls_set})
    return top
