"""Room for attention on the synthetic benchmark: how many frames each degradation spoils, and how
much pooling with the true visibility (an oracle) gains over plain mean pooling.

For each preset, on the test split of split ``--split``:
  (a) the share of frames each degradation acts on (``reidlib.data.synthetic.DEGRADATIONS``), the
      share of tracklets it appears in, and the share of frames with visibility < 0.5;
  (b) a mean-pooling ``VideoReIDNet(head="mean")`` trained on the split (training preset ``synthetic``:
      the budget of the shipped weights), its frame features z_i of every whole test video pooled two
      ways, the plain mean and the visibility-weighted mean sum_i v_i z_i / sum_i v_i (the oracle),
      ranked camera 1 queries vs camera 2 gallery: rank-1 and mAP of both, and their difference.

Run: REIDLIB_CACHE=/tmp/oracle-cache OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_oracle_gap.py \
         --presets small standard
     (``small``: about 3 minutes on one core; ``standard``: about 10; ``--stats-only``: seconds.)
Merges one entry per preset into benchmarks/results/oracle_gap.json and prints a Markdown table
(``--report``: the table of that file, nothing run). ``--stats-only`` keeps a preset's measured gap.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from reidlib.data import PRESETS, load_dataset
from reidlib.data.synthetic import DEGRADATIONS, RENDER_VERSION, degraded
from reidlib.evaluation import distance_matrix, rank_metrics
from reidlib.models import VideoReIDNet
from reidlib.preprocess import cache_root, preprocess_dataset
from reidlib.training import schedule, train

RESULTS = Path(__file__).resolve().parent / "results" / "oracle_gap.json"


def frame_stats(tracklets: list) -> dict:
    """Rates (%) of each degradation: of the frames it acts on, of the tracklets it appears in (``meta``);
    the share of frames with visibility < 0.5."""
    flags = np.concatenate([t.degradation for t in tracklets])
    vis = np.concatenate([t.visibility for t in tracklets])
    return dict(
        frames=int(len(vis)),
        tracklets=len(tracklets),
        frame_rate={n: 100 * float(degraded(flags, n).mean()) for n in DEGRADATIONS},
        tracklet_rate={n: 100 * float(np.mean([t.meta[n] is not None for t in tracklets])) for n in DEGRADATIONS},
        any_degradation=100 * float((flags != 0).mean()),
        visibility_below_half=100 * float((vis < 0.5).mean()),
        mean_visibility=float(vis.mean()),
    )


@torch.inference_mode()
def pooled_features(model: VideoReIDNet, tracklets: list, data, chunk: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean-pooled, visibility-weighted) video features, each (N, D), of whole tracklets.

    A video whose visibility is 0 in every frame has no visible frame to weigh: it keeps the mean."""
    mean, oracle = [], []
    for t in tracklets:
        x = data.input(t, train=False)  # (T, C, 56, 40)
        z = torch.cat([model.frame_features(x[None, i : i + chunk]) for i in range(0, len(x), chunk)], 1)[0]
        v = torch.as_tensor(np.asarray(t.visibility), dtype=z.dtype)[:, None]  # (T, 1)
        mean.append(z.mean(0))
        oracle.append((v * z).sum(0) / v.sum() if v.sum() > 0 else z.mean(0))
    return torch.stack(mean), torch.stack(oracle)


def scores(qf: torch.Tensor, gf: torch.Tensor, query: list, gallery: list) -> dict:
    """Rank-1 and mAP (%) of query features (Q, D) against gallery features (G, D)."""
    r = rank_metrics(distance_matrix(qf, gf), [t.pid for t in query], [t.pid for t in gallery], max_rank=1)
    return dict(rank1=100 * float(r["cmc"][0]), mAP=100 * float(r["mAP"]))


def oracle_gap(ds, split: int, data, train_preset: str, **overrides) -> dict:
    """Train a mean-pooling model on ``split`` of ``ds`` and score its test videos pooled both ways."""
    cfg = schedule(train_preset, **overrides)
    _, query, gallery = ds.split(split)
    torch.manual_seed(cfg.seed * 1000 + split)  # as the shipped weights seed their models
    model = VideoReIDNet(len(ds.splits[split]["train"]), head="mean")
    t0 = time.perf_counter()
    train(model, ds, split, cfg, data=data, progress=False)
    seconds = time.perf_counter() - t0
    (qm, qo), (gm, go) = pooled_features(model, query, data), pooled_features(model, gallery, data)
    mean, oracle = scores(qm, gm, query, gallery), scores(qo, go, query, gallery)
    return dict(
        mean=mean,
        oracle=oracle,
        gap={k: oracle[k] - mean[k] for k in mean},
        train_seconds=round(seconds, 1),
        train_preset=train_preset,
        config=cfg.to_dict(),
        test_persons=len(query),
    )


def measure(preset: str, split: int, stats_only: bool, train_preset: str, **overrides) -> dict:
    """The entry of one preset in the results file."""
    ds = load_dataset("synthetic", preset=preset, seed=0, cache_dir=cache_root(kind="synthetic"))
    _, query, gallery = ds.split(split)
    entry = dict(
        preset=preset,
        arguments=PRESETS[preset],
        render_version=RENDER_VERSION,
        split=split,
        test_split=frame_stats(query + gallery),
    )
    if not stats_only:
        entry.update(oracle_gap(ds, split, preprocess_dataset(ds, progress=False), train_preset, **overrides))
    return entry


def table(results: dict) -> str:
    """A Markdown table of the results file's entries."""
    head = "| preset | " + " | ".join(f"{n} (% frames)" for n in DEGRADATIONS)
    lines = [
        head + " | visibility < 0.5 (% frames) | mean R1 / mAP | oracle R1 / mAP | gap R1 / mAP | train s |",
        "|---" * (len(DEGRADATIONS) + 6) + "|",
    ]
    for name, e in results.items():
        s = e["test_split"]
        cells = [f"{s['frame_rate'][n]:.1f}" for n in DEGRADATIONS] + [f"{s['visibility_below_half']:.1f}"]
        if "gap" in e:
            pair = [(e[k]["rank1"], e[k]["mAP"]) for k in ("mean", "oracle", "gap")]
            cells += [f"{a:.1f} / {b:.1f}" for a, b in pair[:2]] + [f"{pair[2][0]:+.1f} / {pair[2][1]:+.1f}"]
            cells.append(f"{e['train_seconds']:.0f}")
        else:
            cells += ["-"] * 4
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["small", "standard"], choices=list(PRESETS))
    ap.add_argument("--split", type=int, default=0)
    ap.add_argument("--train-preset", default="short", help="training schedule of the mean model")
    ap.add_argument("--epochs", type=int, help="override the training schedule's epochs (tuning only)")
    ap.add_argument("--stats-only", action="store_true", help="only the rates of the degradations, no training")
    ap.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default: {RESULTS})")
    ap.add_argument("--report", action="store_true", help="only print the table of the results file")
    args = ap.parse_args()
    if args.report:
        print(table(json.loads(args.out.read_text())))
        return
    torch.set_num_threads(1)
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for preset in args.presets:
        t0 = time.perf_counter()
        entry = measure(preset, args.split, args.stats_only, args.train_preset, **overrides)
        entry.update(
            command=" ".join(["python", "benchmarks/bench_oracle_gap.py", *map(shlex.quote, sys.argv[1:])]),
            seconds=round(time.perf_counter() - t0, 1),
            machine=f"{platform.machine()} CPU, {torch.get_num_threads()} torch thread(s)",
            python=platform.python_version(),
            torch=torch.__version__,
            date=datetime.date.today().isoformat(),
        )
        old = results.get(preset, {})
        if args.stats_only and old.get("arguments") == json.loads(json.dumps(entry["arguments"])):
            entry = {**old, "test_split": entry["test_split"]}  # the same data: keep its measured gap
        results[preset] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"{preset}: done in {entry['seconds']:.0f} s", flush=True)
    print(table({p: results[p] for p in args.presets}))


if __name__ == "__main__":
    main()
