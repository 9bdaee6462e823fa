"""Your own videos in the iLIDS-VID layout: ``<root>/<camera>/<person>/<frames>`` (chapter 2)."""

from __future__ import annotations

import warnings
from pathlib import Path

from ..dataset import VideoReIDDataset
from .layout import PathLike, dataset_splits, read_cameras, some_ids, subdirs, tracklets_of


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
    cams = subdirs(root)
    if len(cams) < 2:
        raise ValueError(
            f"{root} should hold at least 2 camera folders (<root>/<camera>/<person>/<frames>); found "
            f"{[c.name for c in cams]}. Re-identification matches persons across cameras."
        )
    frames = read_cameras(cams)
    pids = sorted(set().union(*frames.values()))
    lonely = [p for p in pids if sum(p in f for f in frames.values()) < 2]
    if lonely:
        warnings.warn(
            f"{root}: {len(lonely)} persons appear in one camera only ({some_ids(lonely)}); they are kept, "
            "but as test persons they have no match in another camera.",
            stacklevel=2,
        )
    splits, protocol = dataset_splits(name, root, pids, splits_file, num_splits, seed)
    return VideoReIDDataset(
        name,
        tracklets_of(frames, pids, name),
        splits,
        root=root,
        meta={"cameras": [c.name for c in cams], "protocol": protocol},
        persons=f"{name} at {Path(root).resolve()}",  # another folder shows other people under the same pids
    )
