"""The synthetic benchmark at a preset size, generated (and cached) instead of read (chapter 2)."""

from __future__ import annotations

from ..dataset import VideoReIDDataset
from ..synthetic import PRESETS, SyntheticReID
from .layout import PathLike


def load_synthetic(
    preset: str = "quick",
    seed: int = 0,
    occlusion: float | None = None,
    cache_dir: PathLike | None = None,
    num_splits: int = 10,
    progress: bool = False,
    **overrides,
) -> VideoReIDDataset:
    """The synthetic benchmark at a preset size (``PRESETS``: tiny, quick, small, standard, each with all
    four degradations; tiny_clean ... standard_clean, the same persons without any degradation).

    ``occlusion`` (share of tracklets with a thin occluder) None keeps the preset's; ``overrides``
    change other :class:`SyntheticReID` arguments (``num_ids=``, ``heavy_occlusion=``, ...).
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown synthetic preset {preset!r}; choose one of {', '.join(PRESETS)}.")
    args = {**PRESETS[preset], **overrides, "seed": seed}
    if occlusion is not None:
        args["occlusion"] = occlusion
    return SyntheticReID(**args).dataset(num_splits, cache_dir=cache_dir, progress=progress, name=f"synthetic-{preset}")
