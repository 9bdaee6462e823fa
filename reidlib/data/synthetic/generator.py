"""The synthetic benchmark's generator (chapter 2): persons, cameras and tracklets from one seed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..dataset import VideoReIDDataset
from ..export import export_ilidsvid
from ..splits import make_splits
from ..tracklet import Tracklet
from .camera import Camera, draw_camera, scene_planes
from .degradations import ALL
from .person import Identity, draw_identity
from .render import Rendering, render
from .store import cached_tracklets

GENERATOR_VERSION = 1  # seeds every random stream: bumping it draws other persons and scenes
RENDER_VERSION = 3  # bump when the pictures change: it invalidates caches
# The thin occluder's rate came first: it keeps its place in the repr and the cache key, before the seed.
FIRST_RATE = "occlusion"


class SyntheticReID:
    """Deterministic procedural pedestrians: ``num_ids`` people, each seen by ``num_cams`` cameras.

    Args:
        num_ids: number of persons (pids 0 .. num_ids-1).
        num_cams: number of cameras (camids 0 .. num_cams-1); every person appears in each.
        seq_len: (lo, hi) inclusive range of tracklet lengths, in frames.
        occlusion: probability in [0, 1] that a tracklet has a (thin) occluder passing in front.
        seed: the seed every random choice derives from.
        size: (H, W) of the frames.
        heavy_occlusion: probability that a large object hides most of the person for a run of frames.
        heavy_len: (lo, hi) frames of that run.
        distractors: probability that another person walks across the crop in front of the target.
        distractor_len: (lo, hi) frames the distractor takes to cross the crop.
        detection_failures: probability that the tracker's box is off the person for a run of frames.
        failure_len: (lo, hi) frames of that run.

    Runs are at most 3/4 of the tracklet long, so that some frames are free of each degradation
    (:mod:`reidlib.data.synthetic.degradations`).
    """

    def __init__(
        self,
        num_ids: int,
        num_cams: int = 2,
        seq_len: tuple[int, int] = (16, 96),
        occlusion: float = 0.5,
        seed: int = 0,
        size: tuple[int, int] = (128, 64),
        heavy_occlusion: float = 0.0,
        heavy_len: tuple[int, int] = (8, 24),
        distractors: float = 0.0,
        distractor_len: tuple[int, int] = (16, 32),
        detection_failures: float = 0.0,
        failure_len: tuple[int, int] = (6, 16),
    ):
        if int(num_ids) < 1 or int(num_cams) < 1:
            raise ValueError(
                f"SyntheticReID needs num_ids >= 1 and num_cams >= 1; found {num_ids} and "
                f"{num_cams}. Ask for at least one person and one camera."
            )
        lo, hi = (int(v) for v in seq_len)
        if not 2 <= lo <= hi:
            raise ValueError(
                f"seq_len must be (lo, hi) with 2 <= lo <= hi frames; found {seq_len}. "
                "A tracklet needs two frames for motion, e.g. seq_len=(16, 96)."
            )
        h, w = (int(v) for v in size)
        if h < 32 or w < 16:
            raise ValueError(f"size must be at least (32, 16) pixels to draw a person; found {size}.")
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer; found {seed}.")
        self.num_ids, self.num_cams, self.seq_len = int(num_ids), int(num_cams), (lo, hi)
        self.seed, self.size = int(seed), (h, w)
        self._set_degradations(
            occlusion=occlusion,
            heavy_occlusion=heavy_occlusion,
            heavy_len=heavy_len,
            distractors=distractors,
            distractor_len=distractor_len,
            detection_failures=detection_failures,
            failure_len=failure_len,
        )
        self._cameras: dict[int, Camera] = {}
        self._scenes: dict[int, np.ndarray] = {}

    def _set_degradations(self, **settings) -> None:
        """Check and keep each degradation's rate (a share of tracklets) and run length (lo, hi frames)."""
        for degradation in ALL:
            name, rate = degradation.rate, settings[degradation.rate]
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"{name} is the share of tracklets it affects, in [0, 1]; found {rate}.")
            if float(rate) > 0 and self.num_ids < degradation.min_persons:
                raise ValueError(
                    f"{name}={rate} needs another person to pass in front; found num_ids={self.num_ids}. "
                    f"Ask for at least {degradation.min_persons} persons, or set {name}=0."
                )
            setattr(self, name, float(rate))
        for name in (degradation.run_length for degradation in ALL if degradation.run_length is not None):
            run = settings[name]
            if len(run) != 2 or not 1 <= int(run[0]) <= int(run[1]):
                raise ValueError(f"{name} must be (lo, hi) frames with 1 <= lo <= hi; found {run}, e.g. (8, 24).")
            setattr(self, name, tuple(int(v) for v in run))

    def _degradation_args(self) -> dict:
        """The degradations' settings but the first rate, by argument name."""
        names = (name for degradation in ALL for name in (degradation.rate, degradation.run_length))
        return {name: getattr(self, name) for name in names if name not in (None, FIRST_RATE)}

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self._degradation_args().items())
        return (
            f"SyntheticReID(num_ids={self.num_ids}, num_cams={self.num_cams}, seq_len={self.seq_len}, "
            f"{FIRST_RATE}={getattr(self, FIRST_RATE)}, seed={self.seed}, size={self.size}{extra})"
        )

    def rng(self, *key: int) -> np.random.Generator:
        """The random stream of ``key``: (0, pid) a person, (1, camid) a camera, (2, pid, camid) a tracklet's
        walk and exposure, (stream, pid, camid) the drawing of the degradation with that stream on that tracklet."""
        return np.random.default_rng([self.seed, GENERATOR_VERSION, *key])

    def _check(self, pid: int, camid: int = 0) -> None:
        if not (0 <= pid < self.num_ids and 0 <= camid < self.num_cams):
            raise IndexError(
                f"pid must be in [0, {self.num_ids}) and camid in [0, {self.num_cams}); found pid={pid}, camid={camid}."
            )

    def identity(self, pid: int) -> Identity:
        """The appearance and gait of person ``pid``."""
        self._check(pid)
        return draw_identity(self.rng(0, pid), pid)

    def camera(self, camid: int) -> Camera:
        """The scene and colour rendering of camera ``camid``."""
        self._check(0, camid)
        if camid not in self._cameras:
            self._cameras[camid] = draw_camera(self.rng(1, camid), camid, self.size[0])
        return self._cameras[camid]

    def scene(self, camid: int) -> np.ndarray:
        """Camera ``camid``'s background as colour planes, wrapped for the crop (see :func:`scene_planes`)."""
        if camid not in self._scenes:
            self._scenes[camid] = scene_planes(self.camera(camid), self.size[1])
        return self._scenes[camid]

    def render(self, pid: int, camid: int) -> Rendering:
        """Render person ``pid`` in camera ``camid``: frames plus ground truth."""
        self._check(pid, camid)
        return render(self, pid, camid)

    def tracklet(self, pid: int, camid: int) -> Tracklet:
        """Person ``pid`` in camera ``camid`` as a :class:`Tracklet` with its ground truth."""
        r = self.render(pid, camid)
        return Tracklet(
            pid=pid,
            camid=camid,
            frames=r.frames,
            visibility=r.visibility,
            flow_truth=r.flow_truth,
            meta=r.meta,
            degradation=r.degradation,
        )

    def dataset(
        self,
        num_splits: int = 10,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = False,
        name: str = "synthetic",
    ) -> VideoReIDDataset:
        """All tracklets as a :class:`VideoReIDDataset` with ``num_splits`` random person splits (seed = ``seed``)."""
        return VideoReIDDataset(
            name,
            self.tracklets(cache_dir=cache_dir, progress=progress),
            make_splits(range(self.num_ids), num_splits, seed=self.seed),
            meta={"generator": repr(self)},
            fingerprint=f"synthetic-{self.cache_key()}",
            persons=f"synthetic (seed {self.seed}, generator {GENERATOR_VERSION})",  # a pid's person: any preset
        )

    def export_ilidsvid(
        self,
        root: str | os.PathLike,
        num_splits: int = 10,
        cache_dir: str | os.PathLike | None = None,
        progress: bool = False,
    ) -> Path:
        """Write the benchmark in the iLIDS-VID layout under ``root`` (frames as PNG, splits as the official
        .mat), so that ``load_dataset("ilidsvid", root=root)`` reads it back; returns ``root/i-LIDS-VID``."""
        return export_ilidsvid(
            self.dataset(num_splits, cache_dir=cache_dir, progress=progress), root, progress=progress
        )

    def tracklets(self, cache_dir: str | os.PathLike | None = None, progress: bool = False) -> list[Tracklet]:
        """Every (pid, camid) tracklet, pid-major. With ``cache_dir`` they are rendered once,
        saved there, and later read back memory-mapped (same arrays, no rendering)."""
        if cache_dir is None:
            keys = [(p, c) for p in range(self.num_ids) for c in range(self.num_cams)]
            return [self.tracklet(p, c) for p, c in tqdm(keys, desc="rendering", disable=not progress)]
        folder = Path(cache_dir).expanduser() / f"synthetic-{self.cache_key()}"
        return cached_tracklets(folder, lambda: self.tracklets(progress=progress))

    def cache_key(self) -> str:
        """A short hash of everything that decides the pictures."""
        spec = json.dumps(
            [
                GENERATOR_VERSION,
                RENDER_VERSION,
                self.num_ids,
                self.num_cams,
                self.seq_len,
                getattr(self, FIRST_RATE),
                self.seed,
                self.size,
                self._degradation_args(),
            ]
        )
        return hashlib.sha1(spec.encode()).hexdigest()[:12]
