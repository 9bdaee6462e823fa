"""The unit of video re-ID data: one person seen by one camera (chapter 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Frames = np.ndarray | Sequence[str | Path]


@dataclass
class Tracklet:
    """One person in one camera.

    Attributes:
        pid: person identity (an integer label, unique within a dataset).
        camid: camera index (0-based: camera 1 of a dataset is ``camid=0``).
        frames: either a uint8 array of shape (T, H, W, 3), RGB, or a list of T image
            paths in temporal order.
        visibility: optional float array (T,), the share of the person that is visible
            and inside the crop in each frame (1 = all of it). Synthetic data only.
        flow_truth: optional float array (T, 2), the true displacement (dx, dy) in
            pixels of the person between frame t-1 and frame t (row 0 is zero).
        meta: free-form extra facts (dataset name, source folder, ...).
        degradation: optional uint8 array (T,) of bit flags: bit i is set in the frames
            where ``reidlib.data.synthetic.DEGRADATIONS[i]`` acts. Synthetic data only.
        index: which of the person's tracklets in this camera it is (0 where a dataset has one
            per person and camera); with ``pid`` and ``camid`` it names the tracklet (:attr:`key`).
    """

    pid: int
    camid: int
    frames: Frames
    visibility: np.ndarray | None = None
    flow_truth: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    degradation: np.ndarray | None = None
    index: int = 0

    @property
    def key(self) -> tuple[int, int, int]:
        """(pid, camid, index): the same for every copy of this tracklet, however it was loaded."""
        return int(self.pid), int(self.camid), int(self.index)

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        kind = "array" if isinstance(self.frames, np.ndarray) else "paths"
        return f"Tracklet(pid={self.pid}, camid={self.camid}, frames={len(self)} {kind})"


class SkippedDataWarning(UserWarning):
    """Data was left out (persons, tracklets, frames); the message counts what and says why."""
