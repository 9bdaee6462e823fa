"""The evaluation protocol (chapter 9): one split's query vs gallery, and mean ± std over splits.

Queries are camera 1 of the test persons, the gallery is camera 2 (one sequence per
person), every frame of every sequence is used. Results are percentages.
"""

from __future__ import annotations

from torch import nn

from ..stats import mean_std
from .features import extract_features
from .metrics import distance_matrix, rank_metrics
from .reranking import RERANK_OPTIONS
from .reranking import rerank as rerank_distances

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
    rerank: dict | None = None,
) -> dict:
    """Rank-1/5/10/20 and mAP (%) of ``model`` on split ``split``'s query vs gallery.

    For cross-dataset testing pass the *other* dataset: the model is only tested on
    its split's test persons. See :func:`evaluate_tracklets` for ``details``,
    ``camera_aware`` and ``rerank``.
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
        rerank=rerank,
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
    rerank: dict | None = None,
) -> dict:
    """Rank-1/5/10/20, mAP and the CMC curve (%) of ``model`` on query vs gallery tracklets.

    The features of every video are extracted once, then ranked by :func:`rank_features`.
    ``camera_aware`` passes each tracklet's ``camid`` to :func:`~reidlib.evaluation.rank_metrics`:
    a query ignores the gallery sequences of its person from its own camera (the MARS
    protocol; with query and gallery cameras disjoint, as in the paper's datasets, nothing
    changes). Queries without a right match are skipped with a warning: ``num_evaluated``
    and ``num_skipped`` count them. ``details=True`` adds the features (``query_features``
    (Q, D), ``gallery_features`` (G, D)), attention scores (lists of (T,) tensors or None),
    ``distmat`` (Q, G), the tracklets, each query's ``ranks`` (Q,; 0 = skipped) and ``ap`` (Q,). ``rerank``:
    see :func:`rank_features`.
    """
    if not query or not gallery:
        raise ValueError(f"evaluation needs query and gallery tracklets; found {len(query)} and {len(gallery)}.")
    _check_rerank(rerank)  # before the work of extracting features
    qf, qs = extract_features(model, query, data, chunk, flip, progress=progress, desc="query")
    gf, gs = extract_features(model, gallery, data, chunk, flip, progress=progress, desc="gallery")
    out = rank_features(qf, gf, query, gallery, camera_aware=camera_aware, rerank=rerank, details=details)
    if details:
        out.update(query_features=qf, gallery_features=gf, query_scores=qs, gallery_scores=gs)
    return out


def rank_features(
    query_features,
    gallery_features,
    query: list,
    gallery: list,
    *,
    camera_aware: bool = True,
    rerank: dict | None = None,
    details: bool = False,
) -> dict:
    """The metrics of :func:`evaluate_tracklets` from features already extracted: query (Q, D), gallery (G, D).

    ``rerank``: None ranks by the Euclidean distance; a dict re-ranks it first with k-reciprocal
    encoding (:func:`reidlib.evaluation.rerank`, Zhong et al., CVPR 2017) with those options
    (``k1``, ``k2``, ``lambda_value``; ``{}``: its defaults 20, 6, 0.3), from the query-gallery,
    query-query and gallery-gallery distances. The result says which (``rerank``: the options or
    None). ``details=True`` adds ``distmat`` (Q, G, the distances ranked), the tracklets, ``ranks`` and
    ``ap`` (each query's first-match rank and average precision).
    """
    options = _check_rerank(rerank)
    if len(query_features) != len(query) or len(gallery_features) != len(gallery):
        raise ValueError(
            f"expected one feature row per tracklet: {len(query)} query and {len(gallery)} gallery tracklets; "
            f"found {len(query_features)} and {len(gallery_features)} rows."
        )
    distmat = distance_matrix(query_features, gallery_features)
    if options is not None:
        qq, gg = distance_matrix(query_features, query_features), distance_matrix(gallery_features, gallery_features)
        distmat = rerank_distances(distmat, qq, gg, **options)
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
        rerank=options,
    )
    if details:
        out.update(distmat=distmat, query=query, gallery=gallery, ranks=res["ranks"], ap=res["ap"])
    return out


def _check_rerank(rerank: dict | None) -> dict | None:
    """The re-ranking options as a dict (None: no re-ranking); an error that names unknown ones."""
    if rerank is None:
        return None
    if not isinstance(rerank, dict) or set(rerank) - set(RERANK_OPTIONS):
        raise ValueError(
            f"rerank must be None (no re-ranking) or a dict of options of reidlib.evaluation.rerank, among "
            f"{list(RERANK_OPTIONS)} ({{}}: the defaults {dict(RERANK_OPTIONS)}); found {rerank!r}."
        )
    return dict(rerank)


def summarize(results: list[dict]) -> dict:
    """Mean and sample standard deviation of each metric over the results of splits
    (:func:`reidlib.stats.mean_std`) -> ``{"mean": {metric: ...}, "std": {metric: ...}, "n": splits}``."""
    if not results:
        raise ValueError("summarize needs at least one result; found none.")
    spread = {m: mean_std([r[m] for r in results]) for m in METRICS}
    return {
        "mean": {m: s["mean"] for m, s in spread.items()},
        "std": {m: s["std"] for m, s in spread.items()},
        "n": len(results),
    }


def format_table(rows: dict[str, dict], digits: int = 1) -> str:
    """A Markdown table in the paper's format: ``{name: summarize(...)}`` -> rank 1/5/10/20 and mAP, mean +- std."""
    lines = ["| method | R1 | R5 | R10 | R20 | mAP | runs |", "|---|---|---|---|---|---|---|"]
    for name, s in rows.items():
        cells = [f"{s['mean'][m]:.{digits}f} ± {s['std'][m]:.{digits}f}" for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {s['n']} |")
    return "\n".join(lines)
