"""reidlib: video-based person re-identification with convolutional temporal attention.

The library of the book: each subpackage belongs to a chapter (``data`` to chapter 2,
``preprocess`` to chapter 3, ``models`` to chapters 4-6, ...), and the folders are the layers of
docs/architecture.md: ``_io`` and ``stats`` at the base, then ``data``, ``preprocess``, ``models``,
``losses``, ``training`` and ``evaluation``, ``experiments``; ``book`` (the chapters' figures, checks
and verdicts) and ``cli`` on top. This top level holds only what every chapter needs: the run profile
and the device.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

PROFILES = ("quick", "cpu", "full")


def profile() -> str:
    """The run profile that sets data sizes and epochs in the notebooks.

    ``REIDLIB_PROFILE`` wins when set (``make test`` and ``make book`` set ``quick``);
    otherwise ``"full"`` when a CUDA GPU is present and ``"cpu"`` when not.
    """
    name = os.environ.get("REIDLIB_PROFILE", "").strip().lower()
    if name:
        if name not in PROFILES:
            raise ValueError(
                f"REIDLIB_PROFILE must be one of {', '.join(PROFILES)}; found {name!r}. "
                "Unset it to choose automatically (full on a GPU, cpu otherwise)."
            )
        return name
    import torch

    return "full" if torch.cuda.is_available() else "cpu"


def pick(quick, cpu, full):
    """Return the value of the current profile: ``pick(quick=2, cpu=20, full=1400)``."""
    return {"quick": quick, "cpu": cpu, "full": full}[profile()]


def device(name=None):
    """The ``torch.device`` to run on: the best available (cuda, then mps, then cpu), or ``name``
    ("cpu", "cuda", "cuda:1", "mps", a torch.device) after checking that this machine has it.

    A device that is not there is a ValueError that says what is there, before any work starts.
    """
    import torch

    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device must be cpu, cuda, cuda:N or mps; found {name!r} ({e}).") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ValueError(
                f"device {name!r} asks for a CUDA GPU, but torch {torch.__version__} ({build}) sees none "
                "on this machine. Use device 'cpu' (or leave it unset: the best available is chosen), "
                "or run on a machine with an NVIDIA GPU and a CUDA build of torch."
            )
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"device {name!r} asks for GPU {dev.index}, but this machine has {count} "
                f"(cuda:0 .. cuda:{count - 1}). Pick one of those, or 'cuda' for the first."
            )
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device {name!r} asks for Apple's MPS, which this machine or torch build lacks. "
                "Use 'cpu', or leave it unset (the best available is chosen)."
            )
    return dev


__all__ = ["__version__", "PROFILES", "profile", "pick", "device"]
