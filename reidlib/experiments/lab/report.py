"""The lab's results file: the runs of each (population, protocol, condition) as an ablation table with
its paired comparisons (:mod:`reidlib.experiments.compare`), without the bulky per-query data (chapter 11)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ...models import make_head
from .. import ablation
from ..compare import common, gap_closed, lighten, summarize_table
from .features import backbone_record
from .run import ALL, exploration, label

RESULTS = ablation.RESULTS_DIR / "lab.json"


def backbone_facts(head: str = "mean") -> dict:
    """What the lab's backbone is: the shipped model, its file's SHA-256 and the persons it was trained on."""
    record = backbone_record(head)
    data = record["experiment"]["data"]
    return {
        "head": head,
        "sha256": record["sha256"],
        "trained_on": f"split {record['split']} of synthetic `{data['preset']}` (seed {data['seed']})",
    }


def runs_of(records: dict[tuple[str, int], dict], name: str, splits: int) -> list[dict]:
    """The records of ``name`` among the first ``splits`` splits, in split order (a run may have fewer)."""
    return [records[(name, s)] for s in range(splits) if (name, s) in records]


def table_of(records: dict[tuple[str, int], dict], splits: int) -> dict:
    """The methods with records on at least two of the first ``splits`` splits, summarised (each compared
    on the splits it shares with its baseline); bulky fields dropped."""
    methods = {}
    for name in ALL:
        runs = runs_of(records, name, splits)
        if len(runs) > 1:
            methods[name] = {"label": label(name), "splits": runs}
    return lighten(summarize_table({"methods": methods}), drop=("loss", "settings"))


def save_results(results: dict, path: str | os.PathLike = RESULTS) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    return path


def load(path: str | os.PathLike | None = None) -> dict:
    """The lab's results file (default: the one shipped with reidlib)."""
    return ablation.read_results(path or RESULTS, "bench_lab.py")


def table(results: dict, condition: str = "degraded", protocol: str = "raw", population: str = "primary") -> dict:
    """One ablation table of the results file."""
    return results["populations"][population]["protocols"][protocol][condition]


# When does attention learn quality? (factor, population, heads): each head against the floor and ceiling of
# its own normalisation (mean pooling and the oracle, with L2 for the heads that normalise) and budget.
EXPLORATIONS = [
    ("sum or mean", "primary", ("sigmoid_sum", "paper", "sigmoid_mean", "softmax", "rnn_attention")),
    ("a quality branch", "primary", ("paper_quality", "sigmoid_mean_quality")),
    ("smooth weights", "primary", ("paper_smooth", "sigmoid_mean_smooth")),
    ("budget: 5 epochs", "primary", ("paper_5ep", "sigmoid_mean_5ep")),
    ("budget: 20 epochs", "primary", ("paper_20ep", "sigmoid_mean_20ep")),
    ("half the degradations", "light", ("paper", "sigmoid_mean", "softmax")),
    ("twice the degradations", "heavy", ("paper", "sigmoid_mean", "softmax")),
]
SUCCESS = dict(spearman=0.5, gap=0.5)  # follows visibility and closes half of the oracle's gap


def floor_and_ceiling(method: str) -> tuple[str, str]:
    """The mean pooling and oracle a head is measured against: same normalisation, same budget."""
    explore = exploration(method)
    model = ablation.METHODS[explore.base].model
    l2 = getattr(make_head(model.head, model.feature_dim, **model.head_options), "l2_normalize", False)
    suffix = f"_{explore.max_epochs}ep" if explore.max_epochs else ""
    return (f"mean_l2{suffix}", f"oracle_l2{suffix}") if l2 else (f"mean{suffix}", f"oracle{suffix}")


def explorations(records: dict[str, dict[tuple[str, int], dict]], splits: int) -> list[dict]:
    """The rows of chapter 11's search, from the full records (per-query ranks: the gap's bootstrap) of each
    population's paper protocol on degraded videos: {population: {(method, split): record}}. Each head is
    measured on the splits it ran on (at least two)."""
    rows = []
    for factor, population, heads in EXPLORATIONS:
        recs = records.get(population, {})
        for m in heads:
            floor, ceiling = floor_and_ceiling(m)
            runs = dict(
                zip((m, floor, ceiling), common(*(runs_of(recs, n, splits) for n in (m, floor, ceiling))), strict=True)
            )
            if len(runs[m]) < 2:
                continue
            rho = [r["spearman"] for r in runs[m] if r.get("spearman") is not None]
            gap = gap_closed(runs[m], runs[floor], runs[ceiling])
            rho_mean = float(sum(rho) / len(rho)) if rho else float("nan")
            rows.append(
                dict(
                    factor=factor,
                    population=population,
                    method=m,
                    floor=floor,
                    ceiling=ceiling,
                    splits=len(runs[m]),
                    rank1=float(sum(r["rank1"] for r in runs[m]) / len(runs[m])),
                    spearman=rho_mean,
                    gap_closed=gap,
                    success=bool(
                        rho_mean >= SUCCESS["spearman"] and gap is not None and gap["share"] >= SUCCESS["gap"]
                    ),
                )
            )
    return rows
