"""iLIDS-VID in its official layout (chapter 2)."""

from __future__ import annotations

import warnings

from ..dataset import VideoReIDDataset
from ..download import data_root
from .layout import (
    PathLike,
    camera_dirs,
    dataset_splits,
    find_dataset,
    mat_splits,
    read_cameras,
    some_ids,
    tracklets_of,
)


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
    top = find_dataset(base, "ilidsvid", ["i-LIDS-VID", "iLIDS-VID/i-LIDS-VID", "."])
    frames = read_cameras(camera_dirs(top / "sequences", ["cam1", "cam2"], "iLIDS-VID"))
    only1, only2 = set(frames[0]) - set(frames[1]), set(frames[1]) - set(frames[0])
    if only1 or only2:
        raise ValueError(
            f"iLIDS-VID's cam1 and cam2 must hold the same persons; found {len(only1)} only in cam1 "
            f"({some_ids(only1)}) and {len(only2)} only in cam2 ({some_ids(only2)}) under {top / 'sequences'}. "
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
        splits, protocol = dataset_splits("ilidsvid", top, pids, splits_file, num_splits, seed)
    else:
        splits, protocol = mat_splits(mat, pids), f"official splits (ls_set in {mat})"
    return VideoReIDDataset(
        "ilidsvid", tracklets_of(frames, pids, "ilidsvid"), splits, root=top, meta={"protocol": protocol}
    )
