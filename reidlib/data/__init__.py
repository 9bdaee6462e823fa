"""Data for video re-ID (chapter 2): tracklets, datasets, splits and sampling.

* :class:`Tracklet`: one person in one camera; :class:`VideoReIDDataset`: tracklets + splits.
* :func:`load_dataset`: the synthetic benchmark (:mod:`.synthetic`) or a real dataset
  read in its official layout (:mod:`.loaders`, one module per dataset); :mod:`.download` fetches and unpacks the
  real archives; :func:`export_ilidsvid` writes tracklets in the iLIDS-VID layout.
* :func:`make_splits`: the random half/half person splits; :func:`sample_window`: the
  16-frame training windows (:func:`drop_short` for the "skip" policy); :func:`load_frames`:
  frames as a uint8 array.
* :func:`histogram_baseline`: nearest-colour-histogram matching, a yardstick of difficulty.
"""

from . import download
from .baseline import colour_histogram, histogram_baseline, histogram_ranks
from .dataset import VideoReIDDataset
from .download import data_root
from .export import export_ilidsvid
from .loaders import frame_number, load_dataset, sorted_frames
from .sampling import drop_short, load_frames, read_image, sample_window
from .splits import check_splits, load_splits, make_splits, save_splits
from .synthetic import PRESETS, SyntheticReID
from .tracklet import SkippedDataWarning, Tracklet

__all__ = [
    "Tracklet",
    "VideoReIDDataset",
    "SkippedDataWarning",
    "load_dataset",
    "data_root",
    "frame_number",
    "sorted_frames",
    "load_frames",
    "read_image",
    "sample_window",
    "drop_short",
    "make_splits",
    "check_splits",
    "save_splits",
    "load_splits",
    "SyntheticReID",
    "PRESETS",
    "export_ilidsvid",
    "colour_histogram",
    "histogram_ranks",
    "histogram_baseline",
    "download",
]
