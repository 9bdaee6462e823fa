"""Command line: ``python -m reidlib info | train | evaluate | experiment | collect``.

Examples:
  python -m reidlib train --dataset synthetic --synthetic quick --preset quick --out runs/try
  python -m reidlib evaluate --checkpoint runs/try/checkpoint.pt --dataset synthetic --synthetic quick
  python -m reidlib experiment --dataset prid2011 --root ~/reid-data --preset prid2011 --out runs/prid
  python -m reidlib experiment --dataset ilidsvid --test-dataset prid2011 --root ~/reid-data --out runs/cross
  torchrun --nproc_per_node=4 -m reidlib train --preset ilidsvid --batch-size 4 --out runs/ddp   # 4 GPUs, one run
  python -m reidlib experiment --dataset prid2011 --preset prid2011 --devices auto --out runs/prid  # a split per GPU
  python -m reidlib experiment --dataset prid2011 --preset prid2011 --split 3 --out runs/prid      # one job of many
  python -m reidlib collect runs/prid --splits 0-9      # merge the jobs' results: mean and std
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import reidlib

DATASETS = ("synthetic", "ilidsvid", "prid2011", "sduvid", "folder")


def _add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default="synthetic", help="dataset to use (default: synthetic)")
    g.add_argument("--root", help="folder holding the real datasets (default: $REIDLIB_DATA or ~/reid-data)")
    g.add_argument(
        "--synthetic",
        default="quick",
        metavar="SIZE",
        help="size preset of the synthetic data: tiny, quick, small, standard (default: quick)",
    )
    g.add_argument("--occlusion", type=float, help="synthetic: share of occluded tracklets (default: the size's)")
    g.add_argument("--data-seed", type=int, default=0, help="synthetic: seed of the persons and splits (default: 0)")
    g.add_argument("--cache-dir", help="where rendered/preprocessed data are cached (default: ~/.cache/reidlib)")
    g.add_argument("--flow", default="lk", help="optical flow: lk, farneback, dis (default: lk)")
    g.add_argument("--no-flow", action="store_true", help="colour only (3 input channels instead of 5)")


def _add_train_args(p: argparse.ArgumentParser) -> None:
    from .training import PRESETS

    g = p.add_argument_group("training")
    g.add_argument(
        "--preset",
        default="quick",
        choices=list(PRESETS),
        help="training preset: the paper's schedules (ilidsvid, prid2011, sduvid) or CPU-sized ones",
    )
    g.add_argument(
        "--head",
        default="combined",
        help="temporal head: combined (the paper), mean, attention, "
        "softmax, rnn_attention, rcn, max (default: combined)",
    )
    for name, typ, what in [
        ("epochs", int, "number of epochs"),
        ("lr", float, "learning rate"),
        ("batch-size", int, "pairs per step (the paper: 1)"),
        ("window", int, "frames per window"),
        ("seed", int, "seed of pairs, augmentation, dropout and initial weights"),
        ("val-every", int, "epochs between validation rank-1 (0 = never)"),
        ("save-every", int, "epochs between checkpoints"),
    ]:
        g.add_argument(f"--{name}", type=typ, help=f"{what} (default: the preset's)")
    g.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    g.add_argument("--device", help="cuda, mps or cpu (default: the best available)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="reidlib",
        description="Video person re-identification, the book's library.",
        epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"reidlib {reidlib.__version__}")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("info", help="print the version, the profile and the device")

    t = sub.add_parser(
        "train", help="train on one split, then test on it; writes config, checkpoint, history and results to --out"
    )
    _add_data_args(t)
    _add_train_args(t)
    t.add_argument("--split", type=int, default=0, help="split index (default: 0)")
    t.add_argument("--out", required=True, help="run folder, e.g. runs/NAME")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")

    e = sub.add_parser("evaluate", help="test a checkpoint on splits of a dataset; writes results.json/.md")
    _add_data_args(e)
    e.add_argument("--checkpoint", required=True, help="a checkpoint.pt of a run, or a shipped weights file")
    e.add_argument("--splits", default="0", help="split indices: 0, 0-9, 0,3,5 or all (default: 0)")
    e.add_argument("--flip", action="store_true", help="test-time augmentation: average with the mirror image")
    e.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    e.add_argument("--out", help="where to write the results (default: the checkpoint's folder)")

    x = sub.add_parser(
        "experiment",
        help="the protocol: train and test on each split, mean and std; --test-dataset for cross-dataset testing",
    )
    _add_data_args(x)
    _add_train_args(x)
    x.add_argument("--splits", help="split indices: 0, 0-9, 0,3,5 or all (default: all)")
    x.add_argument(
        "--split",
        type=int,
        help="run only this split, as one job of an experiment spread over jobs; "
        "writes OUT/splitI/results.json (merge them with `collect`)",
    )
    x.add_argument(
        "--devices",
        help="spread the splits over GPUs, one split per GPU at a time: auto (every "
        "visible GPU) or indices such as 0,1,3",
    )
    x.add_argument("--test-dataset", choices=DATASETS, help="test on this dataset's test persons (cross-dataset)")
    x.add_argument("--flip", action="store_true", help="test-time augmentation: average with the mirror image")
    x.add_argument("--out", required=True, help="experiment folder, e.g. runs/NAME")

    c = sub.add_parser(
        "collect",
        help="merge the per-split results of an experiment (RUN/split*/results.json) "
        "into RUN/results.json and the mean ± std table RUN/results.md",
    )
    c.add_argument("run", help="the experiment folder (--out of `experiment`)")
    c.add_argument("--splits", help="the splits that must be there: 0-9, 0,3,5 (default: every split found)")

    sub.add_parser(
        "weights",
        add_help=False,  # its options are parsed by reidlib.training.shipped.main
        help="train and export the shipped weights (`make weights`; `weights --help` for options)",
    )
    return p


def _load(args, name: str | None = None):
    from .data import load_dataset
    from .preprocess import cache_root

    name = name or args.dataset
    if name == "synthetic":  # rendered once, kept beside the preprocessing cache
        return load_dataset(
            "synthetic",
            preset=args.synthetic,
            seed=args.data_seed,
            occlusion=args.occlusion,
            cache_dir=cache_root(args.cache_dir, "synthetic"),
        )
    return load_dataset(name, root=args.root)


def _preprocess(args, dataset):
    from .preprocess import preprocess_dataset
    from .training.distributed import is_main

    return preprocess_dataset(
        dataset, cache_dir=args.cache_dir, flow_method=args.flow, use_flow=not args.no_flow, progress=is_main()
    )


def _overrides(args) -> dict:
    keys = ("epochs", "lr", "batch_size", "window", "seed", "val_every", "save_every")
    out = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    return {**out, "amp": True} if args.amp else out


def _splits(text: str | None, dataset=None) -> list[int]:
    if text is None or text == "all":
        return list(range(dataset.num_splits))
    try:
        out = []
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            out += list(range(int(lo), int(hi or lo) + 1))
        return out
    except ValueError:
        raise SystemExit(f"--splits: expected e.g. 0, 0-9, 0,3,5 or all; found {text!r}.") from None


def _write(out: Path, name: str, summary: dict) -> None:
    from .evaluation import format_table

    out.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in summary.items() if k != "splits"}
    clean["splits"] = [{k: v for k, v in r.items() if not hasattr(v, "shape")} for r in summary["splits"]]
    (out / "results.json").write_text(json.dumps(clean, indent=1))
    table = format_table({name: summary})
    (out / "results.md").write_text(f"CMC (%) and mAP (%), mean ± std over {summary['n']} split(s)\n\n{table}\n")
    print(table)
    print(f"results: {out / 'results.json'}, {out / 'results.md'}")


def cmd_train(args) -> int:
    import torch

    from .evaluation import evaluate, summarize
    from .models import VideoReIDNet
    from .training import get_config, train
    from .training.distributed import is_main, rank_device

    ds = _load(args)
    data = _preprocess(args, ds)
    cfg = get_config(args.preset, **_overrides(args))
    torch.manual_seed(cfg.seed * 1000 + args.split)
    num_classes = len({t.pid for t in ds.split(args.split)[0]})
    model = VideoReIDNet(num_classes, head=args.head, in_channels=3 if args.no_flow else 5)
    model.to(rank_device(args.device))  # under torchrun: this rank's GPU
    train(model, ds, args.split, cfg, data=data, out_dir=args.out, resume=args.resume)
    if not is_main():  # the other ranks of a torchrun job only help to train
        return 0
    res = evaluate(model, ds, args.split, data=data)
    _write(Path(args.out), f"{args.head} ({ds.name}, split {args.split})", {**summarize([res]), "splits": [res]})
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate, summarize
    from .training import load_model

    model, ckpt = load_model(args.checkpoint, args.device or reidlib.device())
    ds = _load(args)
    if model.cnn.in_channels == 3:
        args.no_flow = True
    data = _preprocess(args, ds)
    results = [evaluate(model, ds, i, data=data, flip=args.flip) for i in _splits(args.splits, ds)]
    head = ckpt["model_config"]["head"]
    _write(
        Path(args.out) if args.out else Path(args.checkpoint).parent,
        f"{head} ({ds.name})",
        {**summarize(results), "splits": results, "checkpoint": str(args.checkpoint)},
    )
    return 0


def _run_split(args, ds, data, test, test_data, i: int, cfg) -> dict | None:
    """Train a fresh model on split i (resumed if OUT/split<i> has a checkpoint), test it, write its results.json."""
    import torch

    from .evaluation import evaluate
    from .models import VideoReIDNet
    from .training import train
    from .training.distributed import is_main, rank_device

    num_classes = len({t.pid for t in ds.split(i)[0]})  # split() explains a bad index
    torch.manual_seed(cfg.seed * 1000 + i)  # as reidlib.evaluation.evaluate_splits
    model = VideoReIDNet(num_classes, head=args.head, in_channels=3 if args.no_flow else 5)
    model.to(rank_device(args.device))
    run = Path(args.out) / f"split{i}"
    history = train(model, ds, i, cfg, data=data, out_dir=run, resume=True)
    if not is_main():
        return None
    res = evaluate(model, test or ds, i, data=test_data or data, flip=args.flip)
    res.update(
        train_dataset=ds.name,
        head=args.head,
        final_loss=history["loss"][-1] if history["loss"] else None,
        config=cfg.to_dict(),
    )
    (run / "results.json").write_text(json.dumps(res, indent=1))
    print(f"split {i}: rank-1 {res['rank1']:.1f}%  mAP {res['mAP']:.1f}%")
    return res


def collect(run: str | Path, splits: list[int] | None = None) -> tuple[str, dict]:
    """RUN/split*/results.json -> (table name, summary with mean, std, n and the per-split results)."""
    from .evaluation import summarize

    run = Path(run)
    found = {int(f.parent.name[5:]): f for f in run.glob("split*/results.json") if f.parent.name[5:].isdigit()}
    missing = sorted(set(splits or []) - set(found))
    if missing or not found:
        raise SystemExit(
            f"collect: no results for split(s) {missing or splits or 'any'} in {run} (found splits "
            f"{sorted(found)}). Run them first, e.g. `python -m reidlib experiment ... --split "
            f"{(missing or [0])[0]} --out {run}`, or collect fewer with --splits."
        )
    results = [json.loads(found[i].read_text()) for i in (splits or sorted(found))]
    keys = ("head", "train_dataset", "dataset", "config")
    kinds = {json.dumps([r.get(k) for k in keys], sort_keys=True) for r in results}
    if len(kinds) > 1:
        raise SystemExit(
            f"collect: the splits in {run} come from different experiments (they differ in "
            f"{', '.join(k for k in keys if len({json.dumps(r.get(k)) for r in results}) > 1)}); "
            "use one folder per experiment."
        )
    r = results[0]
    test = f" -> {r['dataset']}" if r["dataset"] != r["train_dataset"] else ""
    summary = {
        **summarize(results),
        "splits": results,
        "head": r["head"],
        "config": r["config"],
        "train_dataset": r["train_dataset"],
        "test_dataset": r["dataset"],
    }
    return f"{r['head']} ({r['train_dataset']}{test})", summary


def _spread(args) -> int:
    """Run each split as its own `experiment --split I` process, one per GPU at a time, then collect."""
    import os
    import subprocess
    import sys

    import torch

    from .training.distributed import spread

    if args.split is not None:
        raise SystemExit("--devices spreads several splits; give them with --splits, not --split.")
    devices = (
        [str(d) for d in range(torch.cuda.device_count())]
        if args.devices == "auto"
        else [d.strip() for d in args.devices.split(",") if d.strip()]
    )
    if not devices:
        raise SystemExit(
            f"--devices {args.devices}: no GPU is visible here. Run without --devices to train the "
            "splits one after another, or give GPU indices such as 0,1."
        )
    splits = _splits(args.splits, _load(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    argv = _argv(build_parser(), args, skip={"command", "devices", "splits", "split"})

    def launch(i: int, device: str):
        log = open(out / f"split{i}.log", "w")
        print(f"split {i} -> GPU {device} (log: {log.name})")
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": device}
        return subprocess.Popen(
            [sys.executable, "-m", "reidlib", "experiment", *argv, "--split", str(i)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    failed = {i: c for i, c in spread(splits, devices, launch).items() if c != 0}
    if failed:
        raise SystemExit(
            f"split(s) {sorted(failed)} failed (exit codes {failed}); see {out}/split<i>.log. Rerun "
            "the same command: finished splits are kept, cut-off ones resume."
        )
    _write(out, *collect(out, splits))
    return 0


def _argv(parser: argparse.ArgumentParser, args, skip: set[str]) -> list[str]:
    """The options of ``args`` that differ from the defaults of its subcommand, as command-line words."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
    words = []
    for a in sub._actions:
        value = getattr(args, a.dest, None)
        if not a.option_strings or a.dest in skip or a.dest == "help" or value is None or value == a.default:
            continue
        words += [a.option_strings[-1]] if a.nargs == 0 else [a.option_strings[-1], str(value)]
    return words


def cmd_experiment(args) -> int:
    from .training import get_config
    from .training.distributed import is_main

    if args.devices:
        return _spread(args)
    if args.split is not None and args.splits is not None:
        raise SystemExit(
            "give --split I (one job of a spread experiment) or --splits (this process runs them all), not both."
        )
    ds = _load(args)
    test = _load(args, args.test_dataset) if args.test_dataset else None
    data, test_data = _preprocess(args, ds), test and _preprocess(args, test)
    cfg = get_config(args.preset, **_overrides(args))
    splits = [args.split] if args.split is not None else _splits(args.splits, ds)
    for i in splits:
        _run_split(args, ds, data, test, test_data, i, cfg)
    if not is_main():
        return 0
    if args.split is not None:
        print(f"split {args.split} done; when every split is, merge them: python -m reidlib collect {args.out}")
    else:
        _write(Path(args.out), *collect(args.out, splits))
    return 0


def cmd_collect(args) -> int:
    _write(Path(args.run), *collect(args.run, None if args.splits in (None, "all") else _splits(args.splits)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "weights":
        from .training.shipped import main as weights_main

        return weights_main(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "info":
        print(f"reidlib {reidlib.__version__}  profile={reidlib.profile()}  device={reidlib.device()}")
        return 0
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "experiment": cmd_experiment, "collect": cmd_collect}
    if args.command in commands:
        return commands[args.command](args)
    parser.print_help()
    return 0
