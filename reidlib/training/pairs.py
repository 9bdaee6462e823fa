"""Siamese pairs (chapter 7): per epoch, one positive and one negative pair for every training person.

Positive: the person in two different cameras (camera 1 vs camera 2 in the datasets of
the paper). Negative: the person and another person, each in a random camera. So
positives and negatives are 1:1, as in the paper. Each tracklet contributes a random
window of ``window`` consecutive frames. An epoch's pairs depend only on (seed, epoch),
so a resumed run sees exactly the pairs an uninterrupted run would.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..data.sampling import sample_window
from ..data.tracklet import Tracklet


@dataclass
class Pair:
    """Two training windows. ``idx*``: frame indices (window,); ``label*``: class index of the person."""

    first: Tracklet
    second: Tracklet
    idx1: np.ndarray
    idx2: np.ndarray
    same: bool
    label1: int
    label2: int
    aug_seed: int  # seeds the crop/flip of both windows

    def __repr__(self) -> str:
        kind = "positive" if self.same else "negative"
        a, b = self.first, self.second
        return f"Pair({kind}: pid {a.pid} cam {a.camid} vs pid {b.pid} cam {b.camid})"


class PairSampler:
    """Pairs for Siamese training, seeded by (seed, epoch).

    Args:
        tracklets: the training tracklets (every camera of the training persons).
        seed: the seed of every random choice.
        window: frames per training window (16 in the paper).
        short: what to do with a tracklet shorter than ``window`` ("repeat" or "skip",
            see :func:`reidlib.data.sampling.sample_window`).

    ``pids`` are the training persons, sorted; person ``pids[i]`` has class label ``i``.
    """

    def __init__(self, tracklets: list[Tracklet], seed: int = 0, window: int = 16, short: str = "repeat"):
        self.seed, self.window, self.short = int(seed), int(window), short
        by_pid: dict[int, dict[int, list[Tracklet]]] = defaultdict(lambda: defaultdict(list))
        for t in tracklets:
            by_pid[int(t.pid)][int(t.camid)].append(t)
        self.pids = sorted(by_pid)
        if len(self.pids) < 2:
            raise ValueError(
                f"Siamese training needs at least 2 training persons (for negative pairs); found "
                f"{len(self.pids)}. Use a larger dataset or split."
            )
        one_cam = [p for p in self.pids if len(by_pid[p]) < 2]
        if one_cam:
            raise ValueError(
                f"{len(one_cam)} training person(s) are seen by one camera only, e.g. pids "
                f"{one_cam[:10]}; a positive pair needs two cameras. Drop them from the training split."
            )
        self.by_pid = {p: {c: ts for c, ts in sorted(cams.items())} for p, cams in by_pid.items()}
        self.label = {p: i for i, p in enumerate(self.pids)}

    def __len__(self) -> int:
        """Pairs per epoch."""
        return 2 * len(self.pids)

    def _pick(self, rng: np.random.Generator, pid: int, camid: int) -> tuple[Tracklet, np.ndarray]:
        ts = self.by_pid[pid][camid]
        t = ts[int(rng.integers(len(ts)))] if len(ts) > 1 else ts[0]
        return t, sample_window(len(t), self.window, rng, self.short)

    def epoch(self, epoch: int) -> list[Pair]:
        """The pairs of ``epoch`` in training order: 2 x len(pids), half positive, shuffled."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        pairs = []
        for i, p in enumerate(self.pids):
            cams = list(self.by_pid[p])
            c1, c2 = sorted(rng.choice(len(cams), 2, replace=False)) if len(cams) > 2 else (0, 1)
            a, ia = self._pick(rng, p, cams[c1])
            b, ib = self._pick(rng, p, cams[c2])
            pairs.append(Pair(a, b, ia, ib, True, i, i, int(rng.integers(2**31))))
            j = (i + 1 + int(rng.integers(len(self.pids) - 1))) % len(self.pids)  # any other person
            q = self.pids[j]
            a, ia = self._pick(rng, p, list(self.by_pid[p])[int(rng.integers(len(self.by_pid[p])))])
            b, ib = self._pick(rng, q, list(self.by_pid[q])[int(rng.integers(len(self.by_pid[q])))])
            pairs.append(Pair(a, b, ia, ib, False, i, j, int(rng.integers(2**31))))
        return [pairs[k] for k in rng.permutation(len(pairs))]
