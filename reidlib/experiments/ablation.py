"""The ablation of the temporal heads: its methods (:data:`METHODS`) and its end-to-end results file (chapter 11).

``benchmarks/bench_accuracy.py`` trains each method with the same budget on the degraded synthetic
benchmark and on its clean counterpart, over 10 splits, and writes ``reidlib/results/accuracy.json``
(shipped with the package, so a reader on Colab has it too); the lab (:mod:`reidlib.experiments.lab`)
trains the same heads on frozen features. :func:`summarize` adds the paired comparisons
(:mod:`reidlib.experiments.compare`); the book's sentences are made from them by
:mod:`reidlib.book.verdicts`, never typed by hand.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .compare import summarize_table
from .config import ModelConfig

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
ACCURACY = RESULTS_DIR / "accuracy.json"
BUDGET = RESULTS_DIR / "budget.json"  # the end-to-end budget study (bench_accuracy.py --budget-report)
METRICS = ("rank1", "rank5", "rank10", "rank20", "mAP")
BASELINE, CEILING, PAPER = "mean", "oracle", "paper"
# The same floor and ceiling under the paper's protocol: F scaled to unit length before the distance.
BASELINE_L2, CEILING_L2 = "mean_l2", "oracle_l2"
# Unit-length features lie at most 2 apart, so the paper's margin of 2 never lets the hinge on a pair of
# different persons reach 0: mean pooling and the paper's model, both L2, with a margin that can be met.
BASELINE_L2_M1, PAPER_M1 = "mean_l2_m1", "paper_m1"
# Mean pooling with and without L2 trained on the hinge alone: is the cost of L2 in its meeting with the
# identity loss (which reads the raw F while the hinge reads F / |F|)?
BASELINE_NO_ID, BASELINE_L2_NO_ID = "mean_no_id", "mean_l2_no_id"


@dataclass(frozen=True)
class Method:
    """One row of the ablation: a model, whether its input has the optical-flow channels, and the
    training settings in which it differs from the budget's schedule (``TrainConfig`` fields)."""

    label: str
    model: ModelConfig
    use_flow: bool = True
    note: str = ""
    train: dict = field(default_factory=dict)


METHODS: dict[str, Method] = {
    BASELINE: Method("mean pooling", ModelConfig(head="mean"), note="the floor: every frame counts the same"),
    CEILING: Method(
        "oracle (lambda = true visibility)", ModelConfig(head="oracle"), note="the ceiling: a weighted mean"
    ),
    BASELINE_L2: Method(
        "mean pooling, L2",
        ModelConfig(head="mean", head_options={"l2_normalize": True}),
        note="the paper's protocol without attention",
    ),
    CEILING_L2: Method("oracle, L2", ModelConfig(head="oracle", head_options={"l2_normalize": True})),
    "sigmoid_sum": Method("sigmoid sum (Eq. 2 alone)", ModelConfig(head="attention")),
    "sigmoid_mean": Method("sigmoid weighted mean", ModelConfig(head="attention_mean")),
    PAPER: Method("the paper: (Eq. 2 + mean) / 2, L2", ModelConfig(head="combined")),
    "paper_no_l2": Method("the paper without L2", ModelConfig(head="combined_sum")),
    "softmax": Method("softmax attention", ModelConfig(head="softmax")),
    "rnn_attention": Method("RNN attention (LSTM scores, + mean, L2)", ModelConfig(head="rnn_attention")),
    "rcn": Method("RCN (recurrent layer, then mean)", ModelConfig(head="rcn")),
    "paper_no_flow": Method("the paper, no flow channels", ModelConfig(head="combined"), use_flow=False),
    "mean_no_flow": Method("mean pooling, no flow channels", ModelConfig(head="mean"), use_flow=False),
    BASELINE_L2_M1: Method(
        "mean pooling, L2, margin 1",
        ModelConfig(head="mean", head_options={"l2_normalize": True}),
        train={"margin": 1.0},
    ),
    PAPER_M1: Method("the paper, margin 1", ModelConfig(head="combined"), train={"margin": 1.0}),
    BASELINE_NO_ID: Method("mean pooling, hinge only", ModelConfig(head="mean"), train={"id_weight": 0.0}),
    BASELINE_L2_NO_ID: Method(
        "mean pooling, L2, hinge only",
        ModelConfig(head="mean", head_options={"l2_normalize": True}),
        train={"id_weight": 0.0},
    ),
}
# The confound removed: every head's identity classifier reads 16 F / |F| (ModelConfig.identity = "unit"), so
# that comparing these rows changes the pooling and nothing else.
UNIT = {BASELINE: "mean_unit", BASELINE_L2: "mean_l2_unit", PAPER: "paper_unit"}
METHODS.update(
    {
        unit: Method(f"{METHODS[name].label}, unit identity input", replace(METHODS[name].model, identity="unit"))
        for name, unit in UNIT.items()
    }
)
ATTENTION = ("sigmoid_sum", "sigmoid_mean", PAPER, "paper_no_l2", "softmax", "rnn_attention")  # heads with scores


def read_results(path: str | os.PathLike, script: str) -> dict:
    """A results file that ``benchmarks/<script>`` writes; an error that says so when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no results at {path}. They are made by `python benchmarks/{script}` (see its docstring) and shipped "
            "in reidlib/results/."
        )
    return json.loads(path.read_text())


def load(path: str | os.PathLike | None = None) -> dict:
    """The end-to-end ablation's results file (default: the one shipped with reidlib)."""
    return read_results(path or ACCURACY, "bench_accuracy.py")


def load_budget(path: str | os.PathLike | None = None) -> dict:
    """The budget study: rank-1 of mean pooling, with L2, and the paper's model after more epochs."""
    return read_results(path or BUDGET, "bench_accuracy.py --budget-report")


def runs(results: dict, condition: str, method: str, key: str = "rank1") -> np.ndarray:
    """One number per split (in split order) for a method in a condition."""
    per_split = results["conditions"][condition]["methods"][method]["splits"]
    return np.array([r[key] for r in per_split], dtype=float)


def summarize(results: dict) -> dict:
    """Fill in each method's ``summary`` in every condition (:func:`reidlib.experiments.compare.summarize_table`):
    mean ± std, the paired comparisons with mean pooling, with normalised mean pooling and, for the
    unit-identity rows, with their own mean pooling; the share of the oracle's gap closed."""
    paper_protocol = tuple(n for n, m in METHODS.items() if m.model.identity == "raw")
    families = {
        BASELINE: (CEILING, paper_protocol),
        BASELINE_L2: (CEILING_L2, paper_protocol),
        UNIT[BASELINE]: (None, tuple(UNIT.values())),
        UNIT[BASELINE_L2]: (None, tuple(UNIT.values())),
    }
    for cond in results["conditions"].values():
        summarize_table(cond, families)
    return results
