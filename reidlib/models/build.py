"""Build a model from its settings, and save and load its weights (chapters 4-8).

:func:`model_config` is what rebuilds a :class:`~reidlib.models.VideoReIDNet`, stored in every
checkpoint; :func:`load_model` rebuilds the network a checkpoint was trained with and loads its
weights; :func:`export_weights` keeps only what a trained model needs (the shipped weights).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .._io import atomic_save
from .checkpoint_file import check_plain, read_checkpoint
from .net import VideoReIDNet


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
    if getattr(model, "identity", "raw") != "raw":
        cfg.update(identity=model.identity)
    cfg.update(model.head_kw)
    return cfg


def build_model(config: dict) -> nn.Module:
    """A fresh VideoReIDNet from :func:`model_config`'s dict."""
    return VideoReIDNet(**config)


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
            "Build the model with the checkpoint's settings (reidlib.models.load_model does it), or train a new one."
        )
        raise ValueError("\n".join(lines))
    model.load_state_dict(state)


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
    for key, value in extra.items():
        check_plain(value, key)
    return atomic_save({**keep, **extra}, path)
