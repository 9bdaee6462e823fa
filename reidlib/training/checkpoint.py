"""Training checkpoints (chapter 8): written atomically, loaded without running code, checked against the model.

A training checkpoint holds the model, optimiser, scheduler, RNG states, history and
configuration, so that a run can resume exactly. It is written to a temporary file in
the same folder and then renamed over the old one (:func:`reidlib._io.atomic_save`): a run
killed while saving leaves the last good checkpoint untouched. The file format, verified
before it is loaded, is :mod:`reidlib.models.checkpoint_file`; building a model from a
checkpoint and exporting its weights is :mod:`reidlib.models.build` (both re-exported here).
"""

from __future__ import annotations

import os
import random
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

import reidlib

from .._io import atomic_save, atomic_write_text, file_sha256, remove_stale, temp_files
from ..models.build import build_model, export_weights, load_model, load_weights, model_config
from ..models.checkpoint_file import FORMAT, FORMAT_VERSION, REQUIRED, check_plain, read_checkpoint
from .config import RUNTIME_FIELDS, TrainConfig, current_names

__all__ = [  # the moved names stay importable from here
    "FORMAT",
    "FORMAT_VERSION",
    "REQUIRED",
    "RUN_FILES",
    "atomic_save",
    "atomic_write_text",
    "build_model",
    "check_plain",
    "check_same_run",
    "clean_stale_temps",
    "export_weights",
    "file_sha256",
    "load_checkpoint",
    "load_model",
    "load_weights",
    "model_config",
    "read_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]


def rng_state() -> dict:
    """The states of Python's, numpy's and torch's global generators (cpu, and cuda when present),
    as tensors and plain lists."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# The files a run folder holds (written by train, run_split, save_config): their old untagged temporaries go too.
RUN_FILES = ("checkpoint.pt", "history.json", "config.yaml", "results.json", "results.md")


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files (``.NAME.tmp<pid>-<host>.<random>.tmp``) that writes killed before they
    finished left in ``folder``; those of processes still running, and files of other names, are kept.
    Returns the removed paths."""
    return remove_stale(temp_files(folder, legacy_names=RUN_FILES))


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, optimizer=None, scheduler=None, scaler=None, **extra
) -> Path:
    """Write a full training checkpoint atomically; ``extra`` (epoch, history, config, ...) is stored as is.

    ``extra`` must hold only tensors and plain values (:func:`check_plain`), checked before writing.
    """
    for key, value in extra.items():
        check_plain(value, key)
    ckpt = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "reidlib_version": reidlib.__version__,
        "model_config": model_config(model),
        "model": model.state_dict(),
        "rng": rng_state(),
        **extra,
    }
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is not None:
            ckpt[name] = obj.state_dict()
    return atomic_save(ckpt, path)


def check_same_run(ckpt: dict, cfg: TrainConfig, run: dict, path: Path) -> None:
    """Resuming from checkpoint ``ckpt`` (read from ``path``) is only exact with the same run: the same
    training settings ``cfg`` (``epochs`` may grow) and the same data, split and model (``run``, the
    entries ``train`` saved beside the weights). Name every difference in one ValueError."""
    # a setting added after the checkpoint was written had its default value then
    old = {**{f.name: f.default for f in fields(TrainConfig)}, **current_names(ckpt.get("config", {}))}
    diff = [
        f"{k}: {old.get(k)!r} -> {v!r}" for k, v in cfg.to_dict().items() if k not in RUNTIME_FIELDS and old.get(k) != v
    ]
    for k, v in run.items():
        if ckpt.get(k) != v:
            if isinstance(v, dict) and isinstance(ckpt.get(k), dict):
                diff += [
                    f"{k}.{f}: {ckpt[k].get(f)!r} -> {v.get(f)!r}"
                    for f in sorted(set(v) | set(ckpt[k]))
                    if ckpt[k].get(f) != v.get(f)
                ]
            else:
                diff.append(f"{k}: {_short(ckpt.get(k))} -> {_short(v)}")
    if diff:
        raise ValueError(
            f"cannot resume from {path}: the run's settings differ ({'; '.join(diff)}). Resume with the "
            "same settings, or start a new run in another out_dir."
        )
    if ckpt["epoch"] > cfg.epochs:
        raise ValueError(f"{path} is already at epoch {ckpt['epoch']}, past epochs={cfg.epochs}.")


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, scheduler=None, scaler=None) -> dict:
    """Load weights (and optimiser/scheduler/scaler states when given) into existing objects -> the checkpoint."""
    ckpt = read_checkpoint(path)
    load_weights(model, ckpt["model"], f"checkpoint {path}")
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is not None:
            if name not in ckpt:
                raise ValueError(
                    f"checkpoint {path} has no {name} state (an exported, weights-only file?); it "
                    "cannot resume training. Resume from the run's checkpoint.pt."
                )
            obj.load_state_dict(ckpt[name])
    return ckpt
