"""Training (chapter 8): recipes (the paper's Siamese pairs with Eq. 4; PK batches with the batch-hard
triplet loss, chapter 13), the paper's schedules, the training loop and checkpoints.

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
from .recipes import RECIPES, Batch, Recipe, SiameseRecipe, TripletRecipe

__all__ = [
    "Pair",
    "PairSampler",
    "SCHEDULES",
    "PKBatch",
    "PKSampler",
    "Batch",
    "Recipe",
    "RECIPES",
    "SiameseRecipe",
    "TripletRecipe",
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
