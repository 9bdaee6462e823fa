"""reidlib: video-based person re-identification with convolutional temporal attention.

The library of the book: each subpackage belongs to a chapter (``data`` to chapter 2,
``preprocess`` to chapter 3, ``models`` to chapters 4-6, ...). This top level holds
only what every chapter needs: the run profile and the device.
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


def device():
    """The best available ``torch.device``: cuda, then mps, then cpu."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


__all__ = ["__version__", "PROFILES", "profile", "pick", "device"]
