"""Weights shipped with reidlib, so that later chapters show trained models without training (chapters 1, 4, 7-10
and 13).

``make weights`` (= ``python -m reidlib weights``) runs :data:`RECIPE` for each head of
:data:`SHIPPED_HEADS` (split 0 of the synthetic ``standard`` data, the ``short`` schedule)
with :func:`~reidlib.experiments.run_split`, exports each model (float32 weights, about
1.7 MB) to ``reidlib/weights/synthetic_<head>.pt``, tests the exported file on the CPU and
writes its record ``synthetic_<head>.json`` (the experiment, results, training time).
Use them with :func:`pretrained`.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

import reidlib

from .._io import file_sha256
from ..data import PRESETS, SyntheticReID, make_splits
from ..evaluation import METRICS, evaluate_tracklets
from ..models import export_weights, load_model
from ..training import CHECKPOINT, SCHEDULES
from .config import DataConfig, ExperimentConfig, ModelConfig
from .run import load_data, run_split

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
# The paper's model, mean pooling, and an end-to-end attention head besides the paper's that no other
# beats measurably (``reidlib.book.verdicts.unbeaten_attention``; tests/book/test_one_story.py checks it).
SHIPPED_HEADS = ("combined", "mean", "rnn_attention")
SPLIT = 0
# The experiment of the shipped weights; each head replaces ``model``.
RECIPE = ExperimentConfig(data=DataConfig(preset="standard"), model=ModelConfig(), train=SCHEDULES["short"])


def weights_path(head: str, folder: str | Path | None = None) -> Path:
    return Path(folder or WEIGHTS_DIR) / f"synthetic_{head}.pt"


def pretrained(head: str = "combined", device: str | torch.device | None = None) -> tuple[nn.Module, dict]:
    """A shipped model in eval mode and its record (the experiment, ``results`` in %, training time).

    The file's SHA-256 must match its record's ``sha256``: a damaged or altered file is refused.
    """
    path = weights_path(head)
    if not path.exists():
        have = sorted(p.stem.removeprefix("synthetic_") for p in WEIGHTS_DIR.glob("synthetic_*.pt"))
        raise FileNotFoundError(
            f"no shipped weights for head {head!r}; available: {have}. Run `make weights` to (re)build them."
        )
    record = json.loads(path.with_suffix(".json").read_text())
    digest = file_sha256(path)
    if record.get("sha256") != digest:
        raise ValueError(
            f"the shipped weights {path} have SHA-256 {digest}, but their record "
            f"{path.with_suffix('.json')} expects {record.get('sha256', 'a sha256 field (missing)')}: the "
            "file is damaged or was changed after `make weights` wrote it. Reinstall reidlib (pip install "
            "--force-reinstall), or run `make weights` to rebuild both files."
        )
    model, _ = load_model(path, device)
    return model, record


def recorded_experiment(record: dict) -> ExperimentConfig:
    """The experiment a shipped model's record describes."""
    return ExperimentConfig.from_dict(record["experiment"])


def recorded_test_split(record: dict, persons: int | None = None) -> tuple[list, list]:
    """(query, gallery) of the record's synthetic test split, rendering only those persons.

    ``persons`` keeps the first that many test persons (by id); None keeps all of them.
    """
    d = recorded_experiment(record).data
    args = {**PRESETS[d.preset], "seed": d.seed}
    if d.occlusion is not None:
        args["occlusion"] = d.occlusion
    gen = SyntheticReID(**args)
    test = sorted(make_splits(range(gen.num_ids), 10, seed=d.seed)[record["split"]]["test"])
    if persons is not None:
        if persons < 1:
            raise ValueError(f"persons must be >= 1 (or None for all {len(test)} test persons); found {persons}.")
        test = test[:persons]
    return [gen.tracklet(p, 0) for p in test], [gen.tracklet(p, 1) for p in test]


def device_name(device: torch.device) -> str:
    """'NVIDIA H100 80GB HBM3 (cuda)', 'x86_64 CPU', ...: where a model was trained, in words."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    return f"{platform.machine()} CPU" if device.type == "cpu" else device.type


def make_weights(
    heads=SHIPPED_HEADS,
    out_dir: str | Path | None = None,
    work_dir: str | Path = "runs/weights",
    progress: bool = True,
    device: str | torch.device | None = None,
    **train_overrides,
) -> dict:
    """Run the recipe for each head and export it -> {head: record}. Resumes runs found in ``work_dir``.

    Trains on ``device`` (default :func:`reidlib.device`); the exported file is tested on the CPU,
    on the test persons rendered anew (:func:`recorded_test_split`), as its test will.
    """
    device = torch.device(device) if device is not None else reidlib.device()
    base = replace(RECIPE, train=replace(RECIPE.train, **train_overrides))
    data = load_data(base.data, progress)
    records = {}
    for head in heads:
        config = replace(base, model=ModelConfig(head=head))
        run = Path(work_dir) / head
        t0 = time.perf_counter()
        res = run_split(config, SPLIT, out_dir=run, resume=True, device=device, progress=progress, data=data)
        seconds = time.perf_counter() - t0
        path = export_weights(run / CHECKPOINT, weights_path(head, out_dir))
        record = dict(
            head=head,
            experiment=config.to_dict(),
            split=SPLIT,
            train_seconds=round(seconds, 1),
            torch_threads=torch.get_num_threads(),
            machine=platform.machine(),
            trained_on=device_name(device),
            final_loss=res["final_loss"],
            sha256=file_sha256(path),
        )
        shipped, _ = load_model(path)  # test the file that ships
        query, gallery = recorded_test_split(record)
        tested = evaluate_tracklets(shipped, query, gallery, data=data.prepared)
        record["results"] = {k: round(tested[k], 2) for k in METRICS}
        path.with_suffix(".json").write_text(json.dumps(record, indent=1))
        records[head] = record
        if progress:
            print(f"{head}: rank-1 {tested['rank1']:.1f}%, mAP {tested['mAP']:.1f}%, {seconds:.0f} s -> {path}")
    return records
