"""The evaluation protocol (chapter 9): one split, ten splits (mean and std), cross-dataset.

Queries are camera 1 of the test persons, the gallery is camera 2 (one sequence per
person), every frame of every sequence is used. Results are percentages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .features import extract_features
from .metrics import distance_matrix, rank_metrics

RANKS = (1, 5, 10, 20)
METRICS = tuple(f"rank{r}" for r in RANKS) + ("mAP",)


def evaluate(
    model: nn.Module,
    dataset,
    split: int = 0,
    *,
    data=None,
    flip: bool = False,
    chunk: int = 128,
    progress: bool = False,
    details: bool = False,
    camera_aware: bool = True,
) -> dict:
    """Rank-1/5/10/20 and mAP (%) of ``model`` on split ``split``'s query vs gallery.

    For cross-dataset testing pass the *other* dataset: the model is only tested on
    its split's test persons. See :func:`evaluate_tracklets` for ``details`` and
    ``camera_aware``.
    """
    _, query, gallery = dataset.split(split)
    if not query or not gallery:
        raise ValueError(
            f"split {split} of {dataset.name!r} has {len(query)} query and {len(gallery)} gallery "
            "tracklets; both need at least one (query = camera 1, gallery = camera 2 of the test "
            "persons)."
        )
    out = evaluate_tracklets(
        model,
        query,
        gallery,
        data=data,
        flip=flip,
        chunk=chunk,
        progress=progress,
        details=details,
        camera_aware=camera_aware,
    )
    return {**out, "dataset": dataset.name, "split": int(split)}


def evaluate_tracklets(
    model: nn.Module,
    query: list,
    gallery: list,
    *,
    data=None,
    flip: bool = False,
    chunk: int = 128,
    progress: bool = False,
    details: bool = False,
    camera_aware: bool = True,
) -> dict:
    """Rank-1/5/10/20, mAP and the CMC curve (%) of ``model`` on query vs gallery tracklets.

    ``camera_aware`` passes each tracklet's ``camid`` to :func:`~reidlib.evaluation.rank_metrics`:
    a query ignores the gallery sequences of its person from its own camera (the MARS
    protocol; with query and gallery cameras disjoint, as in the paper's datasets, nothing
    changes). Queries without a right match are skipped with a warning: ``num_evaluated``
    and ``num_skipped`` count them. ``details=True`` adds the features (``query_features``
    (Q, D), ``gallery_features`` (G, D)), attention scores (lists of (T,) tensors or None),
    ``distmat`` (Q, G), the tracklets and each query's ``ranks`` (Q,; 0 = skipped).
    """
    if not query or not gallery:
        raise ValueError(f"evaluation needs query and gallery tracklets; found {len(query)} and {len(gallery)}.")
    qf, qs = extract_features(model, query, data, chunk, flip, progress=progress, desc="query")
    gf, gs = extract_features(model, gallery, data, chunk, flip, progress=progress, desc="gallery")
    distmat = distance_matrix(qf, gf)
    cams = ([t.camid for t in query], [t.camid for t in gallery]) if camera_aware else (None, None)
    res = rank_metrics(distmat, [t.pid for t in query], [t.pid for t in gallery], *cams, max_rank=max(RANKS))
    out = {f"rank{r}": 100.0 * float(res["cmc"][r - 1]) for r in RANKS}
    out.update(
        mAP=100.0 * res["mAP"],
        cmc=[100.0 * float(c) for c in res["cmc"]],
        num_query=len(query),
        num_gallery=len(gallery),
        num_evaluated=res["num_evaluated"],
        num_skipped=res["num_skipped"],
        camera_aware=camera_aware,
    )
    if details:
        out.update(
            query_features=qf,
            gallery_features=gf,
            query_scores=qs,
            gallery_scores=gs,
            distmat=distmat,
            query=query,
            gallery=gallery,
            ranks=res["ranks"],
        )
    return out


def summarize(results: list[dict]) -> dict:
    """Mean and sample standard deviation (ddof=1; 0 for one result) of each metric over results."""
    if not results:
        raise ValueError("summarize needs at least one result; found none.")
    table = {m: np.array([r[m] for r in results], dtype=float) for m in METRICS}
    return {
        "mean": {m: float(v.mean()) for m, v in table.items()},
        "std": {m: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in table.items()},
        "n": len(results),
    }


def format_table(rows: dict[str, dict], digits: int = 1) -> str:
    """A Markdown table in the paper's format: ``{name: summarize(...)}`` -> rank 1/5/10/20 and mAP, mean +- std."""
    lines = ["| method | R1 | R5 | R10 | R20 | mAP | runs |", "|---|---|---|---|---|---|---|"]
    for name, s in rows.items():
        cells = [f"{s['mean'][m]:.{digits}f} ± {s['std'][m]:.{digits}f}" for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {s['n']} |")
    return "\n".join(lines)


def evaluate_splits(
    dataset,
    splits=None,
    *,
    head: str = "combined",
    preset="quick",
    test_dataset=None,
    data=None,
    test_data=None,
    out_dir: str | os.PathLike | None = None,
    flip: bool = False,
    progress: bool = True,
    model_kw: dict | None = None,
    device: str | torch.device | None = None,
    **overrides,
) -> dict:
    """Train a fresh model on each split and test it -> ``{"splits": [...], "mean": {...}, "std": {...}, "n"}``.

    Args:
        dataset: the training dataset; its split ``i`` gives the training persons.
        splits: split indices (default: all of ``dataset``'s, 10 for the paper's protocol).
        head, model_kw: the model, ``VideoReIDNet(num_classes, head=head, **model_kw)``;
            its initial weights are seeded by (seed, split).
        preset, overrides: the training settings (see :func:`reidlib.training.train`).
        test_dataset: cross-dataset testing: train on ``dataset``'s split ``i`` training
            persons, test on ``test_dataset``'s split ``i`` test persons.
        data, test_data: the preprocessed datasets (None: preprocessed here).
        out_dir: each split's run goes to ``out_dir/split<i>`` (resumed if there), the
            results to ``out_dir/results.json``.
        device: where to train (default :func:`reidlib.device`).
    """
    import reidlib

    from ..models import VideoReIDNet
    from ..preprocess import preprocess_dataset
    from ..training import get_config, train

    cfg = get_config(preset, **overrides)
    splits = list(range(dataset.num_splits) if splits is None else splits)
    if not splits:
        raise ValueError("evaluate_splits got an empty list of splits; pass e.g. splits=range(10).")
    model_kw = dict(model_kw or {})
    use_flow = model_kw.get("in_channels", 5) == 5
    data = data if data is not None else preprocess_dataset(dataset, use_flow=use_flow, progress=progress)
    test_dataset = test_dataset or dataset
    if test_data is None:
        test_data = (
            data if test_dataset is dataset else preprocess_dataset(test_dataset, use_flow=use_flow, progress=progress)
        )
    out = None if out_dir is None else Path(out_dir)
    results = []
    for i in splits:
        num_classes = len({t.pid for t in dataset.split(i)[0]})  # split() explains a bad index
        torch.manual_seed(cfg.seed * 1000 + i)
        model = VideoReIDNet(num_classes, head=head, **model_kw).to(device or reidlib.device())
        history = train(
            model,
            dataset,
            i,
            cfg,
            data=data,
            out_dir=None if out is None else out / f"split{i}",
            resume=out is not None,
            progress=progress,
        )
        res = evaluate(model, test_dataset, i, data=test_data, flip=flip)
        res.update(train_dataset=dataset.name, head=head, final_loss=history["loss"][-1] if history["loss"] else None)
        results.append(res)
        if progress:
            print(f"split {i}: rank-1 {res['rank1']:.1f}%  mAP {res['mAP']:.1f}%")
    summary = {
        **summarize(results),
        "splits": results,
        "head": head,
        "config": cfg.to_dict(),
        "train_dataset": dataset.name,
        "test_dataset": test_dataset.name,
    }
    if out is not None:
        (out / "results.json").write_text(json.dumps(summary, indent=1))
    return summary
