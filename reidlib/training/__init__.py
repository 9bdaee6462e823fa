"""Training (chapter 8): Siamese pairs, the paper's schedules, the training loop and checkpoints;
PK batches for the batch-hard triplet loss (chapter 13).

Experiments (seed, build, train, evaluate) and the shipped weights are one layer up:
:mod:`reidlib.experiments`.
"""

from .checkpoint import (
    atomic_write_text,
    build_model,
    export_weights,
    load_checkpoint,
    load_model,
    load_weights,
    model_config,
    read_checkpoint,
    save_checkpoint,
)
from .config import SCHEDULES, TrainConfig, schedule
from .loop import CHECKPOINT, HISTORY, new_history, train
from .pairs import Pair, PairSampler
from .pk import PKBatch, PKSampler

__all__ = [
    "Pair",
    "PairSampler",
    "SCHEDULES",
    "PKBatch",
    "PKSampler",
    "TrainConfig",
    "schedule",
    "train",
    "new_history",
    "CHECKPOINT",
    "HISTORY",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "load_model",
    "load_weights",
    "build_model",
    "model_config",
    "export_weights",
    "atomic_write_text",
]
