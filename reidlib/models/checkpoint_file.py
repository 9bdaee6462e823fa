"""The checkpoint file: a zip archive of tensors and plain values, verified before it is loaded (chapter 8).

Everything in a reidlib checkpoint is a tensor or a plain value (numbers, strings, lists, dicts), so
it loads with ``torch.load(weights_only=True)``, which refuses any other object instead of running
its code; before that, every entry of the zip archive is checked against its stored CRC-32, so
damaged bytes are refused, not loaded. A checkpoint always holds ``model_config`` (how to rebuild
the model, :mod:`reidlib.models.build`) and ``model`` (its weights); a training checkpoint adds the
optimiser, scheduler and RNG states (:mod:`reidlib.training.checkpoint`).
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch

import reidlib

FORMAT = "reidlib-checkpoint"
FORMAT_VERSION = 2  # 2: RNG states as tensors and lists (version 1 pickled numpy's state)
REQUIRED = ("format_version", "model_config", "model")


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
