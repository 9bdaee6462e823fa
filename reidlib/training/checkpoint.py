"""Checkpoints: written atomically, checked against the model on load, and exported small.

A training checkpoint holds the model, optimiser, scheduler, RNG states, history and
configuration, so that a run can resume exactly. It is written to a temporary file in
the same folder and then renamed over the old one: a run killed while saving leaves
the last good checkpoint untouched. An exported checkpoint (:func:`export_weights`)
keeps only the float32 model weights and how to rebuild the model.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

import reidlib

from ..models import VideoReIDNet

FORMAT = "reidlib-checkpoint"
FORMAT_VERSION = 1


def model_config(model: nn.Module) -> dict:
    """The arguments that rebuild ``model`` (a VideoReIDNet) with :func:`build_model`."""
    try:
        cfg = dict(
            num_classes=model.classifier.out_features,
            head=model.head_name,
            in_channels=model.cnn.in_channels,
            feature_dim=model.cnn.feature_dim,
            dropout=model.cnn.dropout.p,
        )
    except AttributeError as e:
        raise TypeError(f"expected a reidlib.models.VideoReIDNet; found {type(model).__name__} ({e}).") from None
    if model.backbone != "paper" or model.backbone_kw:  # the default leaves the config as it always was
        cfg.update(backbone=model.backbone, backbone_kw=dict(model.backbone_kw))
    cfg.update(model.head_kw)
    return cfg


def build_model(config: dict) -> nn.Module:
    """A fresh VideoReIDNet from :func:`model_config`'s dict."""
    return VideoReIDNet(**config)


def rng_state() -> dict:
    """The states of Python's, numpy's and torch's global generators (cpu, and cuda when present)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (history.json, results.json, ...) so that it is either the old or the new one:
    a temporary file beside it, flushed to disk, then renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, optimizer=None, scheduler=None, scaler=None, **extra
) -> Path:
    """Write a full training checkpoint atomically; ``extra`` (epoch, history, config, ...) is stored as is."""
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


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint file (on the cpu) and check that this version of reidlib can read it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}. Train first (reidlib.training.train with out_dir=...) "
            "or give the path of a .pt file written by reidlib."
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a reidlib checkpoint (no format tag {FORMAT!r}); found "
            f"{type(ckpt).__name__}. Load plain state dicts with model.load_state_dict."
        )
    if ckpt["format_version"] > FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {ckpt['format_version']} (reidlib "
            f"{ckpt.get('reidlib_version')}); this reidlib {reidlib.__version__} reads up to version "
            f"{FORMAT_VERSION}. Upgrade reidlib."
        )
    return ckpt


def load_weights(model: nn.Module, state: dict, source: str = "the checkpoint") -> None:
    """``model.load_state_dict(state)`` with an error that names every mismatching key."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: {tuple(state[k].shape)} in the checkpoint vs {tuple(own[k].shape)} in the model"
        for k in sorted(set(own) & set(state))
        if state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        lines = [
            f"{source} does not fit this model ({type(model).__name__}, head={getattr(model, 'head_name', '?')!r}):"
        ]
        if missing:
            lines.append(f"  missing in the checkpoint: {missing}")
        if unexpected:
            lines.append(f"  not in the model: {unexpected}")
        if shapes:
            lines.append("  different shapes: " + "; ".join(shapes))
        lines.append(
            "Build the model with the checkpoint's settings (reidlib.training.load_model does it), or train a new one."
        )
        raise ValueError("\n".join(lines))
    model.load_state_dict(state)


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


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> tuple[nn.Module, dict]:
    """Rebuild the model a checkpoint was trained with, load its weights -> (model in eval mode, checkpoint)."""
    ckpt = read_checkpoint(path)
    model = build_model(ckpt["model_config"])
    load_weights(model, ckpt["model"], f"checkpoint {path}")
    return model.to(device or "cpu").eval(), ckpt


def export_weights(checkpoint: str | os.PathLike, path: str | os.PathLike, **extra) -> Path:
    """Write a small copy of ``checkpoint``: float32 weights, model config, history, config (no optimiser, no RNG)."""
    ckpt = read_checkpoint(checkpoint)
    keep = {
        k: ckpt[k]
        for k in (
            "format",
            "format_version",
            "reidlib_version",
            "model_config",
            "config",
            "history",
            "epoch",
            "split",
            "dataset",
            "train_pids",
        )
        if k in ckpt
    }
    keep["model"] = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    return atomic_save({**keep, **extra}, path)
