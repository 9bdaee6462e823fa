"""The MARS protocol on other data (chapter 13): tracklets cut into pieces, official queries from every
camera. MARS itself is read by :mod:`reidlib.data.loaders.mars` (re-exported here)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .dataset import VideoReIDDataset
from .loaders.mars import load_mars
from .tracklet import Tracklet

__all__ = ["load_mars", "mars_like"]


def mars_like(dataset: VideoReIDDataset, split: int = 0, pieces: int = 2, seed: int = 0) -> VideoReIDDataset:
    """A dataset in the MARS protocol made from one with a tracklet per person and camera (chapter 13).

    MARS's tracklets come from a detector and a tracker, which often lose a person and pick them up
    again: one walk past a camera becomes several tracklets. Here every tracklet of ``dataset`` is cut
    into ``pieces`` consecutive parts (``Tracklet.index`` 0 .. pieces-1; visibility and true flow cut
    with the frames). The persons of ``split`` keep their roles, in the one split of the result; as in
    MARS, each test person has official queries from every camera that sees it (one piece per camera,
    drawn with ``seed``) and the gallery holds every other piece of the test persons, those of the
    queries' own cameras included. Evaluate it camera-aware, as MARS.

    Raises ValueError when a tracklet is too short to give every piece at least 2 frames.
    """
    if int(pieces) < 1:
        raise ValueError(f"pieces must be >= 1 (parts per tracklet); found {pieces}.")
    short = [t for t in dataset.tracklets if len(t) < 2 * pieces]
    if short:
        raise ValueError(
            f"{len(short)} tracklet(s) of {dataset.name!r} are too short to cut into {pieces} pieces of at least "
            f"2 frames, e.g. {short[0]!r}. Use fewer pieces or longer tracklets."
        )
    train, test = set(dataset.splits[split]["train"]), set(dataset.splits[split]["test"])
    rng = np.random.default_rng(seed)
    tracklets, query = [], []
    for t in dataset.tracklets:
        bounds = np.linspace(0, len(t), pieces + 1).round().astype(int)
        chosen = int(rng.integers(pieces))
        for i, (a, b) in enumerate(pairwise(bounds)):
            if t.pid in test and i == chosen:
                query.append(len(tracklets))
            tracklets.append(
                Tracklet(
                    t.pid,
                    t.camid,
                    t.frames[a:b],
                    None if t.visibility is None else np.asarray(t.visibility)[a:b],
                    None if t.flow_truth is None else _cut_flow(np.asarray(t.flow_truth)[a:b]),
                    {**t.meta, "piece": i, "frames": (int(a), int(b))},
                    index=int(t.index) * pieces + i,
                )
            )
    fingerprint = None if dataset.fingerprint is None else f"{dataset.fingerprint}-mars{pieces}-{split}-{seed}"
    return VideoReIDDataset(
        f"{dataset.name}-mars",
        tracklets,
        [{"train": sorted(train), "test": sorted(test)}],
        query_cam=dataset.query_cam,
        meta={**dataset.meta, "protocol": f"MARS-like: {pieces} pieces per tracklet, split {split}, seed {seed}"},
        fingerprint=fingerprint,
        persons=dataset.persons,
        official_query=query,
    )


def _cut_flow(flow: np.ndarray) -> np.ndarray:
    """The true flow (T, 2) of a piece: its first frame has no previous frame in the piece."""
    flow = flow.copy()
    flow[:1] = 0.0
    return flow
