"""Running experiments: the one place where a model is seeded, built, trained and evaluated (chapters 8 and 9).

:func:`run_split` does it for one split (and writes the run folder); :func:`evaluate_splits`
repeats it over splits (the paper's protocol: mean ± std over 10 random person splits);
:func:`collect` merges runs made as separate jobs; :func:`evaluate_checkpoint` tests a
trained model on splits whose test persons it has not seen. Like torchreid's engine, this
layer calls training and the metrics; neither of them calls it.

A run folder is claimed before anything is written to it (:func:`claim_run_folder`): one process
at a time holds it, and a folder that holds other files, or a run of another configuration, is
refused unless the caller resumes that run or asks to overwrite it. ``config.yaml`` is written
only once every check, the resume check included, has passed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

import reidlib

from .._io import LOCK, atomic_write_text, folder_lock, temp_files
from ..data import VideoReIDDataset, load_dataset
from ..evaluation import evaluate, evaluate_tracklets, format_table, summarize
from ..models import VideoReIDNet, load_imagenet_weights, load_model
from ..preprocess import PreprocessedDataset, cache_root, channels, preprocess_dataset
from ..training import CHECKPOINT, HISTORY, train
from ..training.checkpoint import RUN_FILES
from ..training.config import RUNTIME_FIELDS
from ..training.distributed import is_main, rank_device
from .config import CONFIG, DataConfig, ExperimentConfig, load_config, save_config

RESULTS = "results.json"
PACKAGE = Path(reidlib.__file__).resolve().parent  # the installed library: never a place for results


@dataclass(frozen=True)
class Data:
    """A dataset and its preprocessed frames."""

    dataset: VideoReIDDataset
    prepared: PreprocessedDataset


def load_data(config: DataConfig, progress: bool = True) -> Data:
    """The dataset of ``config`` (rendered or read once, then cached) and its preprocessed frames."""
    if config.dataset == "synthetic":
        ds = load_dataset(
            "synthetic",
            preset=config.preset,
            seed=config.seed,
            occlusion=config.occlusion,
            cache_dir=cache_root(config.cache_dir, "synthetic"),
            progress=progress,
        )
    else:
        ds = load_dataset(config.dataset, root=config.root)
    prepared = preprocess_dataset(
        ds, cache_dir=config.cache_dir, flow_method=config.flow, use_flow=config.use_flow, progress=progress
    )
    return Data(ds, prepared)


def initial_model(config: ExperimentConfig, dataset: VideoReIDDataset, split: int) -> nn.Module:
    """The untrained model of ``split``: one identity class per training person, weights seeded by
    (training seed, split), so every head and every rerun starts from the same draw; with
    ``config.model.imagenet`` its ResNet-18 backbone then takes the ImageNet weights that fit."""
    num_classes = len({t.pid for t in dataset.split(split)[0]})  # split() explains a bad index
    torch.manual_seed(config.train.seed * 1000 + split)
    model = VideoReIDNet(num_classes, **config.model.arguments(config.data.use_flow))
    if config.model.imagenet:
        load_imagenet_weights(model.cnn, progress=False)
    return model


def run_split(
    config: ExperimentConfig,
    split: int,
    *,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
    data: Data | None = None,
    test: Data | None = None,
    details: bool = False,
    overwrite: bool = False,
) -> dict | None:
    """Seed, build, train and evaluate one split -> its results (%), or None on the helper ranks of torchrun.

    Args:
        config: the experiment.
        split: which split of ``config.data``'s dataset trains (and, without ``test_data``, tests).
        out_dir: the run folder: config.yaml, checkpoint.pt, history.json, results.json (claimed first:
            :func:`claim_run_folder`).
        resume: continue the run in ``out_dir`` when it has a checkpoint.
        overwrite: start afresh in an ``out_dir`` that holds another run or other files (reidlib's files
            of the old run are removed; others stay).
        device: where to train (default: :func:`reidlib.training.distributed.rank_device`).
        data, test: the loaded training and test data (None: loaded here from the config).
        details: add the trained ``model`` and the evaluation details (features, scores, tracklets).
    """
    out = None if out_dir is None else Path(out_dir)
    claim = out is not None and is_main()
    with claim_run_folder(out, config, resume=resume, overwrite=overwrite, split=int(split)) if claim else _nothing():
        data = data or load_data(config.data, progress)
        if config.test_data is not None:
            test = test or load_data(config.test_data, progress)
        model = initial_model(config, data.dataset, split).to(rank_device(device))
        _, query, gallery = data.dataset.split(split)
        t0 = time.perf_counter()
        history = train(
            model,
            data.dataset,
            split,
            config.train,
            data=data.prepared,
            out_dir=out,
            resume=resume,
            progress=progress,
            validate=(lambda m: evaluate_tracklets(m, query, gallery, data=data.prepared)["rank1"]) if query else None,
            on_start=(lambda: save_config(config, out, split=int(split))) if claim else None,
        )
        if not is_main():  # the other ranks of a torchrun job only help to train
            return None
        target = test or data
        res = evaluate(
            model, target.dataset, split, data=target.prepared, flip=config.flip, details=details, rerank=config.rerank
        )
        res.update(
            train_dataset=data.dataset.name,
            head=config.model.head,
            final_loss=history["loss"][-1] if history["loss"] else None,
            train_seconds=round(time.perf_counter() - t0, 1),
            config=config.to_dict(),
        )
        if out is not None:
            atomic_write_text(out / RESULTS, json.dumps(_plain(res), indent=1))
    if details:
        res["model"] = model
    return res


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def run_settings(config: ExperimentConfig, **extra) -> dict:
    """What two configs must share to be the same run: everything but the cache folders and the training
    fields that only say how a run is watched (``RUNTIME_FIELDS``: epochs may grow on resume)."""
    d = config.to_dict()
    for key in ("data", "test_data"):
        if d.get(key):
            d[key] = {**d[key], "cache_dir": None}
    d["train"] = {k: v for k, v in d["train"].items() if k not in RUNTIME_FIELDS}
    return {**d, **extra}


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every leaf that differs between two nested dicts."""
    out = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {_short(a)} -> {_short(b)}")
    return out


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _own_entries(folder: Path) -> list[Path]:
    """What a folder holds besides reidlib's lock file and the temporaries of its killed writes."""
    temps = set(temp_files(folder, legacy_names=RUN_FILES))
    return sorted(p for p in folder.iterdir() if p.name != LOCK and p not in temps)


def check_writable_place(folder: Path, what: str = "--out") -> None:
    """Refuse a place for results inside the installed reidlib package (its files belong to the package)."""
    resolved = folder.resolve()
    if resolved == PACKAGE or PACKAGE in resolved.parents:
        raise ValueError(
            f"{what} {folder} is inside the installed reidlib package ({PACKAGE}); results never go there (a "
            "reinstall would lose them, and they would shadow the shipped files). Choose a folder of yours, e.g. "
            "runs/NAME."
        )


@contextlib.contextmanager
def claim_run_folder(
    out: str | os.PathLike,
    config: ExperimentConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    **extra,
) -> Iterator[Path]:
    """Hold the run folder ``out`` for this process (created if new) while the block runs, after checking
    that the run may write there; nothing in it is changed before the checks have passed.

    The folder may be new or empty, or hold a reidlib run of the same configuration (``run_settings``,
    with ``extra`` such as ``split``), whose checkpoint is then continued with ``resume`` (else refused,
    as ``train`` would). A folder that holds a run of another configuration, or other files, is refused
    unless ``overwrite``: then reidlib's files of the old run (``RUN_FILES`` and ``split<i>/`` runs) are
    removed before the block and the user's other files are left alone. A second process gets a
    :class:`~reidlib._io.FolderBusyError`.
    """
    out = Path(out)
    check_writable_place(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; expected a folder for the run. Choose another path.")
    with folder_lock(out, "the run folder"):
        _check_run_folder(out, config, resume, overwrite, extra)
        if overwrite:
            _remove_run_files(out)
        yield out


def _check_run_folder(out: Path, config: ExperimentConfig, resume: bool, overwrite: bool, extra: dict) -> None:
    entries = _own_entries(out)
    if not entries or overwrite:
        return
    advice = "Choose a new or empty folder, or pass --overwrite (overwrite=True) to replace the run's files there"
    if (out / CONFIG).exists():
        try:
            old, old_extra = load_config(out / CONFIG)
        except ValueError as e:
            raise FileExistsError(
                f"--out {out} holds a config.yaml that is not a reidlib run's ({str(e)[:200]}); writing there "
                f"would replace it. {advice}."
            ) from None
        diff = _differences(run_settings(old, **{k: old_extra.get(k) for k in extra}), run_settings(config, **extra))
        if diff:
            raise FileExistsError(
                f"--out {out} holds a run of another configuration ({'; '.join(diff[:4])}"
                f"{'; ...' if len(diff) > 4 else ''}); nothing was changed. To continue that run, repeat it with "
                f"--config {out / CONFIG} --resume. {advice}."
            )
    elif not (resume and (out / CHECKPOINT).exists()):
        names = [p.name + ("/" if p.is_dir() else "") for p in entries]
        raise FileExistsError(
            f"--out {out} is not empty ({len(names)} entries, e.g. {names[:3]}) and holds no reidlib run (no "
            f"config.yaml); writing there could replace your files. {advice} (your other files are kept)."
        )
    if (out / CHECKPOINT).exists() and not resume:
        raise FileExistsError(
            f"{out / CHECKPOINT} exists: pass --resume (resume=True) to continue that run; nothing was changed. "
            f"{advice}."
        )


def _remove_run_files(out: Path) -> None:
    """Remove what reidlib wrote for the runs in ``out`` (its files, its split folders' runs), nothing else."""
    for name in (*RUN_FILES, CHECKPOINT, HISTORY):
        (out / name).unlink(missing_ok=True)
    for sub in out.glob("split*"):
        if re.fullmatch(r"split\d+\.log", sub.name) and sub.is_file():
            sub.unlink()
        elif re.fullmatch(r"split\d+", sub.name) and sub.is_dir() and not sub.is_symlink():
            for name in RUN_FILES:
                (sub / name).unlink(missing_ok=True)
            if not [p for p in sub.iterdir() if p.name != LOCK]:
                shutil.rmtree(sub, ignore_errors=True)


def evaluate_splits(
    config: ExperimentConfig,
    splits=None,
    *,
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """:func:`run_split` on each split -> ``{"splits": [...], "mean": {...}, "std": {...}, "n", ...}``.

    ``splits`` defaults to every split of the dataset (10 for the paper's protocol). With
    ``out_dir`` (claimed first, as :func:`claim_run_folder` says; ``overwrite`` as there) the
    experiment goes to ``out_dir/config.yaml``, each split's run to ``out_dir/split<i>`` (resumed
    when there) and the summary to ``out_dir/results.json`` and ``results.md``.
    """
    out = None if out_dir is None else Path(out_dir)
    claim = out is not None and is_main()
    with claim_run_folder(out, config, resume=True, overwrite=overwrite) if claim else _nothing():
        data = load_data(config.data, progress)
        test = load_data(config.test_data, progress) if config.test_data is not None else None
        splits = check_splits(splits, data.dataset.num_splits)
        if claim:
            save_config(config, out)
        results = []
        for i in splits:
            run = None if out is None else out / f"split{i}"
            res = run_split(
                config, i, out_dir=run, resume=run is not None, device=device, progress=progress, data=data, test=test
            )
            if res is None:
                continue
            results.append(res)
            if progress:
                print(f"split {i}: rank-1 {res['rank1']:.1f}%  mAP {res['mAP']:.1f}%")
        if not results:  # a helper rank of torchrun
            return {}
        summary = summary_of(results)
        if out is not None:
            write_summary(out, summary)
    return summary


def check_splits(splits, num_splits: int) -> list[int]:
    """``splits`` (None: all) as a list of valid split indices of a dataset with ``num_splits``, or a
    one-line error."""
    splits = list(range(num_splits) if splits is None else splits)
    if not splits:
        raise ValueError("the list of splits is empty; pass e.g. splits=range(10) (--splits 0-9).")
    bad = [i for i in splits if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < num_splits]
    if bad:
        raise ValueError(
            f"split(s) {bad[:5]} do not exist: the dataset has {num_splits} split(s), 0..{num_splits - 1}. Pass "
            f"indices in that range (e.g. --splits 0-{num_splits - 1})."
        )
    if len(set(splits)) < len(splits):
        raise ValueError(f"splits {splits} name a split twice; name each once.")
    return splits


def summary_of(results: list[dict]) -> dict:
    """An experiment's record: :func:`reidlib.evaluation.summarize` of its splits' results (mean ± std), the
    results themselves, and what they were run with (head, config, train and test data)."""
    r = results[0]
    return {
        **summarize(results),
        "splits": results,
        "head": r["head"],
        "config": r.get("config"),
        "train_dataset": r["train_dataset"],
        "test_dataset": r["dataset"],
    }


def summary_name(summary: dict) -> str:
    """The row name of a summary in a table: head (train data [-> test data])."""
    test = f" -> {summary['test_dataset']}" if summary["test_dataset"] != summary["train_dataset"] else ""
    return f"{summary['head']} ({summary['train_dataset']}{test})"


def write_table(folder: str | os.PathLike, summary: dict) -> str:
    """Write the table of a summary to ``folder/results.md`` -> the table."""
    table = format_table({summary_name(summary): summary})
    text = f"CMC (%) and mAP (%), mean ± std over {summary['n']} split(s)\n\n{table}\n"
    atomic_write_text(Path(folder) / "results.md", text)
    return table


def write_summary(folder: str | os.PathLike, summary: dict) -> str:
    """Write ``results.json`` and the table ``results.md`` into ``folder`` -> the table."""
    atomic_write_text(Path(folder) / RESULTS, json.dumps(_plain(summary), indent=1))
    return write_table(folder, summary)


def collect(run: str | os.PathLike, splits: list[int] | None = None) -> dict:
    """Merge the results of an experiment run as separate jobs (RUN/split*/results.json) -> its summary."""
    run = Path(run)
    found = {int(f.parent.name[5:]): f for f in run.glob("split*/" + RESULTS) if f.parent.name[5:].isdigit()}
    missing = sorted(set(splits or []) - set(found))
    if missing or not found:
        raise FileNotFoundError(
            f"no results for split(s) {missing or splits or 'any'} in {run} (found splits {sorted(found)}). "
            f"Run them first, e.g. `python -m reidlib experiment --config {run}/config.yaml --split "
            f"{(missing or [0])[0]} --out {run}`, or collect fewer with --splits."
        )
    results = [_split_result(found[i]) for i in (splits or sorted(found))]
    keys = ("head", "train_dataset", "dataset", "config")
    differ = [k for k in keys if len({json.dumps(_same_experiment(r, k), sort_keys=True) for r in results}) > 1]
    if differ:
        raise ValueError(
            f"the splits in {run} come from different experiments (they differ in {', '.join(differ)}); "
            "use one folder per experiment."
        )
    return summary_of(results)


SPLIT_KEYS = ("rank1", "mAP", "cmc", "split", "head", "train_dataset", "dataset", "config")


def _split_result(path: Path) -> dict:
    """The results.json of one split's run, checked: a one-line error names the file when it is not one."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(
            f"{path} cannot be read as JSON ({type(e).__name__}); expected the results.json that `train` or "
            "`experiment` wrote for that split. Rerun that split (its run resumes), or delete the file."
        ) from None
    missing = [k for k in SPLIT_KEYS if k not in result] if isinstance(result, dict) else list(SPLIT_KEYS)
    if missing:
        kind = "an evaluation's summary" if isinstance(result, dict) and "mean" in result else "something else"
        raise ValueError(
            f"{path} is not the result of a split's run (it lacks {missing[:4]}; it looks like {kind}). Expected "
            "the results.json that `train` or `experiment` wrote; rerun that split, or move the file away."
        )
    return result


def _same_experiment(result: dict, key: str):
    """What must agree between the splits of one experiment (the cache folder may differ)."""
    value = result.get(key)
    if key == "config" and isinstance(value, dict):
        value = {k: {**v, "cache_dir": None} if k in ("data", "test_data") and v else v for k, v in value.items()}
    return value


def evaluate_checkpoint(
    checkpoint: str | os.PathLike,
    data: DataConfig,
    splits=(0,),
    *,
    flip: bool = False,
    device: str | torch.device | None = None,
    exclude_seen: bool = False,
    progress: bool = True,
    rerank: dict | None = None,
    use_flow: bool | None = None,
) -> dict:
    """Test a trained model (a run's checkpoint.pt or a shipped weights file) on splits of ``data``
    (``flip``, ``rerank``: the test-time options of :class:`ExperimentConfig`). The input channels are
    the model's (``data.use_flow`` is set from it); an explicit ``use_flow`` that differs is an error.

    A split whose test persons include persons the model was trained on would measure memory,
    not re-identification: it is refused, or with ``exclude_seen=True`` left out with a warning.
    """
    model, ckpt = load_model(checkpoint, device or reidlib.device())
    flow = model.cnn.in_channels == channels(True)
    if use_flow is not None and use_flow != flow:
        raise ValueError(
            f"{checkpoint} was trained {'with' if flow else 'without'} optical flow ({model.cnn.in_channels} input "
            f"channels), so it is tested {'with' if flow else 'without'} it; use_flow={use_flow} (--data.use_flow) "
            "cannot change that. Leave it out, or test a model trained that way."
        )
    loaded = load_data(replace(data, use_flow=flow), progress)
    seen = set(ckpt.get("train_pids", [])) if _same_persons(ckpt, loaded.dataset) else set()
    splits = check_splits(splits, loaded.dataset.num_splits)
    leaks = {i: sorted(seen & set(loaded.dataset.splits[i]["test"])) for i in splits}
    leaks = {i: p for i, p in leaks.items() if p}
    if leaks and not exclude_seen:
        i, p = next(iter(leaks.items()))
        raise ValueError(
            f"{checkpoint} was trained on {len(seen)} persons of {ckpt.get('dataset')!r}, and the test persons of "
            f"split(s) {sorted(leaks)} of {loaded.dataset.name!r} include some of them (split {i}: {len(p)}, e.g. "
            f"pids {p[:5]}): the result would be inflated. Test on split(s) the model was not trained on "
            "(for a run: its own split), or pass exclude_seen=True (--exclude-seen) to skip these splits."
        )
    if leaks:
        warnings.warn(
            f"left out split(s) {sorted(leaks)}: their test persons include persons {checkpoint} was trained on.",
            stacklevel=2,
        )
        splits = [i for i in splits if i not in leaks]
        if not splits:
            raise ValueError(f"every split asked for overlaps the training persons of {checkpoint}; none is left.")
    results = [evaluate(model, loaded.dataset, i, data=loaded.prepared, flip=flip, rerank=rerank) for i in splits]
    for r in results:
        r.update(train_dataset=ckpt.get("dataset", "?"), head=ckpt["model_config"]["head"])
    return {**summary_of(results), "checkpoint": str(checkpoint)}


def evaluation_folder(
    checkpoint: str | os.PathLike, data: DataConfig, out: str | os.PathLike | None = None, overwrite: bool = False
) -> Path:
    """Where ``evaluate`` writes its results.json and results.md -> a folder that is new (made here), or an
    earlier evaluation's folder named by ``out``; never the checkpoint's run (its results.json is the
    training's) nor the installed package.

    Default: ``evaluate-<dataset>[-<preset>]`` beside the checkpoint (``runs/evaluate-<weights>-...`` for
    the shipped weights), with ``-2``, ``-3``, ... when that exists. A given ``out`` must be new, empty or
    an earlier evaluation; else it is refused unless ``overwrite``.
    """
    if out is not None:
        out = Path(out)
        check_writable_place(out)
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"--out {out} is a file; expected a folder for the results.")
        if out.is_dir() and _own_entries(out) and not overwrite and not _is_evaluation(out):
            raise FileExistsError(
                f"--out {out} is not empty and holds no earlier evaluation (its results.json, if any, is not one): "
                "writing there would replace its files (a training run's results.json, say). Leave --out out (a "
                "new folder is made), choose a new folder, or pass --overwrite."
            )
        out.mkdir(parents=True, exist_ok=True)
        return out
    checkpoint = Path(checkpoint)
    name = f"evaluate-{data.dataset}" + (f"-{data.preset}" if data.dataset == "synthetic" else "")
    base = checkpoint.resolve().parent
    if base == PACKAGE or PACKAGE in base.parents:
        base, name = Path("runs"), f"evaluate-{checkpoint.stem}-{name[9:]}"
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        folder = base / (name if n == 1 else f"{name}-{n}")
        try:
            folder.mkdir()  # exclusive: a folder that exists is never reused
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{base} already holds 9,999 folders named {name}-N; pass --out.")


def _is_evaluation(folder: Path) -> bool:
    try:
        result = json.loads((folder / RESULTS).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(result, dict) and "checkpoint" in result


def _same_persons(ckpt: dict, dataset: VideoReIDDataset) -> bool:
    """Whether the checkpoint's training pids name the same people as the dataset's pids."""
    return ckpt.get("persons", ckpt.get("dataset")) == dataset.persons


def _plain(d: dict) -> dict:
    """The JSON-able part of a result (no tensors, models or tracklets)."""
    return {
        k: v
        for k, v in d.items()
        if not hasattr(v, "shape") and k not in ("model", "query", "gallery", "query_scores", "gallery_scores")
    }
