"""Weights shipped with reidlib, so later chapters can show trained models without training.

``make weights`` (= ``python -m reidlib weights``) trains the paper's model
("combined": 1-D FCN attention + mean pooling) and two baselines ("mean" pooling and
"rnn_attention") on the synthetic data of :data:`RECIPE`, with the ``synthetic``
training preset, and writes ``reidlib/weights/synthetic_<head>.pt`` (float32
weights, ~1.7 MB each) and ``synthetic_<head>.json`` (recipe, settings, results,
training time). Use them with :func:`pretrained`.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
HEADS = ("combined", "mean", "rnn_attention")
# The data, split and training preset of the shipped weights.
RECIPE = dict(data=dict(preset="standard", seed=0, occlusion=None), split=0, train_preset="synthetic")


def weights_path(head: str, folder: str | Path | None = None) -> Path:
    return Path(folder or WEIGHTS_DIR) / f"synthetic_{head}.pt"


def pretrained(head: str = "combined", device: str | torch.device | None = None) -> tuple[nn.Module, dict]:
    """A shipped model in eval mode and its record (recipe, settings, ``results`` in %, training time).

    The file's SHA-256 must match its record's ``sha256``: a damaged or altered file is refused.
    """
    from .checkpoint import file_sha256, load_model

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


def recorded_test_split(record: dict, persons: int | None = None) -> tuple[list, list]:
    """(query, gallery) of the record's synthetic test split, rendering only those persons.

    ``persons`` keeps the first that many test persons (by id); None keeps all of them.
    """
    from ..data import PRESETS, SyntheticReID, make_splits

    d = record["data"]
    args = {**PRESETS[d["preset"]], "seed": d["seed"]}
    if d["occlusion"] is not None:
        args["occlusion"] = d["occlusion"]
    gen = SyntheticReID(**args)
    test = sorted(make_splits(range(gen.num_ids), 10, seed=d["seed"])[record["split"]]["test"])
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
    heads=HEADS,
    out_dir: str | Path | None = None,
    work_dir: str | Path = "runs/weights",
    progress: bool = True,
    device: str | torch.device | None = None,
    **overrides,
) -> dict:
    """Train each head on the recipe's data and export it -> {head: record}. Resumes runs found in work_dir.

    Trains on ``device`` (default :func:`reidlib.device`); the exported file is evaluated on the CPU.
    """
    from .. import device as default_device
    from ..data import load_dataset
    from ..evaluation import evaluate_tracklets
    from ..models import VideoReIDNet
    from ..preprocess import cache_root, preprocess_dataset
    from .checkpoint import export_weights, file_sha256, load_model
    from .loop import CHECKPOINT, train
    from .presets import get_config

    cfg = get_config(RECIPE["train_preset"], **overrides)
    device = torch.device(device) if device is not None else default_device()
    ds = load_dataset("synthetic", **RECIPE["data"], cache_dir=cache_root(kind="synthetic"), progress=progress)
    data = preprocess_dataset(ds, progress=progress)
    split = RECIPE["split"]
    query, gallery = recorded_test_split(dict(data=RECIPE["data"], split=split))  # as the weights' test renders it
    records = {}
    for head in heads:
        torch.manual_seed(cfg.seed * 1000 + split)
        model = VideoReIDNet(len(ds.splits[split]["train"]), head=head).to(device)
        run = Path(work_dir) / head
        t0 = time.perf_counter()
        history = train(model, ds, split, cfg, data=data, out_dir=run, resume=True, progress=progress)
        seconds = time.perf_counter() - t0
        path = export_weights(run / CHECKPOINT, weights_path(head, out_dir))
        shipped, _ = load_model(path)  # evaluate the file that ships, as its test will
        record = dict(
            head=head,
            data=RECIPE["data"],
            split=split,
            train_preset=RECIPE["train_preset"],
            config=cfg.to_dict(),
            train_seconds=round(seconds, 1),
            torch_threads=torch.get_num_threads(),
            machine=platform.machine(),
            trained_on=device_name(device),
            final_loss=history["loss"][-1],
            sha256=file_sha256(path),
        )
        res = evaluate_tracklets(shipped, query, gallery, data=data)
        record["results"] = {k: round(res[k], 2) for k in ("rank1", "rank5", "rank10", "rank20", "mAP")}
        path.with_suffix(".json").write_text(json.dumps(record, indent=1))
        records[head] = record
        if progress:
            print(f"{head}: rank-1 {res['rank1']:.1f}%, mAP {res['mAP']:.1f}%, trained in {seconds:.0f} s -> {path}")
    return records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m reidlib weights", description="Train and export the shipped weights (make weights)."
    )
    p.add_argument(
        "--heads", nargs="+", default=list(HEADS), choices=HEADS, help=f"heads to train (default: {' '.join(HEADS)})"
    )
    p.add_argument("--out", default=None, help=f"where to write the weights (default: {WEIGHTS_DIR})")
    p.add_argument("--work", default="runs/weights", help="folder of the training runs (resumed when present)")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--device", help="where to train: cpu, cuda, mps (default: the best available)")
    args = p.parse_args(argv)
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    t0 = time.perf_counter()
    make_weights(args.heads, args.out, args.work, device=args.device, **overrides)
    print(f"make weights: {time.perf_counter() - t0:.0f} s in total")
    return 0
