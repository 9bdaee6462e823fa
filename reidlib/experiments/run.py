"""Running experiments: the one place where a model is seeded, built, trained and evaluated.

:func:`run_split` does it for one split (and writes the run folder); :func:`evaluate_splits`
repeats it over splits (the paper's protocol: mean ± std over 10 random person splits);
:func:`collect` merges runs made as separate jobs; :func:`evaluate_checkpoint` tests a
trained model on splits whose test persons it has not seen. Like torchreid's engine, this
layer calls training and the metrics; neither of them calls it.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

import reidlib

from ..data import VideoReIDDataset, load_dataset
from ..evaluation import evaluate, evaluate_tracklets, format_table, summarize
from ..models import VideoReIDNet, load_imagenet_weights
from ..preprocess import PreprocessedDataset, cache_root, channels, preprocess_dataset
from ..training import atomic_write_text, load_model, train
from ..training.distributed import is_main, rank_device
from .config import DataConfig, ExperimentConfig, save_config

RESULTS = "results.json"


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
) -> dict | None:
    """Seed, build, train and evaluate one split -> its results (%), or None on the helper ranks of torchrun.

    Args:
        config: the experiment.
        split: which split of ``config.data``'s dataset trains (and, without ``test_data``, tests).
        out_dir: the run folder: config.yaml, checkpoint.pt, history.json, results.json.
        resume: continue the run in ``out_dir`` when it has a checkpoint.
        device: where to train (default: :func:`reidlib.training.distributed.rank_device`).
        data, test: the loaded training and test data (None: loaded here from the config).
        details: add the trained ``model`` and the evaluation details (features, scores, tracklets).
    """
    data = data or load_data(config.data, progress)
    if config.test_data is not None:
        test = test or load_data(config.test_data, progress)
    model = initial_model(config, data.dataset, split).to(rank_device(device))
    _, query, gallery = data.dataset.split(split)
    out = None if out_dir is None else Path(out_dir)
    if out is not None and is_main():
        save_config(config, out, split=int(split))
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


def evaluate_splits(
    config: ExperimentConfig,
    splits=None,
    *,
    out_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict:
    """:func:`run_split` on each split -> ``{"splits": [...], "mean": {...}, "std": {...}, "n", ...}``.

    ``splits`` defaults to every split of the dataset (10 for the paper's protocol). With
    ``out_dir`` each split's run goes to ``out_dir/split<i>`` (resumed when there) and the
    summary to ``out_dir/results.json`` and ``results.md``.
    """
    data = load_data(config.data, progress)
    test = load_data(config.test_data, progress) if config.test_data is not None else None
    splits = list(range(data.dataset.num_splits) if splits is None else splits)
    if not splits:
        raise ValueError("evaluate_splits got an empty list of splits; pass e.g. splits=range(10).")
    out = None if out_dir is None else Path(out_dir)
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


def summary_of(results: list[dict]) -> dict:
    """Mean ± std of split results, with what they were run with."""
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
    results = [json.loads(found[i].read_text()) for i in (splits or sorted(found))]
    keys = ("head", "train_dataset", "dataset", "config")
    differ = [k for k in keys if len({json.dumps(_same_experiment(r, k), sort_keys=True) for r in results}) > 1]
    if differ:
        raise ValueError(
            f"the splits in {run} come from different experiments (they differ in {', '.join(differ)}); "
            "use one folder per experiment."
        )
    return summary_of(results)


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
) -> dict:
    """Test a trained model (a run's checkpoint.pt or a shipped weights file) on splits of ``data``
    (``flip``, ``rerank``: the test-time options of :class:`ExperimentConfig`).

    A split whose test persons include persons the model was trained on would measure memory,
    not re-identification: it is refused, or with ``exclude_seen=True`` left out with a warning.
    """
    model, ckpt = load_model(checkpoint, device or reidlib.device())
    loaded = load_data(_with_flow_of(data, model), progress)
    seen = set(ckpt.get("train_pids", [])) if _same_persons(ckpt, loaded.dataset) else set()
    splits = list(range(loaded.dataset.num_splits) if splits is None else splits)
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


def _with_flow_of(data: DataConfig, model: nn.Module) -> DataConfig:
    """``data`` with the input channels the model was trained with."""
    return replace(data, use_flow=model.cnn.in_channels == channels(True))


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
