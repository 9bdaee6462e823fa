"""Data-parallel training (chapter 8) with PyTorch's own engine: ``torchrun`` + DistributedDataParallel.

``torchrun --nproc_per_node=K`` starts K processes and tells each its ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` (environment variables). :func:`reidlib.training.train`
reads them: every process builds the same epoch of pairs (they depend only on the seed
and the epoch), takes its own contiguous share of each global batch of ``batch_size``
pairs (:func:`share`), and DDP averages the gradients after every backward pass. Each
rank's loss is scaled so that this average is exactly the gradient of the mean loss over
the whole global batch, also when the shares are unequal; the update is the one a single
process makes with the same ``batch_size`` (up to floating-point rounding, and dropout).
The "triplet" recipe's PK batches are never split: it trains in one process.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

import reidlib


def world() -> tuple[int, int, int]:
    """(rank, world size, local rank): from torchrun's environment, or the initialised process group, else (0, 1, 0)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    size = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    return rank, size, int(os.environ.get("LOCAL_RANK", rank))


def is_main() -> bool:
    """True in the process that writes files and shows progress (rank 0; also a plain, single process)."""
    return world()[0] == 0


def rank_device(device: str | torch.device | None = None) -> torch.device:
    """The device of this process: ``cuda:LOCAL_RANK`` (modulo the visible GPUs) under torchrun on GPUs.

    ``device`` ("cuda", "cpu", ...; None: the best available) chooses the kind; an
    explicit index (``cuda:1``) is kept as given. A device this machine lacks is a
    ValueError (:func:`reidlib.device` checks it).
    """
    dev = reidlib.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", world()[2] % torch.cuda.device_count())
    return dev


def setup(device: torch.device) -> bool:
    """Initialise the process group when torchrun launched more than one process and nobody did yet.

    Backend ``nccl`` on cuda, ``gloo`` otherwise. Returns True when it created the group
    (the caller then destroys it at the end), False when single-process or already initialised.
    """
    rank, size, local = world()
    if size == 1 or dist.is_initialized():
        return False
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"WORLD_SIZE={size} asks for distributed training but {missing} are not set. Launch with "
            "`torchrun --nproc_per_node=K -m reidlib train ...`, which sets them, or unset WORLD_SIZE."
        )
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", rank=rank, world_size=size, device_id=device)
    else:
        dist.init_process_group("gloo", rank=rank, world_size=size)
    return True


def share(batch: list, rank: int, world_size: int) -> list:
    """Rank ``rank``'s contiguous share of a global batch: shares differ in size by at most 1.

    Concatenated in rank order, the shares are ``batch``: disjoint, and their union is the
    batch a single process trains on. A rank gets nothing when ``len(batch) < world_size``.
    """
    n, k = len(batch), world_size
    start = rank * (n // k) + min(rank, n % k)
    return batch[start : start + n // k + (rank < n % k)]


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of rank ``rank``'s dropout masks in ``epoch``: different ranks draw different masks,
    and a resumed run draws the masks of an uninterrupted one without storing every rank's RNG state."""
    return int(np.random.SeedSequence([int(seed), int(epoch), int(rank)]).generate_state(1)[0])


class TrainingForward(nn.Module):
    """The forward pass of a training step, one module for DDP and torch.compile to wrap: x (n, T, C, 56, 40),
    mask, visibility (both (n, T) or None) -> (features for the distance (n, D), identity logits (n, classes));
    see VideoReIDNet.encode."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, visibility: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        f, for_classifier, _ = self.model.encode(x, mask, visibility)
        return f, self.model.identity_logits(for_classifier)
