"""Checkpoints: written atomically, loaded without running code, verified and checked against the model on load.

A training checkpoint holds the model, optimiser, scheduler, RNG states, history and
configuration, so that a run can resume exactly. It is written to a temporary file in
the same folder and then renamed over the old one: a run killed while saving leaves
the last good checkpoint untouched. Everything in it is a tensor or a plain value
(numbers, strings, lists, dicts), so it loads with ``torch.load(weights_only=True)``,
which refuses any other object instead of running its code; before that, every entry of the
zip archive is checked against its stored CRC-32, so damaged bytes are refused, not loaded.
An exported checkpoint (:func:`export_weights`) keeps only the float32 model weights and how
to rebuild the model.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import re
import zipfile
from collections import OrderedDict
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

import reidlib

from ..data.tempfiles import atomic_file, remove_stale, temp_files, write_error
from ..models import VideoReIDNet
from .config import RUNTIME_FIELDS, TrainConfig, current_names

FORMAT = "reidlib-checkpoint"
FORMAT_VERSION = 2  # 2: RNG states as tensors and lists (version 1 pickled numpy's state)
REQUIRED = ("format_version", "model_config", "model")


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


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed onto ``path``.

    A failed write (a full disk: ``OSError`` or torch's "enforce fail at inline_container.cc")
    removes its temporary file, leaves ``path`` as it was and raises an OSError that says so.
    """
    path = Path(path)
    try:
        with atomic_file(path) as f:
            torch.save(obj, f)
    except OSError as e:
        raise write_error(path, e, "the checkpoint") from e
    except RuntimeError as e:  # torch's zip writer reports failed writes this way
        if "inline_container" not in str(e) and "PytorchStreamWriter" not in str(e):
            raise
        raise write_error(path, e, "the checkpoint") from e
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (a run file: history.json, results.json) atomically: a temporary file beside
    ``path``, flushed to disk, renamed onto ``path``; a failed write removes it and keeps the old file."""
    path = Path(path)
    try:
        with atomic_file(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise write_error(path, e) from e
    return path


# The files a run folder holds (written by train, run_split, save_config): their old untagged temporaries go too.
RUN_FILES = ("checkpoint.pt", "history.json", "config.yaml", "results.json", "results.md")


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files (``.NAME.tmp<pid>-<host>.<random>.tmp``) that writes killed before they
    finished left in ``folder``; those of processes still running, and files of other names, are kept.
    Returns the removed paths."""
    return remove_stale(temp_files(folder, legacy_names=RUN_FILES))


_PLAIN = (type(None), bool, int, float, str)


def check_plain(value, where: str) -> None:
    """Raise a TypeError naming the first part of ``value`` that a weights-only load would refuse:
    anything but tensors, None, bools, ints, floats, strings and lists, tuples, dicts of them."""
    if type(value) in _PLAIN or isinstance(value, torch.Tensor):
        return
    if type(value) in (list, tuple):
        for i, v in enumerate(value):
            check_plain(v, f"{where}[{i}]")
        return
    if type(value) in (dict, OrderedDict):
        for k, v in value.items():
            check_plain(k, f"a key of {where}")
            check_plain(v, f"{where}[{k!r}]")
        return
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise TypeError(
        f"checkpoint field {where} is a {kind} ({str(value)[:60]}); checkpoints hold only tensors and "
        "plain values (None, bools, ints, floats, strings, and lists, tuples, dicts of them), so that they "
        "load without running code. Convert it before saving: float(x), int(x), x.tolist()."
    )


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


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint file (on the cpu) and check that this version of reidlib can read it.

    Only tensors and plain values are unpickled (``weights_only=True``): a file holding
    any other object is refused before any of its code runs.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}. Train first (reidlib.training.train with out_dir=...) "
            "or give the path of a .pt file written by reidlib."
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a checkpoint: expected a zip archive written by torch.save (reidlib's "
            f"format); found {_describe(path)}. {_REDO}"
        )
    damaged = _crc_failure(path)
    if damaged:
        raise ValueError(f"{path} is damaged: {damaged}. {_REDO}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported (?:global: GLOBAL|class) ([\w.]+)", str(e))
        reason = f"it refers to {found[1]}" if found else "torch's weights-only loader refused it"
        raise ValueError(
            f"{path} holds Python objects other than tensors and plain values ({reason}); reidlib "
            "checkpoints hold none, and loading such objects can run code, so nothing in it was "
            "loaded. Use files written by reidlib (training checkpoints of reidlib before checkpoint "
            "format 2 pickled numpy's RNG state: retrain, or load such a file you trust yourself with "
            "torch.load(path, weights_only=False))."
        ) from None
    except Exception as e:  # torch's readers fail in many ways on damaged bytes (RuntimeError, EOFError, struct.error)
        reason = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path} is damaged: torch could not read it ({reason}). {_REDO}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a reidlib checkpoint (no format tag {FORMAT!r}); found "
            f"{type(ckpt).__name__}. Load plain state dicts with model.load_state_dict."
        )
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing or not isinstance(ckpt["format_version"], int) or not isinstance(ckpt["model"], dict):
        found = {k: type(v).__name__ for k, v in ckpt.items()}
        raise ValueError(
            f"{path} is tagged as a reidlib checkpoint but is incomplete: expected {list(REQUIRED)} "
            f"(an int, a dict, a dict of tensors); missing {missing}, found {found}. It was not written "
            f"by save_checkpoint or export_weights, or was edited since. {_REDO}"
        )
    if ckpt["format_version"] > FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {ckpt['format_version']} (reidlib "
            f"{ckpt.get('reidlib_version')}); this reidlib {reidlib.__version__} reads up to version "
            f"{FORMAT_VERSION}. Upgrade reidlib."
        )
    return ckpt


def _crc_failure(path: Path) -> str | None:
    """Why the zip archive ``path`` fails its own check (each entry's stored CRC-32 against its bytes), or
    None. torch.load does not check them: without this, one flipped bit in a tensor loads silently."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f"its zip structure cannot be read ({type(e).__name__}: {str(e)[:200]})"
    return None if bad is None else f"the bytes of its entry {bad!r} do not match their stored CRC-32"


_REDO = (
    "Copy or download the file again, or retrain (a run folder's checkpoint.pt is rewritten every "
    "save_every epochs; shipped weights come with the package: reinstall it)."
)


def _describe(path: Path) -> str:
    """What a file that is not a zip archive looks like, in words."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
    if size == 0:
        return "an empty file"
    if head.startswith(b"PK"):
        return f"the start of a zip archive without its end ({size} bytes): the file is truncated"
    if head[:1] == b"\x80":
        return f"a pickle of Python objects ({size} bytes), not read: unpickling it could run code"
    return f"{size} bytes starting with {head!r}"


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
