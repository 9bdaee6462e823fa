"""SDU-VID in its official layout (chapter 2)."""

from __future__ import annotations

import warnings

from ..dataset import VideoReIDDataset
from ..download import data_root
from ..tracklet import SkippedDataWarning
from .layout import PathLike, dataset_splits, find_dataset, read_cameras, some_ids, subdirs, tracklets_of


def load_sduvid(
    root: PathLike | None = None, num_splits: int = 10, seed: int = 0, splits_file: PathLike | None = None
) -> VideoReIDDataset:
    """SDU-VID: 300 persons x 2 cameras; ``<root>/SDU-VID/sequences/<cam>/<person>/<frames>``.

    The two camera folders are taken in sorted order (the first is the query camera);
    protocol: a random half/half person split, repeated 10 times. Persons seen by one
    camera only are left out with a :class:`SkippedDataWarning`.
    """
    top = find_dataset(data_root(root), "sduvid", ["SDU-VID", "."])
    cams = subdirs(top / "sequences")
    if len(cams) != 2:
        raise ValueError(
            f"SDU-VID: expected 2 camera folders in {top / 'sequences'}; found {len(cams)}: "
            f"{[c.name for c in cams]}. Keep exactly the two camera folders of the dataset there."
        )
    frames = read_cameras(cams)
    pids = sorted(set(frames[0]) & set(frames[1]))
    one_camera = set(frames[0]) ^ set(frames[1])
    if not pids:
        raise ValueError(
            f"SDU-VID: the camera folders {[c.name for c in cams]} share no person id. Expected the "
            "same person numbers in both; check the folder names."
        )
    if one_camera:
        warnings.warn(
            f"SDU-VID: left out {len(one_camera)} persons seen by one camera only ({some_ids(one_camera)}); "
            f"kept {len(pids)}.",
            SkippedDataWarning,
            stacklevel=2,
        )
    splits, protocol = dataset_splits("sduvid", top, pids, splits_file, num_splits, seed)
    meta = {"protocol": protocol, "cameras": [c.name for c in cams], "left_out_one_camera": len(one_camera)}
    return VideoReIDDataset("sduvid", tracklets_of(frames, pids, "sduvid"), splits, root=top, meta=meta)
