"""One story: the chapters that discuss the paper's attention state the verdict computed from the
ablation's results file (reidlib.experiments.ablation), never a verdict typed by hand; and the
functions that build those sentences are checked against hand-made results."""

import re

import jupytext
import numpy as np
import pytest

from reidlib.experiments import ablation
from tools.nbtools import ROOT

VERDICT_CHAPTERS = [
    "book/ch01_problem.md",
    "book/ch05_fcn_attention.md",
    "book/ch06_temporal_pooling.md",
    "book/ch10_attention_explorer.md",
    "book/ch11_fcn_vs_rnn.md",
    "book/assignments/a3_cmc_ablation.md",  # the student notebook (its master is sealed in course/sealed)
]
# Claims about the trained comparison that only the results file may make.
TYPED_VERDICTS = [
    r"attention (beats|outperforms|is better than|improves on|wins over) (the )?(plain )?(mean|averag)",
    r"(beats|loses to|outperforms|wins over) mean pooling",
    r"mean pooling (beats|outperforms|wins)",
    r"paper's observation",
    r"the paper's model (beats|loses|wins)",
]


def _cells(path: str, kind: str) -> list[str]:
    return [c.source for c in jupytext.read(ROOT / path).cells if c.cell_type == kind]


@pytest.mark.parametrize("path", VERDICT_CHAPTERS)
def test_the_chapter_computes_its_verdict_from_the_results_file(path):
    code = "\n".join(_cells(path, "code"))
    assert re.search(r"ablation\.(verdict|compare)\(", code), f"{path} states no verdict from the results file"


@pytest.mark.parametrize("path", VERDICT_CHAPTERS)
def test_no_verdict_is_typed_by_hand(path):
    prose = "\n".join(_cells(path, "markdown"))
    for pattern in TYPED_VERDICTS:
        found = re.search(pattern, prose, re.IGNORECASE)
        assert not found, f"{path} types a verdict by hand: {found.group(0)!r}; compute it (ablation.compare)"


def _results(rank1: dict[str, list[float]], rho: dict[str, list[float]] | None = None) -> dict:
    """A hand-made results file: rank-1 per split for each method (the other metrics follow it)."""
    methods = {}
    for name, values in rank1.items():
        splits = [
            dict(
                split=s,
                rank1=v,
                rank5=v,
                rank10=v,
                rank20=v,
                mAP=v,
                spearman=(rho or {}).get(name, [None] * 9)[s],
                spearman_untrained=0.0 if rho and name in rho else None,
            )
            for s, v in enumerate(values)
        ]
        methods[name] = {"splits": splits}
    results = {
        "machine": "a test",
        "splits": list(range(len(next(iter(rank1.values()))))),
        "budget": dict(data="small", schedule="short", epochs=20, persons=80, test_persons=40),
        "conditions": {"degraded": {"methods": methods}},
    }
    return ablation.summarize(results)


def test_compare_needs_two_standard_errors():
    # differences per split: +4, +6, +5 -> mean 5, sd 1, se 1/sqrt(3) = 0.577: beats
    r = _results({"mean": [50, 60, 70], "oracle": [60, 70, 80], "paper": [54, 66, 75]})
    c = ablation.compare(r, "paper", "mean")
    assert c["relation"] == "beats" and c["diff"] == pytest.approx(5) and c["se"] == pytest.approx(1 / np.sqrt(3))
    # differences +6, -4, +1 -> mean 1, sd 5, se 2.89: within two standard errors
    r = _results({"mean": [50, 60, 70], "oracle": [60, 70, 80], "paper": [56, 56, 71]})
    assert ablation.compare(r, "paper", "mean")["relation"] == "does not differ measurably from"
    r = _results({"mean": [50, 60, 70], "oracle": [60, 70, 80], "paper": [44, 55, 63]})  # -6, -5, -7
    assert ablation.compare(r, "paper", "mean")["relation"] == "loses to"


def test_summary_gives_the_paired_difference_and_the_share_of_the_oracle_gap():
    r = _results({"mean": [50, 60, 70], "oracle": [60, 70, 80], "paper": [54, 66, 75]})
    s = r["conditions"]["degraded"]["methods"]["paper"]["summary"]
    assert s["rank1"]["mean"] == pytest.approx(65) and s["rank1"]["std"] == pytest.approx(np.std([54, 66, 75], ddof=1))
    assert s["vs_mean"]["rank1"] == pytest.approx(5)
    assert s["gap_closed"] == pytest.approx(0.5)  # (65 - 60) / (70 - 60)
    none = _results({"mean": [50, 60, 70], "oracle": [50, 60, 70], "paper": [54, 66, 75]})
    assert none["conditions"]["degraded"]["methods"]["paper"]["summary"]["gap_closed"] is None  # no gap


def test_the_verdict_states_the_numbers_of_the_file():
    rho = {"paper": [0.1, 0.2, 0.3], "softmax": [0.5, 0.5, 0.5]}
    r = _results({"mean": [50, 60, 70], "oracle": [60, 70, 80], "paper": [44, 55, 63], "softmax": [55, 66, 74]}, rho)
    text = ablation.verdict(r)
    assert "the paper's model loses to mean pooling" in text and "(-6.0 ± 0.6 points" in text
    assert "reaches 54.0 ± 9.5 rank-1" in text and "mean pooling 60.0 ± 10.0" in text
    assert "closes -60% of that gap" in text  # (54 - 60) / (70 - 60)
    assert "Spearman correlation of +0.20" in text
    assert "best attention head here is softmax attention (65.0 rank-1; it beats mean pooling" in text
    assert ablation.best_attention(r) == "softmax"
    assert ablation.best_attention(r, exclude=("softmax",)) == "paper"  # the oracle and mean pooling never count


def test_the_verdict_compares_under_the_same_normalisation_when_the_file_has_it():
    r = _results({"mean": [50, 60, 70], "oracle": [60, 70, 80], "paper": [54, 66, 75]})
    assert "same L2 normalisation" not in ablation.verdict(r)  # a file without the normalised rows
    r = _results(
        {
            "mean": [50, 60, 70],
            "oracle": [60, 70, 80],
            "paper": [54, 66, 75],
            "mean_l2": [55, 64, 75],  # paper - mean_l2: -1, +2, 0 -> +0.33 ± 0.88
            "oracle_l2": [65, 75, 83],
        }
    )
    text = ablation.same_protocol(r)
    assert "mean pooling reaches 64.7 rank-1 (it beats plain mean pooling, +4.7 ± 0.3)" in text  # 5, 4, 5
    assert "the paper's model does not differ measurably from it (+0.3 ± 0.9 points)" in text
    assert "closes 3% of the gap to the normalised oracle (74.3)" in text  # 0.33 / (74.33 - 64.67)
    assert text in ablation.verdict(r)
    r["conditions"]["degraded"]["methods"]["mean_l2"]["splits"] = [
        {"split": s, "rank1": v} for s, v in enumerate([40, 50, 60])
    ]
    r["conditions"]["degraded"]["methods"]["oracle_l2"]["splits"] = [
        {"split": s, "rank1": v} for s, v in enumerate([55, 62, 70])
    ]
    text = ablation.same_protocol(r)  # paper - mean_l2 = 14, 16, 15: beyond the oracle's gap of 12.3
    assert "it loses to plain mean pooling, -10.0 ± 0.0" in text
    assert "the paper's model beats it (+15.0 ± 0.6 points), and it goes past the normalised oracle (62.3)" in text


def test_the_shipped_results_file_is_complete_and_consistent():
    results = ablation.load()
    assert set(results["conditions"]) == {"degraded", "clean"}
    for condition, cond in results["conditions"].items():
        assert set(cond["methods"]) == set(ablation.METHODS), condition  # every row of the ablation
        for name, m in cond["methods"].items():
            r1 = [r["rank1"] for r in m["splits"]]
            assert [r["split"] for r in m["splits"]] == results["splits"], (condition, name)
            assert m["summary"]["rank1"]["mean"] == pytest.approx(np.mean(r1))
    degraded, epochs = results["conditions"]["degraded"]["methods"], results["budget"]["epochs"]
    for name in (ablation.BASELINE, ablation.BASELINE_L2, ablation.PAPER):  # chapter 11 plots their hinge term
        assert all(len(r["history"]["hinge"]) == epochs for r in degraded[name]["splits"]), name
    text = ablation.verdict(results)
    paper = results["conditions"]["degraded"]["methods"][ablation.PAPER]["summary"]["rank1"]["mean"]
    assert (
        f"reaches {paper:.1f}" in text
        and ablation.compare(results, ablation.PAPER, ablation.BASELINE)["relation"] in text
    )


def test_the_shipped_heads_are_the_paper_mean_pooling_and_the_best_other_attention_head():
    from reidlib.experiments import SHIPPED_HEADS

    results = ablation.load()
    best = ablation.best_attention(results, exclude=(ablation.PAPER,))
    heads = [ablation.METHODS[m].model.head for m in (ablation.PAPER, ablation.BASELINE, best)]
    assert list(SHIPPED_HEADS) == heads, f"the ablation's best attention head besides the paper's is {best}"
