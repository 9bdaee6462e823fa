"""Read the real datasets in their official layouts, and ``load_dataset`` for every source (chapter 2).

One module per source: :mod:`.ilidsvid`, :mod:`.prid2011`, :mod:`.sduvid`, :mod:`.mars`, :mod:`.folder`
(your own videos) and :mod:`.synthetic` (generated); what they share is in :mod:`.layout`.

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

from ..dataset import VideoReIDDataset
from ..download import data_root
from .folder import load_folder
from .ilidsvid import load_ilidsvid
from .layout import PathLike, frame_number, sorted_frames
from .mars import load_mars
from .prid2011 import load_prid2011
from .sduvid import load_sduvid
from .synthetic import load_synthetic

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
    "LOADERS",
]


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
