"""One story: the chapters that discuss the paper's attention state the verdict computed from the results
files (reidlib.book.verdicts), never a verdict typed by hand; the sentences are checked against hand-made
results, for every combination of outcomes, and must read as a person writes."""

import itertools
import json
import re

import jupytext
import numpy as np
import pytest

from reidlib.book import verdicts
from reidlib.experiments import ablation, lab
from reidlib.experiments.compare import summarize_table
from tools.nbtools import ROOT

VERDICT_CHAPTERS = [
    "book/ch01_problem.md",
    "book/ch06_temporal_pooling.md",
    "book/ch10_attention_explorer.md",
    "book/ch11_fcn_vs_rnn.md",
    "book/assignments/a3_cmc_ablation.md",  # the student notebook (its master is sealed in course/sealed)
]
# Claims about the trained comparison that only the results files may make.
TYPED_VERDICTS = [
    r"attention (beats|outperforms|is better than|improves on|wins over) (the )?(plain )?(mean|averag)",
    r"(beats|loses to|outperforms|wins over) mean pooling",
    r"mean pooling (beats|outperforms|wins)",
    r"paper's observation",
    r"the paper's model (beats|loses|wins)",
]
JARGON = ("oracle", "L2", "Spearman", "paired", "degraded", "CI", "interval", "split", "rank-1", "lambda")


def _cells(path: str, kind: str) -> list[str]:
    return [c.source for c in jupytext.read(ROOT / path).cells if c.cell_type == kind]


@pytest.mark.parametrize("path", VERDICT_CHAPTERS)
def test_the_chapter_computes_its_verdict_from_the_results_files(path):
    code = "\n".join(_cells(path, "code"))
    assert re.search(r"verdicts\.verdict\(", code), f"{path} states no verdict from the results files"


@pytest.mark.parametrize("path", VERDICT_CHAPTERS)
def test_no_verdict_is_typed_by_hand(path):
    prose = "\n".join(_cells(path, "markdown"))
    for pattern in TYPED_VERDICTS:
        found = re.search(pattern, prose, re.IGNORECASE)
        assert not found, f"{path} types a verdict by hand: {found.group(0)!r}; compute it (reidlib.book.verdicts)"


def _table(rank1: dict[str, list[float]], own_vs_constant: list[float] | None = None) -> dict:
    """A hand-made ablation table: rank-1 per split for each method; optionally the paper's test-time
    ablation, whose constant-lambda rank-1 is the paper's minus ``own_vs_constant`` per split."""
    methods = {}
    for name, values in rank1.items():
        runs = [dict(split=s, rank1=v, rank5=v, rank10=v, rank20=v, mAP=v) for s, v in enumerate(values)]
        methods[name] = {"splits": runs}
    if own_vs_constant is not None:
        for r, d in zip(methods["paper"]["splits"], own_vs_constant, strict=True):
            r["ablation"] = {
                "own": {"l2": {"rank1": r["rank1"]}, "raw": {"rank1": r["rank1"] - 20}},
                "constant": {"l2": {"rank1": r["rank1"] - d}, "raw": {"rank1": r["rank1"] - 20}},
            }
    return summarize_table({"methods": methods})


SPLITS = 6
BASE = [50.0, 60.0, 70.0, 55.0, 65.0, 58.0]
SHIFT = {1: [4, 6, 5, 3, 5, 4], 0: [2, -1, 1, -2, 0, 1], -1: [-4, -6, -5, -3, -5, -4]}


def _facts(d_mean: int, d_l2: int, d_acts: int, best_beats: bool = False) -> verdicts.Facts:
    """Facts whose paper-vs-mean, paper-vs-mean-L2 and test-time decisions are the given ones."""
    paper = [b + s for b, s in zip(BASE, SHIFT[d_mean], strict=True)]
    mean_l2 = [p - s for p, s in zip(paper, SHIFT[d_l2], strict=True)]
    rank1 = {"mean": BASE, "oracle": [b + 10 for b in BASE], "paper": paper, "mean_l2": mean_l2}
    rank1["oracle_l2"] = [m + 8 for m in mean_l2]
    rank1["sigmoid_mean"] = [m + (s + 9 if best_beats else -1) for m, s in zip(mean_l2, SHIFT[0], strict=True)]
    table = _table(rank1, own_vs_constant=SHIFT[d_acts])
    return verdicts.lab_facts({"populations": {"primary": {"protocols": {"raw": {"degraded": table}}}}})


def test_hand_made_decisions_come_out_as_made():
    f = _facts(1, 0, 0)
    assert f.vs_mean["decision"] == 1 and f.vs_mean_l2["decision"] == 0 and f.acts["decision"] == 0
    text = verdicts.verdict(f=f)
    assert "the paper's model beats mean pooling (+4.5 points, 95% CI" in text
    assert "does not differ measurably from mean pooling with the same L2 normalisation (+0.2 points" in text
    assert "the design detects" in text
    assert "Its attention weights do not act at test time" in text


@pytest.mark.parametrize("outcome", list(itertools.product((1, 0, -1), (1, 0, -1), (1, 0, -1), (False, True))))
def test_every_outcome_reads_as_a_person_writes(outcome):
    f = _facts(*outcome)
    for plain in (False, True):
        text = verdicts.verdict(f=f, plain=plain)
        sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s]
        assert len(sentences) <= 2, text
        assert text.endswith(".") and "  " not in text and " ." not in text and ",." not in text, text
        assert not re.search(r": [A-Z]", text), f"a label spliced into a sentence: {text}"
        if plain:
            found = [w for w in JARGON if re.search(rf"\b{w}\b", text)]
            assert not found and not re.search(r"\d", text), f"jargon or numbers in the plain verdict: {found} {text}"
        d_mean, d_l2, d_acts, _ = outcome
        if not plain:
            assert ("the paper's model " + verdicts.RELATION[d_mean] + " mean pooling") in text
            assert verdicts.RELATION[d_l2] + " mean pooling with the same L2" in text
        else:
            assert verdicts.PLAIN[d_mean] + " plain averaging" in text


def test_the_verdict_never_flips_on_a_rounding_tie():
    """The old rule decided 7.5, 7.5, 0 (t = 2.000 exactly) by the last bit of a float."""
    table = _table({"mean": [40.0, 45.0, 42.5], "paper": [47.5, 52.5, 42.5], "mean_l2": [40.0, 45.0, 42.5]})
    c = table["methods"]["paper"]["summary"]["vs_mean"]
    assert c["t"]["diff"] == pytest.approx(5.0) and c["decision"] == 0
    assert "does not differ measurably" in verdicts.relation(c, "a", "b")


@pytest.mark.parametrize(
    "load, facts",
    [(ablation.load, verdicts.end_to_end_facts), (lab.load, verdicts.lab_facts)],
    ids=["end_to_end", "lab"],
)
def test_the_shipped_results_files_are_complete_and_their_verdict_states_them(load, facts):
    results = load()
    f = facts(results)
    assert f.vs_mean is not None and f.vs_mean_l2 is not None and f.acts is not None
    text = verdicts.verdict(f=f)
    assert verdicts.interval(f.vs_mean) in text and verdicts.interval(f.vs_mean_l2) in text


def test_the_end_to_end_file_keeps_one_budget_and_pairs_each_row_on_its_own_splits():
    """Rows still running show the splits they finished; the verdict's rows have every split."""
    results = ablation.load()
    for condition, cond in results["conditions"].items():
        base = [r["split"] for r in cond["methods"].get(ablation.BASELINE, {}).get("splits", [])]
        for name, m in cond["methods"].items():
            splits = [r["split"] for r in m["splits"]]
            assert splits == sorted(set(splits)) and set(splits) <= set(results["splits"]), (condition, name)
            assert m["summary"]["splits"] == len(splits)
            assert m["summary"]["rank1"]["mean"] == pytest.approx(np.mean([r["rank1"] for r in m["splits"]]))
            vs = m["summary"].get(f"vs_{ablation.BASELINE}")
            if vs is not None:
                assert vs["t"]["n"] == len(set(splits) & set(base)), (condition, name)
    degraded = results["conditions"]["degraded"]["methods"]
    for name in (ablation.BASELINE, ablation.BASELINE_L2, ablation.PAPER):
        assert [r["split"] for r in degraded[name]["splits"]] == results["splits"], name
    assert len(results["splits"]) >= 10


def test_the_end_to_end_unit_check_pairs_the_unit_rows_of_the_records():
    """The check's numbers against the records themselves: the paper's unit row minus each unit baseline on
    the splits both have, and the constant-lambda stand-in of the paper's unit row."""
    results = ablation.load()
    rows = results["conditions"]["degraded"]["methods"]
    f = verdicts.end_to_end_facts(results, protocol="unit")
    paper = {r["split"]: r for r in rows[ablation.UNIT[ablation.PAPER]]["splits"]}
    assert f"{len(paper)} splits of" in f.where and "same kind of classifier input" in f.where
    assert f.best is None and f.best_vs_mean_l2 is None
    for c, base in ((f.vs_mean, ablation.BASELINE), (f.vs_mean_l2, ablation.BASELINE_L2)):
        other = {r["split"]: r["rank1"] for r in rows[ablation.UNIT[base]]["splits"]}
        diffs = [paper[s]["rank1"] - other[s] for s in sorted(set(paper) & set(other))]
        assert c["t"]["n"] == len(diffs) and c["t"]["diff"] == pytest.approx(np.mean(diffs))
    own_minus_constant = [
        r["ablation"]["own"]["l2"]["rank1"] - r["ablation"]["constant"]["l2"]["rank1"] for r in paper.values()
    ]
    assert f.acts["t"]["diff"] == pytest.approx(np.mean(own_minus_constant))


def test_the_shipped_heads_are_the_paper_mean_pooling_and_an_attention_head_none_of_the_others_beats():
    from reidlib.experiments import SHIPPED_HEADS

    table = ablation.load()["conditions"]["degraded"]
    heads = {ablation.METHODS[m].model.head: m for m in ablation.ATTENTION}
    assert SHIPPED_HEADS[:2] == tuple(ablation.METHODS[m].model.head for m in (ablation.PAPER, ablation.BASELINE))
    unbeaten = verdicts.unbeaten_attention(table, exclude=(ablation.PAPER,))
    assert heads[SHIPPED_HEADS[2]] in unbeaten, f"the end-to-end heads no other beats measurably: {unbeaten}"


def _head_runs(rank1: list[float]) -> dict:
    return {"splits": [{"split": i, "rank1": v} for i, v in enumerate(rank1)]}


def test_a_head_that_another_beats_on_every_split_is_not_unbeaten_and_a_noisy_lead_beats_nobody():
    names = [m for m in ablation.ATTENTION if m != ablation.PAPER][:3]
    assert len(names) == 3
    low = [40.0, 42.5, 45.0, 40.0, 47.5, 42.5, 45.0, 40.0, 42.5, 45.0]
    clear = [v + 10 + 2.5 * (i % 2) for i, v in enumerate(low)]  # +10 or +12.5 on every split
    noisy = [v + (2.5 if i % 2 else -2.5) + 0.5 for i, v in enumerate(low)]  # leads by 0.5 on average
    table = {"methods": {names[0]: _head_runs(low), names[1]: _head_runs(clear), names[2]: _head_runs(noisy)}}
    assert verdicts.unbeaten_attention(table) == [names[1]]
    table["methods"].pop(names[1])
    assert verdicts.unbeaten_attention(table) == [names[0], names[2]]
    # a head run on fewer splits is compared on the splits it shares, and still wins there
    table["methods"][names[1]] = _head_runs(clear[:3])
    assert verdicts.unbeaten_attention(table) == [names[1]]


def test_a_decided_difference_names_a_bootstrap_that_disagrees():
    c = {"t": dict(diff=3.0, se=1.0, low=1.0, high=5.0, p=0.01, n=10, unit="splits", method="t"), "decision": 1}
    assert "bootstrap" not in verdicts.relation(c, "a", "b")
    c["bootstrap"] = dict(low=-0.5, high=6.0)
    text = verdicts.relation(c, "a", "b")
    assert text.startswith("a beats b (+3.0 points, 95% CI 1.0 to 5.0; the bootstrap over persons gives -0.5 to 6.0")
    c["bootstrap"] = dict(low=0.4, high=6.0)
    assert "bootstrap" not in verdicts.relation(c, "a", "b")


def test_an_undecided_difference_gives_the_right_reason():
    t = dict(diff=2.5, se=1.2, low=0.04, high=4.96, p=0.04, n=10, unit="splits", method="t")
    edge = {"t": t, "decision": 0, "holm_p": 0.04, "family": 1, "mde": 3.3}
    assert "the design detects 3.3 points" in verdicts.relation(edge, "a", "b")  # printed as 0.0 to 5.0
    holm = {"t": dict(t, low=0.4), "decision": 0, "holm_p": 0.2, "family": 5, "mde": 3.3}
    assert "not significant after Holm's correction for 5 comparisons" in verdicts.relation(holm, "a", "b")


def test_a_p_value_is_never_printed_as_zero():
    assert verdicts.p_value(0.0123) == "p = 0.012"
    assert verdicts.p_value(0.0004) == "p < 0.001" and verdicts.p_value(0.0) == "p < 0.001"
    assert verdicts.p_value(0.0006) == "p = 0.001"


def _exploration_row(method, factor, spearman, success):
    return dict(factor=factor, method=method, spearman=spearman, success=success)


def test_the_search_sentence_counts_the_successes_and_names_the_paper_s_best():
    rows = [
        _exploration_row("sigmoid_mean", "sum or mean", 0.51, True),
        _exploration_row("paper", "sum or mean", 0.05, False),
        _exploration_row("paper_quality", "a quality branch", 0.31, False),
    ]
    text = verdicts.explorations({"explorations": rows})
    assert text.startswith("1 of the 3 variants succeeds: the sigmoid-weighted mean (sum or mean).")
    assert "none succeeds" in text and "+0.31 (the paper's model, quality branch)." in text
    rows[2]["success"] = True
    assert "the sigmoid-weighted mean (sum or mean) and the paper's model (quality branch)." in (
        verdicts.explorations({"explorations": rows})
    )
    rows[2]["success"] = False
    rows[2]["success"] = True
    text = verdicts.explorations({"explorations": rows})
    assert text.startswith("2 of the 3 variants succeed: ") and "some succeed" in text
    none = [dict(r, success=False) for r in rows]
    assert verdicts.explorations({"explorations": none}).startswith("None of the 3 variants succeeds.")


def test_claims_pair_on_the_splits_both_rows_have_and_say_so():
    from scipy import stats as sps

    table = _table(
        {
            "mean": [40.0, 45.0, 50.0, 42.0],
            "paper": [50.0, 52.0, 61.0, 47.0],
            "rnn_attention": [41.0, 47.0, 52.0],  # still running: three splits
            "rcn": [30.0],  # one split: nothing to judge
        }
    )
    pairs = [
        ("paper", "mean", "Attention beats mean pooling"),
        ("paper", "rnn_attention", "FCN beats RNN"),
        ("paper", "rcn", "FCN beats the RCN"),
    ]
    lines = verdicts.claims(table, pairs)
    assert [what for what, _ in lines] == ["Attention beats mean pooling", "FCN beats RNN"]
    assert lines[0][1].startswith("The paper's model beats mean pooling")
    assert lines[1][1].startswith("On the 3 splits both have run, the paper's model")
    p_rnn = sps.ttest_rel([50.0, 52.0, 61.0], [41.0, 47.0, 52.0]).pvalue  # 0.029
    p_mean = sps.ttest_rel([50.0, 52.0, 61.0, 47.0], [40.0, 45.0, 50.0, 42.0]).pvalue  # 0.009
    # Holm over two: 2 x 0.009 = 0.019 and max(0.019, 0.029) = 0.029, both below 0.05: both decided
    assert max(2 * p_mean, p_rnn) < 0.05 < 2 * p_rnn
    assert "the paper's model beats RNN attention (+7.7 points" in lines[1][1]


def test_the_checks_of_a_verdict_say_where_each_answer_holds_and_where_it_changes():
    main = _facts(0, 1, 0)
    checks = {"with one input": _facts(1, 1, 0), "on clean videos": _facts(-1, 1, 0), "elsewhere": _facts(0, 1, 0)}
    text = verdicts.agreement(main, checks)
    assert text == (
        "Against mean pooling, the answer changes: the paper's model beats it with one input and loses to it "
        "on clean videos; elsewhere, it holds. Against normalised mean pooling, every check gives the same answer."
    )
    one = verdicts.agreement(main, {"on clean videos": _facts(0, -1, 0)})
    assert one == (
        "Against mean pooling, the check gives the same answer. Against normalised mean pooling, the answer "
        "changes: the paper's model loses to it on clean videos."
    )


def test_the_budget_file_is_the_mean_of_its_records_on_the_splits_it_names():
    budget = ablation.load_budget()
    records = ROOT / "benchmarks" / "results" / "accuracy"
    assert "20" in budget["epochs"]
    for epochs, row in budget["epochs"].items():
        assert row["splits"] and set(row["splits"]) <= set(budget["splits"])
        for m in budget["methods"]:
            runs = [
                records / f"{budget['data']}-short-{epochs}ep" / "degraded" / m / f"split{s}.json"
                for s in row["splits"]
            ]
            recs = [json.loads(p.read_text()) for p in runs]
            assert row[m]["rank1"] == pytest.approx(np.mean([r["rank1"] for r in recs])), (epochs, m)
            if m == ablation.PAPER:  # trained with L2: its own and the constant stand-in on that side
                change = [r["ablation"]["constant"]["l2"]["rank1"] - r["ablation"]["own"]["l2"]["rank1"] for r in recs]
                assert row[m]["constant_minus_own"] == pytest.approx(np.mean(change)), epochs
                assert row[m]["spearman"] == pytest.approx(np.mean([r["spearman"] for r in recs])), epochs


@pytest.mark.parametrize(
    "items, text",
    [(["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")],
)
def test_a_list_reads_as_a_person_writes_it(items, text):
    assert verdicts.listed(items) == text
