"""The ablation of the temporal heads: the one measurement behind every verdict the book states.

``benchmarks/bench_accuracy.py`` trains each method of :data:`METHODS` with the same budget
on the degraded synthetic benchmark and on its clean counterpart, over several splits, and
writes ``reidlib/results/accuracy.json`` (shipped with the package, so a reader on Colab has
it too). This module reads that file and turns it into numbers and sentences:
:func:`table` (the compact table), :func:`compare` (a paired difference between two methods)
and :func:`verdict` (the book's answer to "does the paper's attention beat mean pooling?").
Chapters build their sentences with these functions, never by hand.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .config import ModelConfig

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
ACCURACY = RESULTS_DIR / "accuracy.json"
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


def load(path: str | os.PathLike | None = None) -> dict:
    """The ablation's results file (default: the one shipped with reidlib)."""
    path = Path(path or ACCURACY)
    if not path.is_file():
        raise FileNotFoundError(
            f"no ablation results at {path}. They are made by `python benchmarks/bench_accuracy.py` "
            "(see its docstring) and shipped in reidlib/results/."
        )
    return json.loads(path.read_text())


def runs(results: dict, condition: str, method: str, key: str = "rank1") -> np.ndarray:
    """One number per split (in split order) for a method in a condition."""
    per_split = results["conditions"][condition]["methods"][method]["splits"]
    return np.array([r[key] for r in per_split], dtype=float)


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the paired differences a - b over the same splits."""
    d = np.subtract(a, b, dtype=float)
    se = d.std(ddof=1) / math.sqrt(d.size) if d.size > 1 else math.nan
    return float(d.mean()), float(se)


def summarize_method(per_split: list[dict], baseline: list[dict] | None, ceiling: list[dict] | None) -> dict:
    """Mean ± std of each metric, the paired difference to the baseline, the share of the oracle gap
    closed, and Spearman(score, visibility) trained and untrained."""
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in per_split], float)
        out[m] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
    if baseline is not None:
        diff, se = paired([r["rank1"] for r in per_split], [r["rank1"] for r in baseline])
        out["vs_mean"] = {"rank1": diff, "se": se}
    if baseline is not None and ceiling is not None:
        gap = np.mean([r["rank1"] for r in ceiling]) - np.mean([r["rank1"] for r in baseline])
        gain = out["rank1"]["mean"] - np.mean([r["rank1"] for r in baseline])
        out["gap_closed"] = float(gain / gap) if gap > 0 else None
    for key in ("spearman", "spearman_untrained"):
        v = np.array([r[key] for r in per_split if r.get(key) is not None], float)
        v = v[np.isfinite(v)]
        out[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0} if len(v) else None
    return out


def summarize(results: dict) -> dict:
    """Fill in each method's ``summary`` (see :func:`summarize_method`) from its per-split results."""
    for cond in results["conditions"].values():
        methods = cond["methods"]
        base = methods.get(BASELINE, {}).get("splits")
        ceil = methods.get(CEILING, {}).get("splits")
        for m in methods.values():
            if _same_splits(m["splits"], base) and _same_splits(m["splits"], ceil):
                m["summary"] = summarize_method(m["splits"], base, ceil)
            else:
                m["summary"] = summarize_method(m["splits"], None, None)
    return results


def _same_splits(a: list[dict], b: list[dict] | None) -> bool:
    return b is not None and [r["split"] for r in a] == [r["split"] for r in b]


def compare(results: dict, a: str, b: str, condition: str = "degraded") -> dict:
    """The paired rank-1 difference a - b over the splits -> {diff, se, a, b, relation}.

    ``relation`` is "beats" when the difference is more than two standard errors above 0,
    "loses to" when more than two below, else "does not differ measurably from".
    """
    ra, rb = runs(results, condition, a), runs(results, condition, b)
    diff, se = paired(ra, rb)
    if np.isfinite(se) and diff > 2 * se:
        relation = "beats"
    elif np.isfinite(se) and diff < -2 * se:
        relation = "loses to"
    else:
        relation = "does not differ measurably from"
    return dict(diff=diff, se=se, a=float(ra.mean()), b=float(rb.mean()), relation=relation, n=len(ra))


def where(results: dict) -> str:
    """Where and with which budget the table was measured, in words."""
    b = results["budget"]
    return (
        f"synthetic `{b['data']}` ({b['persons']} persons, {b['test_persons']} per test split), "
        f"{len(results['splits'])} splits, {b['epochs']} epoch{'s' * (b['epochs'] != 1)} of the "
        f"`{b['schedule']}` schedule, "
        f"trained on {results['machine']}"
    )


def verdict(results: dict | None = None, condition: str = "degraded") -> str:
    """The book's measured answer, as sentences built from the results file.

    Does the paper's model (FCN sigmoid attention, combined with mean pooling, L2-normalised)
    beat mean pooling on the degraded benchmark, how much of the oracle's gap does it close,
    and does its attention follow visibility?
    """
    results = results or load()
    cond = results["conditions"][condition]["methods"]
    paper, base, ceil = cond[PAPER]["summary"], cond[BASELINE]["summary"], cond[CEILING]["summary"]
    c = compare(results, PAPER, BASELINE, condition)
    oracle = compare(results, CEILING, BASELINE, condition)
    best = best_attention(results, condition)
    rho = paper.get("spearman") or {"mean": float("nan")}
    closed = paper.get("gap_closed")
    text = (
        f"Measured on {where(results)}: the paper's model reaches {paper['rank1']['mean']:.1f} ± "
        f"{paper['rank1']['std']:.1f} rank-1 on the degraded videos, mean pooling {base['rank1']['mean']:.1f} ± "
        f"{base['rank1']['std']:.1f}, so the paper's model {c['relation']} mean pooling "
        f"({c['diff']:+.1f} ± {c['se']:.1f} points, paired over splits). The oracle, which weights each frame "
        f"by how much of the person it truly shows, reaches {ceil['rank1']['mean']:.1f} ({oracle['diff']:+.1f} ± "
        f"{oracle['se']:.1f} over mean pooling): "
    )
    if closed is None:
        text += "on this data there is no gap for attention to close."
    else:
        text += f"the paper's model closes {100 * closed:.0f}% of that gap."
    if BASELINE_L2 in cond and CEILING_L2 in cond:
        text += " " + same_protocol(results, condition)
    text += (
        f" The paper's attention scores follow the true visibility with a Spearman correlation of {rho['mean']:+.2f} "
        f"within each video (untrained: {(paper.get('spearman_untrained') or {'mean': float('nan')})['mean']:+.2f})."
    )
    if best != PAPER:
        b = compare(results, best, BASELINE, condition)
        text += (
            f" The best attention head here is {METHODS[best].label} ({b['a']:.1f} rank-1; it {b['relation']} "
            f"mean pooling, {b['diff']:+.1f} ± {b['se']:.1f})."
        )
    return text


def same_protocol(results: dict, condition: str = "degraded") -> str:
    """A sentence: the paper's model against mean pooling and the oracle when all three scale F to unit
    length before the distance (the paper's Figure 2), so that only the attention differs."""
    c = compare(results, PAPER, BASELINE_L2, condition)
    norm = compare(results, BASELINE_L2, BASELINE, condition)
    ceil = compare(results, CEILING_L2, BASELINE_L2, condition)
    gap = ceil["a"] - ceil["b"]
    if gap <= 0:
        closed = "the normalised oracle leaves no gap to close"
    elif c["diff"] > gap:
        closed = f"it goes past the normalised oracle ({ceil['a']:.1f})"
    else:
        closed = f"it closes {100 * c['diff'] / gap:.0f}% of the gap to the normalised oracle ({ceil['a']:.1f})"
    return (
        f"With the same L2 normalisation before the distance, mean pooling reaches {c['b']:.1f} rank-1 "
        f"(it {norm['relation']} plain mean pooling, {norm['diff']:+.1f} ± {norm['se']:.1f}); the paper's "
        f"model {c['relation']} it ({c['diff']:+.1f} ± {c['se']:.1f} points), and {closed}."
    )


def follows_visibility(results: dict | None = None, methods=(PAPER, "softmax"), condition: str = "degraded") -> str:
    """A sentence: how closely the trained scores of ``methods`` follow the true visibility (Spearman's rho
    within each degraded test video, trained vs untrained), from the results file."""
    results = results or load()
    cond = results["conditions"][condition]["methods"]
    parts = []
    for m in methods:
        s = cond[m]["summary"]
        trained, untrained = s.get("spearman"), s.get("spearman_untrained")
        if trained is None:
            continue
        parts.append(
            f"{METHODS[m].label}: Spearman {trained['mean']:+.2f} ± {trained['std']:.2f} after training "
            f"({untrained['mean']:+.2f} untrained)"
        )
    return (
        f"Within each degraded test video, trained scores against the true visibility ({where(results)}): "
        + "; ".join(parts)
        + ". A value near +1 would mean the scores rank the frames exactly as the visibility does; 0, "
        "that they ignore it."
    )


def best_attention(results: dict, condition: str = "degraded", exclude=()) -> str:
    """The attention head (a method with scores, not the oracle, none of ``exclude``) with the highest
    mean rank-1."""
    methods = results["conditions"][condition]["methods"]
    have = [m for m in ATTENTION if m in methods and m not in exclude]
    return max(have, key=lambda m: methods[m]["summary"]["rank1"]["mean"])


def table(results: dict | None = None, condition: str = "degraded", methods=None) -> list[dict]:
    """Rows of the compact table: label, R1, R5, mAP (mean ± std), paired difference to mean pooling
    (± standard error), share of the oracle gap closed, Spearman trained / untrained."""
    results = results or load()
    cond = results["conditions"][condition]["methods"]
    rows = []
    for name in methods or [m for m in METHODS if m in cond]:
        s = cond[name]["summary"]
        vs = s.get("vs_mean")
        rows.append(
            {
                "method": METHODS[name].label,
                **{m: f"{s[m]['mean']:.1f} ± {s[m]['std']:.1f}" for m in ("rank1", "rank5", "mAP")},
                "vs mean": "" if name == BASELINE or vs is None else f"{vs['rank1']:+.1f} ± {vs['se']:.1f}",
                "gap closed": ""
                if s.get("gap_closed") is None or name in (BASELINE, CEILING)
                else f"{100 * s['gap_closed']:.0f}%",
                "Spearman": _rho(s.get("spearman")),
                "untrained": _rho(s.get("spearman_untrained")),
            }
        )
    return rows


def _rho(s: dict | None) -> str:
    return "" if s is None else f"{s['mean']:+.2f} ± {s['std']:.2f}"


def markdown(rows: list[dict]) -> str:
    """A Markdown table of :func:`table`'s rows."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
