"""The lab's results file: the runs of each (population, protocol, condition) as an ablation table with
its paired comparisons (:mod:`reidlib.experiments.compare`), without the bulky per-query data."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import ablation
from ..compare import lighten, summarize_table
from .features import backbone_record
from .run import ALL, label

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


def table_of(records: dict[tuple[str, int], dict], splits: int) -> dict:
    """The methods with a record for each of the first ``splits`` splits, summarised; bulky fields dropped."""
    methods = {}
    for name in ALL:
        runs = [records.get((name, s)) for s in range(splits)]
        if all(runs):
            methods[name] = {"label": label(name), "splits": runs}
    return lighten(summarize_table({"methods": methods}), drop=("loss", "settings"))


def save_results(results: dict, path: str | os.PathLike = RESULTS) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    return path


def load(path: str | os.PathLike | None = None) -> dict:
    """The lab's results file (default: the one shipped with reidlib)."""
    path = Path(path or RESULTS)
    if not path.is_file():
        raise FileNotFoundError(
            f"no lab results at {path}. They are made by `python benchmarks/bench_lab.py` (see its docstring) "
            "and shipped in reidlib/results/."
        )
    return json.loads(path.read_text())


def table(results: dict, condition: str = "degraded", protocol: str = "raw", population: str = "primary") -> dict:
    """One ablation table of the results file."""
    return results["populations"][population]["protocols"][protocol][condition]
