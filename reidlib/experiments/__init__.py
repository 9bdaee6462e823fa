"""Experiments (chapters 8, 9 and 12): one configuration, one place that seeds, builds, trains and tests.

* :class:`ExperimentConfig` (:class:`DataConfig`, :class:`ModelConfig`, :class:`TrainConfig`):
  every option of an experiment, saved as each run's ``config.yaml``;
* :func:`run_split` trains and tests one split; :func:`evaluate_splits` the protocol over
  splits (mean ± std); :func:`collect` merges splits run as separate jobs;
  :func:`run_on_devices` spreads them over GPUs; :func:`evaluate_checkpoint` tests a trained model;
* :mod:`.shipped`: the recipe of the weights that ship with reidlib, and :func:`pretrained`;
* :mod:`.reproduce`: chapter 12's tables on real data, in chunks that resume after a lost session.
"""

from ..training import SCHEDULES, TrainConfig, schedule
from .config import CONFIG, DataConfig, ExperimentConfig, ModelConfig, load_config, save_config
from .run import (
    Data,
    collect,
    evaluate_checkpoint,
    evaluate_splits,
    initial_model,
    load_data,
    run_split,
    summary_name,
    summary_of,
    write_summary,
    write_table,
)
from .shipped import (
    RECIPE,
    SHIPPED_HEADS,
    WEIGHTS_DIR,
    make_weights,
    pretrained,
    recorded_experiment,
    recorded_test_split,
    weights_path,
)
from .spread import run_on_devices, spread

__all__ = [
    "CONFIG",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "ExperimentConfig",
    "SCHEDULES",
    "schedule",
    "load_config",
    "save_config",
    "Data",
    "load_data",
    "initial_model",
    "run_split",
    "evaluate_splits",
    "collect",
    "summary_name",
    "summary_of",
    "write_summary",
    "write_table",
    "evaluate_checkpoint",
    "run_on_devices",
    "spread",
    "RECIPE",
    "SHIPPED_HEADS",
    "WEIGHTS_DIR",
    "make_weights",
    "pretrained",
    "recorded_experiment",
    "recorded_test_split",
    "weights_path",
]
