"""Command line: ``python -m reidlib info | train | evaluate | experiment | collect | weights``.

The options of ``train`` and ``experiment`` are the fields of
:class:`reidlib.experiments.ExperimentConfig` (``--data.*``, ``--model.*``, ``--train.*``,
``--test_data.*``, ``--flip``, ``--rerank``), generated from the dataclasses by jsonargparse; ``--schedule``
starts the ``--train.*`` settings from a named schedule, and ``--config RUN/config.yaml``
repeats a run. Examples:

  python -m reidlib train --data.preset quick --schedule demo --out runs/try
  python -m reidlib train --config runs/try/config.yaml --out runs/again      # the same run again
  python -m reidlib evaluate --checkpoint runs/try/checkpoint.pt --data.preset quick --splits 0
  python -m reidlib experiment --data.dataset prid2011 --schedule prid2011 --out runs/prid
  python -m reidlib experiment --data.dataset ilidsvid --test_data.dataset prid2011 --out runs/cross
  torchrun --nproc_per_node=4 -m reidlib train --schedule ilidsvid --train.batch_size 4 --out runs/ddp
  python -m reidlib experiment --data.dataset prid2011 --schedule prid2011 --devices auto --out runs/prid
  python -m reidlib experiment --config runs/prid/config.yaml --split 3 --out runs/prid   # one job of many
  python -m reidlib collect runs/prid --splits 0-9      # merge the jobs' results: mean and std

User errors (a missing dataset, a wrong option, a diverged run) print one message; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentParser

import reidlib

from .experiments import (
    SHIPPED_HEADS,
    DataConfig,
    ExperimentConfig,
    collect,
    evaluate_checkpoint,
    make_weights,
    run_on_devices,
    run_split,
    save_config,
    summary_name,
    summary_of,
    write_summary,
    write_table,
)
from .experiments.run import load_data
from .training import SCHEDULES
from .training.distributed import is_main, rank_device

os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")
USER_ERRORS = (ValueError, OSError, FloatingPointError, IndexError, RuntimeError)


def parse_splits(text: str | None, num_splits: int | None = None) -> list[int] | None:
    """'0', '0-9', '0,3,5' or 'all' -> split indices; None or 'all' -> every split (``num_splits``)."""
    if text is None or text == "all":
        return None if num_splits is None else list(range(num_splits))
    try:
        out = []
        for part in str(text).split(","):
            lo, _, hi = part.partition("-")
            out += list(range(int(lo), int(hi or lo) + 1))
        return out
    except ValueError:
        raise ValueError(f"splits: expected e.g. 0, 0-9, 0,3,5 or all; found {text!r}.") from None


def _experiment_parser(prog: str, description: str, schedule: str | None) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=description)
    p.add_argument("--config", action=ActionConfigFile, help="a config.yaml of a run, to repeat it")
    p.add_argument(
        "--schedule",
        choices=list(SCHEDULES),
        help="start the --train.* settings from this schedule: the paper's (ilidsvid, prid2011, sduvid), "
        "short (the shipped weights' budget) or demo",
    )
    p.add_class_arguments(ExperimentConfig, None)
    if schedule in SCHEDULES:  # the schedule's settings become the defaults of the --train.* options
        p.set_defaults({f"train.{k}": v for k, v in asdict(SCHEDULES[schedule]).items()})
    p.add_argument("--out", type=str, required=True, help="run folder, e.g. runs/NAME")
    p.add_argument("--device", type=str | None, default=None, help="cuda, mps or cpu (default: the best available)")
    return p


def build_parser(schedule: str | None = None) -> ArgumentParser:
    """The command line; ``schedule`` (the value of --schedule) sets the defaults of --train.*."""
    root = ArgumentParser(prog="reidlib", description="Video person re-identification, the book's library.")
    root.add_argument("--version", action="version", version=f"reidlib {reidlib.__version__}")
    root.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = root.add_subcommands(required=True)
    sub.add_subcommand("info", ArgumentParser(), help="print the version, the profile and the device")

    t = _experiment_parser(
        "reidlib train",
        "train on one split, then test on it; writes config.yaml, checkpoint.pt, history.json and "
        "results.json to --out",
        schedule,
    )
    t.add_argument("--split", type=int, default=0, help="split index")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    sub.add_subcommand("train", t, help="train and test one split")

    x = _experiment_parser("reidlib experiment", "the protocol: train and test on each split, mean ± std", schedule)
    x.add_argument("--splits", type=str | None, default=None, help="split indices: 0, 0-9, 0,3,5 or all (default)")
    x.add_argument(
        "--split",
        type=int | None,
        default=None,
        help="run only this split, as one job of an experiment spread over jobs (merge with `collect`)",
    )
    x.add_argument(
        "--devices",
        type=str | None,
        default=None,
        help="spread the splits over GPUs, one split per GPU at a time: auto or indices such as 0,1,3",
    )
    sub.add_subcommand("experiment", x, help="train and test on each split; mean ± std")

    e = ArgumentParser(prog="reidlib evaluate", description="test a checkpoint on splits of a dataset")
    e.add_argument("--checkpoint", type=str, required=True, help="a run's checkpoint.pt, or a shipped weights file")
    e.add_class_arguments(DataConfig, "data")
    e.add_argument("--splits", type=str, default="0", help="split indices: 0, 0-9, 0,3,5 or all")
    e.add_argument("--flip", type=bool, default=False, help="test-time augmentation: average with the mirror image")
    e.add_argument(
        "--rerank",
        type=dict | None,
        default=None,
        help='k-reciprocal re-ranking with these options, e.g. {"k1": 20, "k2": 6, "lambda_value": 0.3} ({}: those)',
    )
    e.add_argument(
        "--exclude_seen",
        type=bool,
        default=False,
        help="leave out splits whose test persons the model was trained on (else: an error)",
    )
    e.add_argument("--device", type=str | None, default=None, help="cuda, mps or cpu")
    e.add_argument("--out", type=str | None, default=None, help="where to write results (default: the checkpoint's)")
    sub.add_subcommand("evaluate", e, help="test a checkpoint; writes results.json/.md")

    c = ArgumentParser(prog="reidlib collect", description="merge RUN/split*/results.json into RUN/results.json")
    c.add_argument("run", type=str, help="the experiment folder (--out of `experiment`)")
    c.add_argument("--splits", type=str | None, default=None, help="the splits that must be there (default: all)")
    sub.add_subcommand("collect", c, help="merge the per-split results of an experiment")

    w = ArgumentParser(prog="reidlib weights", description="train and export the shipped weights (make weights)")
    w.add_argument("--heads", type=list[str], default=list(SHIPPED_HEADS), help="heads to train")
    w.add_argument("--out", type=str | None, default=None, help="where to write the weights (default: reidlib/weights)")
    w.add_argument("--work", type=str, default="runs/weights", help="folder of the runs (resumed when present)")
    w.add_argument("--epochs", type=int | None, default=None, help="override the recipe's epochs")
    w.add_argument("--device", type=str | None, default=None, help="where to train: cpu, cuda, mps")
    sub.add_subcommand("weights", w, help="train and export the shipped weights")
    return root


def _schedule(argv: list[str]) -> str | None:
    """The value of --schedule in ``argv`` (it decides the parser's defaults, so it is read first)."""
    for i, a in enumerate(argv):
        if a == "--schedule" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--schedule="):
            return a.split("=", 1)[1]
    return None


def cmd_train(args) -> int:
    config = _experiment(args)
    rank_device(args.device)  # an unusable device fails here, before any work
    res = run_split(config, args.split, out_dir=args.out, resume=args.resume, device=args.device)
    if res is not None:  # results.json holds the split's result; results.md its table
        print(write_table(args.out, summary_of([res])))
        print(f"results: {Path(args.out) / 'results.json'}, {Path(args.out) / 'results.md'}")
    return 0


def cmd_experiment(args) -> int:
    config = _experiment(args)
    if args.split is not None and args.splits is not None:
        raise ValueError(
            "give --split I (one job of a spread experiment) or --splits (this process runs them all), not both."
        )
    out = Path(args.out)
    if args.devices:
        return _on_devices(config, args, out)
    rank_device(args.device)
    if args.split is not None:
        run_split(config, args.split, out_dir=out / f"split{args.split}", resume=True, device=args.device)
        if is_main():
            print(f"split {args.split} done; when every split is, merge them: python -m reidlib collect {out}")
        return 0
    data = load_data(config.data)
    test = load_data(config.test_data) if config.test_data is not None else None
    save_config(config, out)
    for i in parse_splits(args.splits, data.dataset.num_splits):
        res = run_split(config, i, out_dir=out / f"split{i}", resume=True, device=args.device, data=data, test=test)
        if res is not None:
            print(f"split {i}: rank-1 {res['rank1']:.1f}%  mAP {res['mAP']:.1f}%")
    if is_main():
        _print_summary(out, collect(out, parse_splits(args.splits, data.dataset.num_splits)))
    return 0


def _on_devices(config: ExperimentConfig, args, out: Path) -> int:
    import torch

    if args.split is not None:
        raise ValueError("--devices spreads several splits; give them with --splits, not --split.")
    devices = (
        [str(d) for d in range(torch.cuda.device_count())]
        if args.devices == "auto"
        else [d.strip() for d in args.devices.split(",") if d.strip()]
    )
    if not devices:
        raise ValueError(
            f"--devices {args.devices}: no GPU is visible here. Run without --devices to train the "
            "splits one after another, or give GPU indices such as 0,1."
        )
    splits = parse_splits(args.splits, load_data(config.data, progress=False).dataset.num_splits)
    out.mkdir(parents=True, exist_ok=True)
    failed = {i: c for i, c in run_on_devices(config, splits, devices, out).items() if c != 0}
    if failed:
        raise RuntimeError(
            f"split(s) {sorted(failed)} failed (exit codes {failed}); see {out}/split<i>.log. Rerun "
            "the same command: finished splits are kept, cut-off ones resume."
        )
    _print_summary(out, collect(out, splits))
    return 0


def cmd_evaluate(args) -> int:
    rank_device(args.device)
    summary = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        parse_splits(args.splits),
        flip=args.flip,
        device=args.device,
        exclude_seen=args.exclude_seen,
        rerank=args.rerank,
    )
    _print_summary(Path(args.out) if args.out else Path(args.checkpoint).parent, summary)
    return 0


def cmd_collect(args) -> int:
    _print_summary(Path(args.run), collect(args.run, parse_splits(args.splits)))
    return 0


def cmd_weights(args) -> int:
    rank_device(args.device)
    unknown = sorted(set(args.heads) - set(SHIPPED_HEADS))
    if unknown:
        raise ValueError(f"--heads: {unknown} are not shipped heads; choose from {list(SHIPPED_HEADS)}.")
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    make_weights(args.heads, args.out, args.work, device=args.device, **overrides)
    return 0


def _experiment(args) -> ExperimentConfig:
    return ExperimentConfig(
        data=args.data,
        model=args.model,
        train=args.train,
        test_data=args.test_data,
        flip=args.flip,
        rerank=args.rerank,
    )


def _print_summary(out: Path, summary: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    print(write_summary(out, summary))
    print(f"{summary_name(summary)}: {summary['n']} split(s); results: {out / 'results.json'}, {out / 'results.md'}")


COMMANDS = {
    "train": cmd_train,
    "experiment": cmd_experiment,
    "evaluate": cmd_evaluate,
    "collect": cmd_collect,
    "weights": cmd_weights,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_schedule(argv))
    ns = parser.parse_args(argv)
    if ns.subcommand == "info":
        print(f"reidlib {reidlib.__version__}  profile={reidlib.profile()}  device={reidlib.device()}")
        return 0
    try:
        args = parser.instantiate(ns)  # the configs check their settings: a bad one is a user error
        return COMMANDS[ns.subcommand](args[ns.subcommand])
    except USER_ERRORS as e:
        if ns.debug:
            raise
        print(f"reidlib {ns.subcommand}: error: {e}\n(--debug shows the traceback)", file=sys.stderr)
        return 1
