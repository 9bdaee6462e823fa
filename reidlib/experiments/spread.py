"""An experiment's splits spread over GPUs: one process per split, one split per GPU at a time (chapter 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .config import CONFIG, ExperimentConfig, save_config


def spread(
    jobs: list, devices: list[str], launch: Callable[[object, str], subprocess.Popen], poll_s: float = 1.0
) -> dict:
    """Run ``jobs`` at most one per device at a time, in order, each on the first free device -> {job: exit code}.

    ``launch(job, device)`` starts a job and returns its process (anything with ``poll()``
    and ``returncode``), e.g. a ``subprocess.Popen`` with ``CUDA_VISIBLE_DEVICES=device``.
    A failed job does not stop the others; the caller reads the exit codes.
    """
    if not devices:
        raise ValueError("spread needs at least one device; found none. Pass e.g. ['0', '1'] (GPU indices).")
    pending, running, codes = list(jobs), {}, {}  # running: device -> (job, process)
    while pending or running:
        for d in devices:
            if d not in running and pending:
                job = pending.pop(0)
                running[d] = (job, launch(job, d))
        done = [d for d, (_, p) in running.items() if p.poll() is not None]
        for d in done:
            job, p = running.pop(d)
            codes[job] = p.returncode
        if not done:
            time.sleep(poll_s)
    return codes


def split_command(out: str | os.PathLike, split: int) -> list[str]:
    """The command that runs one split of the experiment saved in ``out/config.yaml``."""
    return [
        sys.executable,
        "-m",
        "reidlib",
        "experiment",
        "--config",
        str(Path(out) / CONFIG),
        "--split",
        str(split),
        "--out",
        str(out),
    ]


def run_on_devices(config: ExperimentConfig, splits: list[int], devices: list[str], out: str | os.PathLike) -> dict:
    """Save the experiment in ``out/config.yaml`` and run each split as its own process on a free GPU
    (``CUDA_VISIBLE_DEVICES``), logging to ``out/split<i>.log`` -> {split: exit code}."""
    out = Path(out)
    save_config(config, out)

    def launch(i: int, device: str):
        log = open(out / f"split{i}.log", "w")  # noqa: SIM115 (the child process writes it)
        print(f"split {i} -> GPU {device} (log: {log.name})")
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": device}
        return subprocess.Popen(split_command(out, i), env=env, stdout=log, stderr=subprocess.STDOUT)

    return spread(splits, devices, launch)
