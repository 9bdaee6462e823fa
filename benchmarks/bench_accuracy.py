"""Accuracy of the temporal heads on the synthetic benchmark, with and without occlusions.

Every method gets the same budget (data, training preset, epochs, splits); the table
gives rank-1/5/10/20 and mAP as mean ± std over the splits, and, for heads with
attention, the Spearman correlation of the per-frame scores with the true visibility
of the person (within each test tracklet whose visibility varies, averaged), after
training and, for reference, of the same model untrained.

Recorded in benchmarks/RESULTS.md:
  .venv/bin/python benchmarks/bench_accuracy.py --data quick --epochs 8 --splits 0 1 2
      (a CPU-sized budget, ~7 min on a 2-core CPU; too few test persons to rank the methods)
  .venv/bin/python benchmarks/bench_accuracy.py --data small --device cpu
      (the preset of the shipped weights on 80 persons: 36 min on that CPU as 2 processes)
  python benchmarks/bench_accuracy.py --data standard --device cuda
      (the budget of the shipped weights: 20 epochs on 300 persons; about 4 h on that CPU, at the
      ~8 min per run of `make weights`, and 4 min on one H100 running the 30 runs as parallel
      processes: benchmarks/gpu_run.sh)
  ... --data standard --device cuda --occlusions 0.5 --epochs 60 --milestones 45
Finished runs are kept in --work (default runs/bench_accuracy) and reused, so an
interrupted benchmark continues where it stopped; --report prints the finished runs only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

import reidlib
from reidlib.data import load_dataset
from reidlib.evaluation import METRICS, attention_visibility, evaluate, summarize
from reidlib.models import VideoReIDNet
from reidlib.preprocess import cache_root, preprocess_dataset
from reidlib.training import get_config, train

# name -> (head, head options)
METHODS = {
    "mean pooling": ("mean", {}),
    "RNN attention (LSTM scores + mean)": ("rnn_attention", {}),
    "FCN attention, sigmoid (Eq. 2)": ("attention", {}),
    "FCN attention, softmax": ("attention", {"activation": "softmax"}),
    "FCN attention + mean (the paper)": ("combined", {}),
}


def run_one(
    ds, data, head: str, head_kw: dict, split: int, cfg, work: Path, device, train_missing: bool = True
) -> dict | None:
    """Train one model on ``split`` (resumed/reused from ``work``) and evaluate it -> result dict.

    With ``train_missing=False`` a run not finished yet gives None instead of training it.
    """
    done = work / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    if not train_missing:
        return None
    torch.manual_seed(cfg.seed * 1000 + split)
    model = VideoReIDNet(len(ds.splits[split]["train"]), head=head, **head_kw).to(device)
    init = _spearman(evaluate(model, ds, split, data=data, details=True))  # the untrained model, for reference
    t0 = time.perf_counter()
    train(model, ds, split, cfg, data=data, out_dir=work, resume=True, progress=False)
    seconds = time.perf_counter() - t0
    r = evaluate(model, ds, split, data=data, details=True)
    out = {m: r[m] for m in METRICS}
    out["seconds"] = seconds
    if init is not None:
        out.update(spearman=_spearman(r), spearman_init=init)
    done.write_text(json.dumps(out))
    return out


def _spearman(r: dict) -> float | None:
    """Mean within-tracklet Spearman(attention, visibility) over the occluded test tracklets; None without scores."""
    if r["query_scores"][0] is None:
        return None
    return attention_visibility(r["query_scores"] + r["gallery_scores"], r["query"] + r["gallery"])["per_tracklet"]


def _cell(values: list) -> str:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "n/a"
    return f"{np.mean(values):+.2f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="standard", help="synthetic size preset (tiny, quick, small, standard)")
    ap.add_argument(
        "--occlusions",
        nargs="+",
        type=float,
        default=[0.5, 0.0],
        help="shares of occluded tracklets to test (default: 0.5 and 0)",
    )
    ap.add_argument("--splits", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--preset", default="synthetic", help="training preset (default: synthetic)")
    ap.add_argument("--epochs", type=int, help="override the preset's epochs")
    ap.add_argument("--milestones", nargs="*", type=int, help="override the preset's milestones (epochs)")
    ap.add_argument(
        "--report", action="store_true", help="train nothing: print the table of the runs already finished in --work"
    )
    ap.add_argument("--methods", nargs="+", default=list(METHODS), help="subset of the method names")
    ap.add_argument("--work", default="runs/bench_accuracy")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    overrides = {k: v for k, v in (("epochs", args.epochs), ("milestones", args.milestones)) if v is not None}
    cfg = get_config(args.preset, **overrides)
    device = torch.device(args.device) if args.device else reidlib.device()

    key = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]  # runs of these settings
    t_start = time.perf_counter()
    tables = {}
    for occ in args.occlusions:
        ds = load_dataset("synthetic", preset=args.data, seed=0, occlusion=occ, cache_dir=cache_root(kind="synthetic"))
        data = preprocess_dataset(ds, progress=False)
        rows = {}
        for name in args.methods:
            head, kw = METHODS[name]
            tag = f"{args.data}-occ{occ:g}-{args.preset}-{key}/{head}{'-' + kw['activation'] if kw else ''}"
            results = [
                run_one(
                    ds,
                    data,
                    head,
                    kw,
                    s,
                    cfg,
                    Path(args.work) / tag / f"split{s}",
                    device,
                    train_missing=not args.report,
                )
                for s in args.splits
            ]
            results = [r for r in results if r is not None]
            if not results:
                continue
            rows[name] = (summarize(results), results)
            print(
                f"  done: occlusion {occ:g}, {name}: rank-1 {rows[name][0]['mean']['rank1']:.1f} "
                f"({len(results)} of {len(args.splits)} splits)",
                flush=True,
            )
        tables[occ] = rows

    print(
        f"\nSynthetic `{args.data}` data (seed 0), training preset `{args.preset}` ({cfg.epochs} epochs, lr "
        f"{cfg.lr:g}, batch {cfg.batch_size} pairs, milestones {list(cfg.milestones)}), splits {args.splits}; "
        f"mean ± std (ddof=1) over the splits; {torch.get_num_threads()} torch threads on {device}; "
        f"total {time.perf_counter() - t_start:.0f} s.\n"
    )
    for occ, rows in tables.items():
        print(f"Occluded tracklets: {occ:.0%}\n")
        print(
            "| method | R1 | R5 | R10 | R20 | mAP | Spearman(attention, visibility) trained | untrained "
            "| train s/run |" + (" splits |" if args.report else "")
        )
        print("|---|---|---|---|---|---|---|---|---|" + ("---|" if args.report else ""))
        for name, (s, results) in rows.items():
            cells = [f"{s['mean'][m]:.1f} ± {s['std'][m]:.1f}" for m in METRICS]
            rho = _cell([r.get("spearman") for r in results])
            rho0 = _cell([r.get("spearman_init") for r in results])
            secs = np.mean([r["seconds"] for r in results])
            done = f" {len(results)} of {len(args.splits)} |" if args.report else ""
            print(f"| {name} | " + " | ".join(cells) + f" | {rho} | {rho0} | {secs:.0f} |" + done)
        print()


if __name__ == "__main__":
    main()
