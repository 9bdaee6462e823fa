"""Training (chapter 8): Siamese pairs, the paper's schedules, the training loop, checkpoints, shipped weights;
PK batches for the batch-hard triplet loss (chapter 13)."""

from .checkpoint import (
    build_model,
    export_weights,
    load_checkpoint,
    load_model,
    load_weights,
    model_config,
    read_checkpoint,
    save_checkpoint,
)
from .loop import CHECKPOINT, new_history, train, validate
from .pairs import Pair, PairSampler
from .pk import PKBatch, PKSampler
from .presets import PRESETS, TrainConfig, get_config
from .shipped import pretrained

__all__ = [
    "Pair",
    "PairSampler",
    "PKBatch",
    "PKSampler",
    "PRESETS",
    "TrainConfig",
    "get_config",
    "train",
    "validate",
    "new_history",
    "CHECKPOINT",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "load_model",
    "load_weights",
    "build_model",
    "model_config",
    "export_weights",
    "pretrained",
]
