"""A video re-ID dataset: tracklets, the persons they show, and train/test splits (chapter 2)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .splits import Split, check_splits, make_splits
from .tracklet import Tracklet


class VideoReIDDataset:
    """A named list of tracklets and its splits of persons into train and test.

    ``split(i)`` returns ``(train, query, gallery)`` lists of tracklets: ``train`` holds
    every tracklet (all cameras) of the split's training persons; ``query`` the tracklets
    of its test persons in camera ``query_cam`` (camid 0, "camera 1"); ``gallery`` those
    of its test persons in the other cameras. A dataset with an official query list
    (MARS) gives ``official_query`` instead: its queries are those tracklets, and its
    gallery every other tracklet of the test persons, whatever the camera.

    Args:
        name: e.g. ``"ilidsvid"`` or ``"synthetic-quick"``.
        tracklets: the tracklets (at least one).
        splits: list of ``{"train": [pid, ...], "test": [pid, ...]}``; None makes the
            10 random half/half splits ``make_splits(pids, seed=0)``.
        root: the folder the data came from (None for generated data).
        official_query: indices into ``tracklets`` of the official queries; they must belong
            to test persons in every split. None: queries are chosen by camera (``query_cam``).
        meta: facts about how the data was read (protocol, dropped persons, ...).
        fingerprint: a string that identifies the frames exactly (the synthetic benchmark
            gives its generator's key), so caches need not hash every frame; None when unknown.
        persons: who the pids are: two datasets with the same ``persons`` show the same people
            under the same pids (the synthetic presets of one seed do); default: ``name``.
    """

    def __init__(
        self,
        name: str,
        tracklets: list[Tracklet],
        splits: list[Split] | None = None,
        root: str | os.PathLike | None = None,
        query_cam: int = 0,
        meta: dict | None = None,
        fingerprint: str | None = None,
        persons: str | None = None,
        official_query: Sequence[int] | None = None,
    ):
        tracklets = list(tracklets)
        if not tracklets:
            raise ValueError(
                f"Dataset {name!r} has no tracklets. Check that its folder holds the person "
                "folders with frames (see load_dataset's docstring for the layouts)."
            )
        bad = [type(t).__name__ for t in tracklets if not isinstance(t, Tracklet)]
        if bad:
            raise TypeError(f"Dataset {name!r} expects Tracklet objects; found {len(bad)} of type {bad[0]}.")
        self.name, self.tracklets, self.query_cam = name, tracklets, int(query_cam)
        self.root = None if root is None else Path(root)
        self.meta = dict(meta or {})
        self.fingerprint = fingerprint
        self.persons = persons or name
        self.persons = persons or name
        self.pids = sorted({int(t.pid) for t in tracklets})
        self.camids = sorted({int(t.camid) for t in tracklets})
        if self.query_cam not in self.camids:
            raise ValueError(f"query_cam={query_cam} but dataset {name!r} has cameras {self.camids}.")
        self.splits = make_splits(self.pids, seed=0) if splits is None else [dict(s) for s in splits]
        check_splits(self.splits, self.pids)
        self.official_query = None if official_query is None else self._check_query(official_query)

    def _check_query(self, indices: Sequence[int]) -> frozenset[int]:
        """The official query indices as a set, after checking them against the tracklets and splits."""
        idx = [int(i) for i in indices]
        n = len(self.tracklets)
        outside = sum(not 0 <= i < n for i in idx)
        if not idx or len(set(idx)) != len(idx) or outside:
            raise ValueError(
                f"official_query of dataset {self.name!r} must be distinct tracklet indices in 0..{n - 1}; found "
                f"{len(idx)} indices, {len(idx) - len(set(idx))} repeated, {outside} out of range."
            )
        for k, s in enumerate(self.splits):
            train = set(s["train"]) & {self.tracklets[i].pid for i in idx}
            if train:
                raise ValueError(
                    f"Split {k} of {self.name!r} trains on {len(train)} persons of the official queries, e.g. "
                    f"{sorted(train)[:5]}; official queries must be test persons. Use the dataset's own splits."
                )
        return frozenset(idx)

    @property
    def num_splits(self) -> int:
        return len(self.splits)

    def __len__(self) -> int:
        return len(self.tracklets)

    def __repr__(self) -> str:
        official = ", official query/gallery" if self.official_query is not None else ""
        return (
            f"VideoReIDDataset({self.name!r}: {len(self.pids)} persons, {len(self)} tracklets, "
            f"cameras {self.camids}, {self.num_splits} splits{official})"
        )

    def split(self, i: int = 0) -> tuple[list[Tracklet], list[Tracklet], list[Tracklet]]:
        """(train, query, gallery) tracklets of split ``i``."""
        if not 0 <= int(i) < self.num_splits:
            raise IndexError(f"Dataset {self.name!r} has splits 0 .. {self.num_splits - 1}; found split {i}.")
        train, test = set(self.splits[i]["train"]), set(self.splits[i]["test"])
        if self.official_query is None:
            is_query = [t.camid == self.query_cam for t in self.tracklets]
        else:
            is_query = [k in self.official_query for k in range(len(self.tracklets))]
        return (
            [t for t in self.tracklets if t.pid in train],
            [t for t, q in zip(self.tracklets, is_query, strict=True) if t.pid in test and q],
            [t for t, q in zip(self.tracklets, is_query, strict=True) if t.pid in test and not q],
        )

    def summary(self) -> dict:
        """Counts and sequence lengths, overall and per camera."""
        lengths = np.array([len(t) for t in self.tracklets])
        out = dict(
            name=self.name,
            persons=len(self.pids),
            tracklets=len(self),
            cameras=len(self.camids),
            frames=int(lengths.sum()),
            min_len=int(lengths.min()),
            mean_len=round(float(lengths.mean()), 1),
            max_len=int(lengths.max()),
            splits=self.num_splits,
        )
        for c in self.camids:
            out[f"tracklets_cam{c}"] = sum(t.camid == c for t in self.tracklets)
        return out
