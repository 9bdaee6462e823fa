"""Command line (chapters 8 and 12): ``python -m reidlib info | train | evaluate | experiment | collect | weights``.

The options of ``train`` and ``experiment`` are the fields of
:class:`reidlib.experiments.ExperimentConfig` (``--data.*``, ``--model.*``, ``--train.*``,
``--test_data.*``, ``--flip``, ``--rerank``), generated from the dataclasses by jsonargparse; ``--schedule``
starts the ``--train.*`` settings from a named schedule, and ``--config RUN/config.yaml``
repeats a run: its settings are the defaults, and every option given on the command line,
``--schedule`` and ``--out`` included, beats them. Examples:

  python -m reidlib train --data.preset quick --schedule demo --out runs/try
  python -m reidlib train --config runs/try/config.yaml --out runs/again      # the same run again
  python -m reidlib evaluate --checkpoint runs/try/checkpoint.pt --data.preset quick --splits 0
  python -m reidlib experiment --data.dataset prid2011 --schedule prid2011 --out runs/prid
  python -m reidlib experiment --data.dataset ilidsvid --test_data.dataset prid2011 --out runs/cross
  torchrun --nproc_per_node=4 -m reidlib train --schedule ilidsvid --train.batch_size 4 --out runs/ddp
  python -m reidlib experiment --data.dataset prid2011 --schedule prid2011 --devices auto --out runs/prid
  python -m reidlib experiment --config runs/prid/config.yaml --split 3 --out runs/prid   # one job of many
  python -m reidlib collect runs/prid --splits 0-9      # merge the jobs' results: mean and std

User errors (a missing dataset, a wrong option, a diverged run, a run folder that is in use or
holds something else) print one message; ``--debug`` (anywhere on the line) shows the traceback.
Nothing is written to a run folder before every check has passed; ``--overwrite`` replaces a
folder's old run, ``--resume`` continues it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import asdict
from pathlib import Path

from jsonargparse import ArgumentParser

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
from .experiments.config import RUN_KEYS, load_config
from .experiments.run import claim_run_folder, evaluation_folder, load_data
from .training import SCHEDULES
from .training.distributed import is_main, rank_device

os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")
USER_ERRORS = (ValueError, OSError, FloatingPointError, IndexError, RuntimeError)


def parse_splits(text: str | None, num_splits: int | None = None) -> list[int] | None:
    """'0', '0-9', '0,3,5' or 'all' -> split indices; None or 'all' -> every split (``num_splits``)."""
    if text is None or text == "all":
        return None if num_splits is None else list(range(num_splits))
    expected = f"splits: expected e.g. 0, 0-9, 0,3,5 or all; found {str(text)[:40]!r}"
    try:
        out = []
        for part in str(text).split(","):
            lo, _, hi = part.partition("-")
            lo, hi = int(lo), int(hi or lo)
            if lo < 0 or hi < lo:
                raise ValueError(f"{expected} (a range goes up: 2-5, not 5-2).")
            out += list(range(lo, hi + 1))
    except ValueError as e:
        raise ValueError(str(e) if str(e).startswith(expected) else f"{expected}.") from None
    if num_splits is not None and max(out) >= num_splits:
        raise ValueError(f"{expected}: the dataset has {num_splits} splits, 0..{num_splits - 1}.")
    return out


def _experiment_parser(prog: str, description: str, schedule: str | None) -> ArgumentParser:
    p = ArgumentParser(prog=prog, description=description)
    p.add_argument(
        "--config",
        type=str | None,
        default=None,
        help="a config.yaml of a run, to repeat it: its settings are the defaults; options given here beat them",
    )
    p.add_argument(
        "--schedule",
        choices=list(SCHEDULES),
        help="start the --train.* settings from this schedule: the paper's (ilidsvid, prid2011, sduvid), "
        "short (the shipped weights' budget) or demo",
    )
    p.add_class_arguments(ExperimentConfig, None)
    if schedule in SCHEDULES:  # the schedule's settings become the defaults of the --train.* options
        p.set_defaults({f"train.{k}": v for k, v in asdict(SCHEDULES[schedule]).items()})
    p.add_argument("--out", type=str | None, default=None, help="run folder, e.g. runs/NAME (required)")
    p.add_argument("--device", type=str | None, default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an --out that holds another run or other files (reidlib's files there are replaced)",
    )
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
    e.add_argument(
        "--out",
        type=str | None,
        default=None,
        help="folder for results.json/.md (default: a new evaluate-<dataset> folder beside the checkpoint, or "
        "under runs/ for the shipped weights)",
    )
    e.add_argument("--overwrite", action="store_true", help="write into an --out that holds other files")
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
    res = run_split(
        config, args.split, out_dir=args.out, resume=args.resume, device=args.device, overwrite=args.overwrite
    )
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
        devices = _devices(args.devices)
        with claim_run_folder(out, config, resume=True, overwrite=args.overwrite):
            return _on_devices(config, args, out, devices)
    rank_device(args.device)
    if args.split is not None:  # one job of a spread experiment: it holds its split's folder only
        run_split(
            config,
            args.split,
            out_dir=out / f"split{args.split}",
            resume=True,
            device=args.device,
            overwrite=args.overwrite,
        )
        if is_main():
            print(f"split {args.split} done; when every split is, merge them: python -m reidlib collect {out}")
        return 0
    with claim_run_folder(out, config, resume=True, overwrite=args.overwrite) if is_main() else _nothing():
        data = load_data(config.data)
        test = load_data(config.test_data) if config.test_data is not None else None
        splits = parse_splits(args.splits, data.dataset.num_splits)
        if is_main():
            save_config(config, out)
        for i in splits:
            res = run_split(config, i, out_dir=out / f"split{i}", resume=True, device=args.device, data=data, test=test)
            if res is not None:
                print(f"split {i}: rank-1 {res['rank1']:.1f}%  mAP {res['mAP']:.1f}%")
        if is_main():
            _print_summary(out, collect(out, splits))
    return 0


@contextlib.contextmanager
def _nothing():
    yield


def _devices(text: str) -> list[str]:
    """``--devices``: "auto" (every visible GPU) or GPU indices such as 0,1,3, each checked to exist."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if text == "auto":
        devices = [str(d) for d in range(count)]
    else:
        devices = [d.strip() for d in text.split(",") if d.strip()]
        bad = [d for d in devices if not d.isdigit() or int(d) >= count]
        if bad or len(set(devices)) < len(devices):
            seen = f"GPUs 0..{count - 1}" if count else "no GPU (a CPU-only machine or torch build)"
            raise ValueError(
                f"--devices {text}: {bad or 'a repeated index'} not usable; this machine has {seen}. Give distinct "
                "indices of those, or run without --devices to train the splits one after another."
            )
    if not devices:
        raise ValueError(
            f"--devices {text}: no GPU is visible here. Run without --devices to train the "
            "splits one after another, or give GPU indices such as 0,1."
        )
    return devices


def _on_devices(config: ExperimentConfig, args, out: Path, devices: list[str]) -> int:
    if args.split is not None:
        raise ValueError("--devices spreads several splits; give them with --splits, not --split.")
    splits = parse_splits(args.splits, load_data(config.data, progress=False).dataset.num_splits)
    failed = {i: c for i, c in run_on_devices(config, splits, devices, out).items() if c != 0}
    if failed:
        raise RuntimeError(
            f"split(s) {sorted(failed)} failed (exit codes {failed}); see {out}/split<i>.log. Rerun "
            "the same command: finished splits are kept, cut-off ones resume."
        )
    _print_summary(out, collect(out, splits))
    return 0


def cmd_evaluate(args, given: set[str]) -> int:
    rank_device(args.device)
    splits = parse_splits(args.splits)
    out = Path(args.out) if args.out else None
    if out is not None:  # refused before any work when it is the package or holds something else
        evaluation_folder(args.checkpoint, args.data, out, overwrite=args.overwrite)
    summary = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        splits,
        flip=args.flip,
        device=args.device,
        exclude_seen=args.exclude_seen,
        rerank=args.rerank,
        use_flow=args.data.use_flow if "data.use_flow" in given else None,
    )
    _print_summary(out or evaluation_folder(args.checkpoint, args.data), summary)
    return 0


def cmd_collect(args) -> int:
    _print_summary(Path(args.run), collect(args.run, parse_splits(args.splits)))
    return 0


def cmd_weights(args) -> int:
    rank_device(args.device)
    if not args.heads:
        raise ValueError(f"--heads is empty: nothing to train. Give some of {list(SHIPPED_HEADS)}, or leave it out.")
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


def parse(argv: list[str]) -> tuple[str, object]:
    """The command line ``argv`` (without ``--debug``) -> (subcommand, its arguments, instantiated: the
    configs built and checked). ``--config FILE`` is read by :func:`reidlib.experiments.load_config`, its
    settings become the defaults, and every option given beats them. Bad settings raise a user error;
    unknown options exit (SystemExit 2) with the parser's usage message."""
    command = next((a for a in argv if not a.startswith("-")), "")
    config_file, argv = _take_config(argv)
    parser = build_parser(_schedule(argv))
    if config_file is not None:
        _config_defaults(parser, command, config_file, _schedule(argv))
    ns = parser.parse_args(argv)
    if ns.subcommand == "info":
        return "info", ns
    args = parser.instantiate(ns)[ns.subcommand]  # the configs check their settings: a bad one is a user error
    if ns.subcommand in ("train", "experiment") and not args.out:
        raise ValueError(f"--out is required: the run folder, e.g. runs/NAME (python -m reidlib {command} --help).")
    return ns.subcommand, args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere, before or after the subcommand
    argv = [a for a in argv if a != "--debug"]
    command = next((a for a in argv if not a.startswith("-")), "reidlib")
    try:
        command, args = parse(argv)
        if command == "info":
            print(f"reidlib {reidlib.__version__}  profile={reidlib.profile()}  device={reidlib.device()}")
            return 0
        if command == "evaluate":
            return cmd_evaluate(args, _given(argv))
        return COMMANDS[command](args)
    except USER_ERRORS as e:
        return _user_error(command, e, debug)


def _user_error(command: str, error: BaseException, debug: bool) -> int:
    if debug:
        raise error
    message = str(error)
    if isinstance(error, OSError) and error.strerror:  # not "[Errno 28] ..."; the path when the error names one
        message = error.strerror + (f": {error.filename}" if error.filename else "")
    message = " ".join(message.split("\n")) if message.count("\n") < 2 else message
    print(f"reidlib {command}: error: {message}\n(--debug shows the traceback)", file=sys.stderr)
    return 1


def _take_config(argv: list[str]) -> tuple[str | None, list[str]]:
    """``argv`` without its ``--config PATH`` -> (PATH or None, the rest): the file is read by
    :func:`reidlib.experiments.load_config`, never by the argument parser (which would let a config name
    further files and let its keys beat the command line)."""
    rest, found = [], []
    it = iter(argv)
    for a in it:
        if a == "--config":
            value = next(it, None)
            if value is None:
                raise ValueError("--config needs a path: a run's config.yaml.")
            found.append(value)
        elif a.startswith("--config="):
            found.append(a.split("=", 1)[1])
        else:
            rest.append(a)
    if len(found) > 1:
        raise ValueError(f"--config was given {len(found)} times; give one config.yaml (options beat its settings).")
    return (found[0] if found else None), rest


def _config_defaults(parser: ArgumentParser, command: str, path: str, schedule: str | None) -> None:
    """Make the settings of the config file ``path`` the defaults of ``command``'s options; --schedule's
    training settings go on top (the command line beats the file), and explicit options on top of both."""
    if command not in ("train", "experiment"):
        raise ValueError(f"--config is an option of train and experiment, not of {command or 'the command line'}.")
    config, extra = load_config(path)
    sub = parser._subcommands_action._name_parser_map[command]
    if command == "train" and extra.get("splits") is not None:
        raise ValueError(f"{path}: splits is a setting of experiment; train runs one split (split:).")
    defaults = {}
    for group in ("data", "model", "train"):
        defaults.update({f"{group}.{k}": v for k, v in config.to_dict()[group].items()})
    defaults.update(test_data=config.to_dict()["test_data"], flip=config.flip, rerank=config.rerank)
    defaults.update({k: v for k, v in extra.items() if k in RUN_KEYS and v is not None})
    if command == "train":
        defaults.pop("splits", None)
    sub.set_defaults(defaults)
    if schedule in SCHEDULES:
        sub.set_defaults({f"train.{k}": v for k, v in asdict(SCHEDULES[schedule]).items()})


def _given(argv: list[str]) -> set[str]:
    """The option names (without --) given on the command line."""
    return {a[2:].split("=", 1)[0] for a in argv if a.startswith("--")}
