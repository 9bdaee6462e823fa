"""Preprocess a whole dataset once: colour + flow for every frame, in one memory-mapped file (chapter 3).

The prepared frames of all tracklets, stacked, are a frame store (:mod:`reidlib._store`): a folder
``<name>-<key>`` with ``prepared.npy`` and ``index.json`` (the parameters, each tracklet's pid,
camid and length, the file's size and CRC-32). The key hashes the dataset's identity and every
preprocessing parameter, so changing either builds a new folder and never reuses a stale one.
Values are stored as float16 (half the disk and load time of float32, relative rounding error below
5e-4) and handed out as float32. A damaged cache is rebuilt with a warning, never served.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .._store import FrameStore, Stack, Stored, array_file
from ..data.sampling import load_frames
from .flow import flow_settings
from .inputs import FLOW_CLIP, FLOW_SCALE, FRAME_SIZE, channels, crop_and_flip, prepare_sequence

CACHE_VERSION = 2  # bump when the preprocessing code changes what it computes, or the cache's layout (2: a store)
ARRAY = "prepared"  # the store's one array: (frames, C, 64, 48) float16


def cache_root(cache_dir: str | os.PathLike | None = None, kind: str = "preprocess") -> Path:
    """The folder of one kind of cache ("preprocess", "synthetic") under ``cache_dir``, else $REIDLIB_CACHE,
    else ~/.cache/reidlib."""
    root = cache_dir or os.environ.get("REIDLIB_CACHE") or Path.home() / ".cache" / "reidlib"
    return Path(root).expanduser() / kind


def dataset_fingerprint(dataset) -> str:
    """A string that changes whenever the dataset's frames can change.

    Uses ``dataset.fingerprint`` when the dataset has one;
    otherwise hashes every tracklet's pid, camid and frames (the bytes of in-memory
    frames, or each image path with its size and modification time).
    """
    fp = getattr(dataset, "fingerprint", None)
    if fp:
        return f"{getattr(dataset, 'name', '')}:{fp}"
    h = hashlib.sha1()
    for t in getattr(dataset, "tracklets", dataset):
        h.update(f"{t.pid},{t.camid},{len(t)};".encode())
        if isinstance(t.frames, np.ndarray):
            h.update(str(t.frames.shape).encode())
            h.update(np.ascontiguousarray(t.frames).data)
        else:
            for p in t.frames:
                st = os.stat(p)
                h.update(f"{os.fspath(p)},{st.st_size},{st.st_mtime_ns};".encode())
    return h.hexdigest()


class PreprocessedDataset:
    """The preprocessed frames of a dataset, memory-mapped: (total frames, C, 64, 48) float16 on disk, in the
    store ``path`` (a folder that passed its checks)."""

    def __init__(self, path: Path, tracklets: list, params: dict):
        self.path, self.tracklets, self.params = Path(path), list(tracklets), params
        self.data = np.load(array_file(self.path, ARRAY), mmap_mode="r")  # (N, C, 64, 48)
        lengths = np.array([len(t) for t in self.tracklets])
        self.starts = np.concatenate([[0], np.cumsum(lengths)])
        if self.starts[-1] != len(self.data) or self.data.shape[1] != self.channels:
            raise ValueError(
                f"the cache {self.path} holds {self.data.shape} values but its dataset needs "
                f"({self.starts[-1]}, {self.channels}, ...). Delete the folder; it will be rebuilt."
            )
        self._row = {t.key: i for i, t in enumerate(self.tracklets)}
        if len(self._row) < len(self.tracklets):
            twice = [k for k, n in Counter(t.key for t in self.tracklets).items() if n > 1]
            raise ValueError(
                f"{len(twice)} tracklet key(s) (pid, camid, index) occur twice in the dataset, e.g. {twice[:3]}; "
                "each tracklet of a person in one camera needs its own index (Tracklet.index)."
            )

    @property
    def channels(self) -> int:
        return channels(self.params["use_flow"])

    def __len__(self) -> int:
        return len(self.tracklets)

    def __getstate__(self) -> dict:
        """Pickled without the frames (a DataLoader worker reopens the memory map, copying nothing)."""
        return {k: v for k, v in self.__dict__.items() if k != "data"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.data = np.load(array_file(self.path, ARRAY), mmap_mode="r")

    def __repr__(self) -> str:
        return f"PreprocessedDataset({len(self)} tracklets, {len(self.data)} frames, {self.path.name})"

    def _index(self, tracklet) -> int:
        """The row of ``tracklet`` (found by its key, so any copy of it will do)."""
        i = self._row.get(tracklet.key)
        if i is None or len(tracklet) != self.starts[i + 1] - self.starts[i]:
            raise KeyError(
                f"{tracklet!r} (key {tracklet.key}) is not in this preprocessed dataset ({len(self)} tracklets). "
                "Pass tracklets of the dataset given to preprocess_dataset."
            )
        return i

    def sequence(self, tracklet) -> np.ndarray:
        """The prepared frames of ``tracklet``: float32 (T, C, 64, 48), as prepare_sequence makes them."""
        i = self._index(tracklet)
        return np.asarray(self.data[self.starts[i] : self.starts[i + 1]], dtype=np.float32)

    def input(
        self, tracklet, train: bool = False, rng: np.random.Generator | None = None, indices: np.ndarray | None = None
    ) -> torch.Tensor:
        """Network input of ``tracklet`` (or of its frames ``indices``): torch.float32 (len, C, 56, 40)."""
        i = self._index(tracklet)
        rows = self.data[self.starts[i] : self.starts[i + 1]]
        if indices is not None:
            indices = np.asarray(indices)
            if indices.size and (indices.min() < -len(rows) or indices.max() >= len(rows)):
                raise IndexError(
                    f"frame indices must lie in [0, {len(rows)}) for {tracklet!r}; "
                    f"found {indices.min()}..{indices.max()}."
                )
            rows = rows[indices]
        return torch.from_numpy(crop_and_flip(rows, train, rng))


def preprocess_dataset(
    dataset,
    cache_dir: str | os.PathLike | None = None,
    flow_method: str = "lk",
    use_flow: bool = True,
    progress: bool = True,
    flow_scale: float = FLOW_SCALE,
    flow_clip: float = FLOW_CLIP,
    **flow_kw,
) -> PreprocessedDataset:
    """Prepare every frame of ``dataset`` once (cached on disk) and return the memory-mapped result.

    ``dataset`` is a VideoReIDDataset (or any list of tracklets). The cache is the folder
    ``cache_root(cache_dir)/<name>-<key>`` (``prepared.npy`` and ``index.json``); the key hashes
    :func:`dataset_fingerprint` and all the preprocessing parameters, the flow method's
    defaults included (:func:`reidlib.preprocess.flow.flow_settings`).
    """
    tracklets = list(getattr(dataset, "tracklets", dataset))
    if not tracklets:
        raise ValueError("preprocess_dataset got a dataset with no tracklets; expected at least one.")
    settings = flow_settings(flow_method, **flow_kw) if use_flow else None  # a changed default: a new key
    params = dict(
        version=CACHE_VERSION,
        dataset=dataset_fingerprint(dataset),
        flow_method=flow_method,
        use_flow=bool(use_flow),
        flow_scale=float(flow_scale),
        flow_clip=float(flow_clip),
        flow_kw=flow_kw,
        flow_settings=settings,
        frame_size=list(FRAME_SIZE),
        dtype="float16",
    )
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    name = "".join(ch if ch.isalnum() else "_" for ch in str(getattr(dataset, "name", "tracklets")))
    folder = cache_root(cache_dir) / f"{name}-{key}"
    FrameStore(folder, (ARRAY,), "the preprocessing cache").get(
        lambda: _contents(tracklets, params, progress), lambda stored: _damage(stored, params, tracklets)
    )
    return PreprocessedDataset(folder, tracklets, params)


def _index_of(tracklets: list) -> list[dict]:
    return [dict(pid=t.pid, camid=t.camid, length=len(t)) for t in tracklets]


def _damage(stored: Stored, params: dict, tracklets: list) -> str | None:
    """What is wrong with a store whose files passed their checks, for these tracklets and parameters, in
    words (None: nothing; it may be served)."""
    if stored.index.get("params") != json.loads(json.dumps(params)):
        return "its index was written for other preprocessing parameters"
    if stored.index.get("tracklets") != _index_of(tracklets):
        return "its index lists other tracklets or lengths than the dataset's"
    data = stored.arrays[ARRAY]
    expected = [sum(len(t) for t in tracklets), channels(params["use_flow"]), *FRAME_SIZE]
    if list(data.shape) != expected or data.dtype != np.float16:
        return f"{ARRAY}.npy holds {data.dtype} {list(data.shape)}, where {expected} float16 are needed"
    return None


def _contents(tracklets: list, params: dict, progress: bool) -> tuple[dict, dict]:
    """(the prepared frames of every tracklet as a :class:`Stack`, made one tracklet at a time as the store
    writes them, never all in memory; the index: parameters, each tracklet's pid, camid, length)."""
    shape = (sum(len(t) for t in tracklets), channels(params["use_flow"]), *FRAME_SIZE)
    stack = Stack(shape, np.dtype(np.float16), _prepared(tracklets, params, progress))
    return {ARRAY: stack}, dict(params=params, tracklets=_index_of(tracklets))


def _prepared(tracklets: list, params: dict, progress: bool) -> Iterator[np.ndarray]:
    """Each tracklet's frames as :func:`prepare_sequence` makes them, in float16: (T, C, 64, 48)."""
    desc = f"preprocessing ({params['flow_method'] if params['use_flow'] else 'no flow'})"
    for t in tqdm(tracklets, desc=desc, disable=not progress, unit="tracklet"):
        try:
            x = prepare_sequence(
                load_frames(t),
                params["flow_method"],
                params["use_flow"],
                params["flow_scale"],
                params["flow_clip"],
                **params["flow_kw"],
            ).astype(np.float16)  # (T, C, 64, 48)
        except ValueError as e:
            raise ValueError(f"cannot preprocess {_where(t)}: {e}") from None
        if not np.isfinite(x).all():
            raise ValueError(
                f"preprocessing {_where(t)} gave values that are not finite (NaN or beyond float16's range); "
                "check its frames (a corrupt image?) and the flow settings."
            )
        yield x


def _where(tracklet) -> str:
    """A tracklet in words, with the folder of its frames when they are files: what an error must name."""
    frames = tracklet.frames
    folder = f", frames in {Path(frames[0]).parent}" if len(frames) and not isinstance(frames, np.ndarray) else ""
    return f"the tracklet of person {tracklet.pid}, camera {tracklet.camid} ({len(tracklet)} frame(s){folder})"
