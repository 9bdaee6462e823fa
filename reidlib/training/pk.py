"""PK batches for the batch-hard triplet loss (chapter 13): P persons x K windows per batch.

Every training person appears in exactly one batch per epoch. A person's K windows come from
its cameras in turn (a random order of its cameras, repeated), each from a random tracklet of
that camera and a random start, so K >= 2 gives positives across cameras whenever the person
has two. Persons are shuffled and cut into batches of P; when P does not divide their number the
last batch is smaller, and a single left-over person joins the batch before it instead (P + 1
persons), so every batch has a negative for every anchor. An epoch depends only on
(seed, epoch), as in :class:`~reidlib.training.PairSampler`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..data.sampling import sample_window
from ..data.tracklet import Tracklet


@dataclass
class PKBatch:
    """One batch, person-major (the K windows of a person are consecutive).

    ``tracklets[i]`` and ``indices[i]`` (window,) give window i; ``labels`` (n,) are class
    indices of the persons; ``aug_seeds`` (n,) seed each window's crop/flip.
    """

    tracklets: list[Tracklet]
    indices: list[np.ndarray]
    labels: np.ndarray
    aug_seeds: np.ndarray

    def __len__(self) -> int:
        return len(self.tracklets)

    @property
    def pids(self) -> np.ndarray:
        """Person id of every window (n,)."""
        return np.array([t.pid for t in self.tracklets])


class PKSampler:
    """PK batches of training windows, seeded by (seed, epoch).

    Args:
        tracklets: the training tracklets (all cameras of the training persons).
        p: persons per batch (at least 2).
        k: windows per person (at least 1; batch-hard triplet needs 2).
        window: frames per window (16).
        seed: the seed of every random choice.
        short: the policy for tracklets shorter than ``window`` (see :func:`reidlib.data.sample_window`).

    ``pids`` are the training persons, sorted; person ``pids[i]`` has class label ``i``.
    """

    def __init__(
        self, tracklets: list[Tracklet], p: int, k: int, window: int = 16, seed: int = 0, short: str = "repeat"
    ):
        if int(p) < 2 or int(k) < 1:
            raise ValueError(f"PKSampler needs p >= 2 persons and k >= 1 windows per batch; found p={p}, k={k}.")
        self.p, self.k, self.window, self.seed, self.short = int(p), int(k), int(window), int(seed), short
        by_pid: dict[int, dict[int, list[Tracklet]]] = defaultdict(lambda: defaultdict(list))
        for t in tracklets:
            by_pid[int(t.pid)][int(t.camid)].append(t)
        self.pids = sorted(by_pid)
        if len(self.pids) < 2:
            raise ValueError(
                f"PK batches need at least 2 training persons (for negatives); found {len(self.pids)} in "
                f"{len(list(tracklets))} tracklets. Use a larger dataset or split."
            )
        self.by_pid = {p_: [cams[c] for c in sorted(cams)] for p_, cams in by_pid.items()}  # pid -> per camera
        self.label = {p_: i for i, p_ in enumerate(self.pids)}

    def __len__(self) -> int:
        """Batches per epoch."""
        n = len(self.pids)
        return n // self.p + (1 if n % self.p >= 2 else 0)

    def _groups(self, rng: np.random.Generator) -> list[list[int]]:
        order = [self.pids[i] for i in rng.permutation(len(self.pids))]
        groups = [order[i : i + self.p] for i in range(0, len(order), self.p)]
        if len(groups) > 1 and len(groups[-1]) == 1:  # a lone person has no negative: join the batch before
            lone = groups.pop()
            groups[-1] += lone
        return groups

    def epoch(self, epoch: int) -> list[PKBatch]:
        """The batches of ``epoch`` in training order; every training person in exactly one of them."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        batches = []
        for group in self._groups(rng):
            tracklets, indices, labels = [], [], []
            for pid in group:
                cams = self.by_pid[pid]
                turn = rng.permutation(len(cams))
                for j in range(self.k):
                    ts = cams[turn[j % len(cams)]]
                    t = ts[int(rng.integers(len(ts)))]
                    tracklets.append(t)
                    indices.append(sample_window(len(t), self.window, rng, self.short))
                    labels.append(self.label[pid])
            seeds = rng.integers(2**31, size=len(tracklets))
            batches.append(PKBatch(tracklets, indices, np.array(labels, dtype=np.int64), seeds))
        return batches
