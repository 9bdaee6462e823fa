"""Training recipes (chapters 8 and 13): which batches a step takes, and which loss scores them.

The training loop (:func:`reidlib.training.train`) is one for every recipe: it asks the recipe for
the sampler of the training tracklets, for the batches of each epoch, for the tensors of each batch
(a :class:`Batch`) and for the loss of the model's outputs on them. A recipe is chosen by name,
``TrainConfig.recipe``:

* ``"siamese"`` (the paper, chapter 8): a step takes ``batch_size`` Siamese pairs, half positive
  (:class:`~reidlib.training.PairSampler`); both windows of every pair go through the model in one
  call, and the loss is Eq. 4 (:func:`reidlib.losses.siamese_loss`), averaged over the pairs.
* ``"triplet"`` (chapter 13): a step takes one PK batch (:class:`~reidlib.training.PKSampler`: P
  persons x K windows); the loss is the batch-hard triplet loss on the video features plus the
  identity cross-entropy of every window.

``RECIPES[cfg.recipe](cfg)`` is the recipe of a config; a new recipe is one more subclass of
:class:`Recipe`, named in :data:`RECIPES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from ..losses import batch_hard_triplet, siamese_loss
from ..models import pad_sequences
from .pairs import Pair, PairSampler
from .pk import PKBatch, PKSampler

if TYPE_CHECKING:
    from .config import TrainConfig


class Batch(NamedTuple):
    """The tensors of one step: n windows of at most T frames (for pairs n = 2B, the B first windows of
    the pairs, then the B second ones)."""

    x: torch.Tensor  # (n, T, C, 56, 40) network input
    mask: torch.Tensor | None  # (n, T) True on real frames; None when no window is padded
    same: torch.Tensor | None  # (B,) bool, pairs only: both windows show one person
    labels: torch.Tensor  # (n,) class index of each window's person
    visibility: torch.Tensor | None  # (n, T) true visibility of each frame (the oracle head), else None

    def to(self, device: torch.device) -> Batch:
        """The batch on ``device`` (copied without waiting where it can)."""
        return Batch(*(None if v is None else v.to(device, non_blocking=True) for v in self))


def window_visibility(tracklet, indices: np.ndarray) -> torch.Tensor:
    """The true visibility (len,) of frames ``indices`` of a synthetic tracklet (the oracle head pools with it)."""
    if tracklet.visibility is None:
        raise ValueError(
            f"the oracle head trains with the true visibility of every frame, and {tracklet!r} has none: only "
            "the synthetic benchmark knows it. Train another head on real data."
        )
    return torch.as_tensor(np.asarray(tracklet.visibility)[indices], dtype=torch.float32)


def stack_windows(windows: list[torch.Tensor], labels, same=None, visibility: list | None = None) -> Batch:
    """A :class:`Batch` of n windows (len_i, C, 56, 40), padded with a mask when their lengths differ."""
    x, mask = pad_sequences(windows)
    vis = None if visibility is None else pad_sequences(visibility)[0]
    equal = len({len(w) for w in windows}) == 1  # no padding: every masking step is skipped
    same = None if same is None else torch.tensor(same)
    return Batch(x, None if equal else mask, same, torch.as_tensor(labels), vis)


class Recipe(ABC):
    """How a training step draws its batch and scores it; ``cfg`` holds the recipe's settings.

    ``parts`` names the loss terms that the history records per epoch ("total" first); an item of a
    batch (a pair, a window) holds ``sequences_per_item`` windows; a recipe whose loss compares every
    window of a batch with every other one is ``one_process`` (no data-parallel split of its batches).
    """

    name: str
    parts: tuple[str, ...]
    sequences_per_item: int
    one_process: bool = False

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg

    @abstractmethod
    def sampler(self, tracklets: list) -> PairSampler | PKSampler:
        """The sampler of the training tracklets; its ``pids[i]`` is class ``i``."""

    @abstractmethod
    def batches(self, sampler, epoch: int) -> list:
        """The batches of ``epoch`` in training order, each a sequence of items."""

    @staticmethod
    @abstractmethod
    def collate(items, data, visibility: bool = False) -> Batch:
        """The tensors of one batch (on the cpu), with the true visibility when asked for."""

    @abstractmethod
    def loss(self, features: torch.Tensor, logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, dict]:
        """The loss of a step and its terms (0-d tensors, named by ``parts``) from the distance features
        (n, D) and the identity logits (n, classes) of the batch's n windows."""


class SiameseRecipe(Recipe):
    """The paper's recipe: batches of ``batch_size`` pairs, Eq. 4 (identity + hinge + identity)."""

    name, parts, sequences_per_item = "siamese", ("total", "id1", "hinge", "id2"), 2

    def sampler(self, tracklets: list) -> PairSampler:
        return PairSampler(tracklets, seed=self.cfg.seed, window=self.cfg.window)

    def batches(self, sampler: PairSampler, epoch: int) -> list[list[Pair]]:
        pairs, size = sampler.epoch(epoch), self.cfg.batch_size
        return [pairs[i : i + size] for i in range(0, len(pairs), size)]

    @staticmethod
    def collate(pairs: list[Pair], data, visibility: bool = False) -> Batch:
        windows = [(p.first, p.idx1) for p in pairs] + [(p.second, p.idx2) for p in pairs]
        rngs = [np.random.default_rng(p.aug_seed) for p in pairs] * 2  # a pair's crops: first window, then second
        x = [data.input(t, train=True, rng=rng, indices=idx) for (t, idx), rng in zip(windows, rngs, strict=True)]
        vis = [window_visibility(t, idx) for t, idx in windows] if visibility else None
        labels = [p.label1 for p in pairs] + [p.label2 for p in pairs]
        return stack_windows(x, labels, [p.same for p in pairs], vis)

    def loss(self, features: torch.Tensor, logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, dict]:
        h, cfg = len(features) // 2, self.cfg  # first windows: rows [0, h), second windows: rows [h, 2h)
        f, z, y = features.float(), logits.float(), batch.labels
        return siamese_loss(
            f[:h], f[h:], batch.same, z[:h], z[h:], y[:h], y[h:], cfg.margin, cfg.squared_hinge, cfg.id_weight
        )


class TripletRecipe(Recipe):
    """The modern recipe: one PK batch a step, batch-hard triplet loss + identity cross-entropy."""

    name, parts, sequences_per_item, one_process = "triplet", ("total", "id", "triplet"), 1, True

    def sampler(self, tracklets: list) -> PKSampler:
        cfg = self.cfg
        return PKSampler(tracklets, cfg.pk_persons, cfg.pk_windows, window=cfg.window, seed=cfg.seed)

    def batches(self, sampler: PKSampler, epoch: int) -> list[PKBatch]:
        return sampler.epoch(epoch)

    @staticmethod
    def collate(batch: PKBatch, data, visibility: bool = False) -> Batch:
        windows = zip(batch.tracklets, batch.indices, batch.aug_seeds, strict=True)
        x = [data.input(t, train=True, rng=np.random.default_rng(int(seed)), indices=idx) for t, idx, seed in windows]
        vis = (
            [window_visibility(t, idx) for t, idx in zip(batch.tracklets, batch.indices, strict=True)]
            if visibility
            else None
        )
        return stack_windows(x, batch.labels, visibility=vis)

    def loss(self, features: torch.Tensor, logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, dict]:
        triplet = batch_hard_triplet(features.float(), batch.labels, self.cfg.triplet_margin)
        ident = F.cross_entropy(logits.float(), batch.labels)
        total = ident + triplet
        return total, {"total": total, "id": ident, "triplet": triplet}


RECIPES: dict[str, type[Recipe]] = {r.name: r for r in (SiameseRecipe, TripletRecipe)}
