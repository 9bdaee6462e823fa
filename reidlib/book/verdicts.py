"""Tables and sentences from the ablation's results (chapters 1, 6, 10, 11 and assignment A3).

Every number comes from a results file's summaries (:mod:`reidlib.experiments.compare`): a difference
with its 95% Student-t interval over splits (the person bootstrap as a cross-check), Holm's
correction over the family of comparisons, and the smallest effect the design detects. Two
protocols answer the book's question, and :func:`verdict` states each in at most two sentences:

* ``"lab"``: heads trained to convergence on the frozen frame features of persons the frame CNN
  never saw (``reidlib/results/lab.json``);
* ``"end_to_end"``: the whole model trained with a fixed, short budget (``reidlib/results/accuracy.json``).

``plain=True`` renders the same verdict without jargon, for chapter 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..experiments import ablation
from ..experiments import lab as lab_results
from ..experiments.compare import common, correct_family, difference
from ..stats import Difference, interval_text, shown

PROTOCOLS = ("lab", "end_to_end")
# How a sentence names a method (the table labels carry formulas and commas).
SPOKEN = {
    "mean": "mean pooling",
    "mean_l2": "mean pooling with L2",
    "oracle": "the oracle",
    "oracle_l2": "the oracle with L2",
    "sigmoid_sum": "the sigmoid-weighted sum",
    "sigmoid_mean": "the sigmoid-weighted mean",
    "paper": "the paper's model",
    "paper_no_l2": "the paper's model without L2",
    "softmax": "softmax attention",
    "rnn_attention": "RNN attention",
    "rcn": "the RCN",
    "paper_no_flow": "the paper's model without flow",
    "mean_no_flow": "mean pooling without flow",
    "mean_l2_m1": "mean pooling with L2 and a margin of 1",
    "paper_m1": "the paper's model with a margin of 1",
    "mean_no_id": "mean pooling trained with the hinge alone",
    "mean_l2_no_id": "mean pooling with L2 trained with the hinge alone",
}


_UNIT_BASE = {unit: name for name, unit in ablation.UNIT.items()}


def spoken(method: str) -> str:
    """The name of a method in a sentence (a row of the unit protocol by its head's name: the sentence
    around it says that every classifier reads the normalised feature)."""
    base = _UNIT_BASE.get(method, method)
    return SPOKEN.get(base, ablation.METHODS[base].label)


RELATION = {1: "beats", 0: "does not differ measurably from", -1: "loses to"}
PLAIN = {1: "more often than", 0: "about as often as", -1: "less often than"}


# ----------------------------------------------------------------------------- numbers of one comparison
def comparison(table: dict, a: str, b: str) -> dict | None:
    """The summary's comparison of method ``a`` with baseline ``b`` (None when the table lacks it)."""
    m = table["methods"].get(a)
    return None if m is None else m["summary"].get(f"vs_{b}")


def test_time(table: dict, method: str, stand_in: str = "constant") -> dict | None:
    """The comparison of ``method``'s own lambda with a stand-in (or "l2": with against without L2)."""
    m = table["methods"].get(method)
    return None if m is None else m["summary"].get("test_time", {}).get(f"own_vs_{stand_in}")


def p_value(p: float) -> str:
    """ "p = 0.012", or "p < 0.001" where three decimals would print a p of zero."""
    return "p < 0.001" if p < 0.0005 else f"p = {p:.3f}"


def interval(c: dict, what: str = "points") -> str:
    """ "+4.0 points, 95% CI 2.4 to 5.6", or the difference alone when it has no interval."""
    return interval_text(Difference(**c["t"]), what=what).replace(" (", ", ", 1).rstrip(")")


def _undecided_clause(c: dict) -> str:
    """Why a difference is undecided when its interval alone would decide it, or what the design could see."""
    t = c["t"]
    if math.isfinite(t["low"]) and (shown(t["low"]) > 0 or shown(t["high"]) < 0) and c.get("holm_p") is not None:
        return f"; not significant after Holm's correction for {c['family']} comparisons"
    if c.get("mde") is not None and math.isfinite(c["mde"]):
        return f"; the design detects {c['mde']:.1f} points"
    return ""


def relation(c: dict, a: str, b: str) -> str:
    """ "a beats b (+4.0 points, 95% CI 2.4 to 5.6)", with the design's power when it cannot tell, and the
    person bootstrap's interval when it disagrees with a decided difference."""
    d = c.get("decision", 0)
    return f"{a} {RELATION[d]} {b} ({interval(c)}{_decided_clause(c) if d else _undecided_clause(c)})"


def _decided_clause(c: dict) -> str:
    """The bootstrap over persons when its interval, as printed, holds 0 while the t interval does not."""
    boot = c.get("bootstrap")
    if boot is None or not (shown(boot["low"]) <= 0 <= shown(boot["high"])):
        return ""
    return f"; the bootstrap over persons gives {boot['low']:.1f} to {boot['high']:.1f}, which holds 0"


# ----------------------------------------------------------------------------- the facts of a protocol
@dataclass(frozen=True)
class Facts:
    """What a protocol's verdict states: its setting and four comparisons (None when not measured)."""

    where: str
    vs_mean: dict
    vs_mean_l2: dict | None
    acts: dict | None  # the paper's own lambda against a constant, at test time
    best: str | None  # the attention head with the highest rank-1
    best_vs_mean_l2: dict | None


def _heads(table: dict, exclude=()) -> list[str]:
    """The table's attention heads (methods with learned scores), none of ``exclude``."""
    return [m for m in ablation.ATTENTION if m in table["methods"] and m not in exclude]


def best_attention(table: dict, exclude=()) -> str | None:
    """The attention head (a method with learned scores, none of ``exclude``) with the highest mean rank-1."""
    heads = _heads(table, exclude)
    return max(heads, key=lambda m: table["methods"][m]["summary"]["rank1"]["mean"]) if heads else None


def unbeaten_attention(table: dict, exclude=()) -> list[str]:
    """The attention heads (none of ``exclude``) that no other such head beats measurably: each paired with
    every other on the splits both have, Holm over its comparisons. Choosing among them by the highest mean
    alone would follow noise."""
    heads = _heads(table, exclude)
    unbeaten = []
    for head in heads:
        family = {}
        for other in heads:
            if other != head:
                a, b = common(table["methods"][other]["splits"], table["methods"][head]["splits"])
                family[other] = difference(a, b)
        correct_family(family)
        if not any(c["decision"] > 0 for c in family.values()):
            unbeaten.append(head)
    return unbeaten


def _facts(table: dict, where: str, rows: dict[str, str] | None = None) -> Facts:
    """The verdict's comparisons in ``table``. ``rows``: the table's names for the paper's model and the two
    baselines where they differ (``ablation.UNIT`` for the end-to-end unit rows, which have no best head)."""
    paper, mean, mean_l2 = ((rows or {}).get(m, m) for m in (ablation.PAPER, ablation.BASELINE, ablation.BASELINE_L2))
    best = best_attention(table) if rows is None else None
    return Facts(
        where=where,
        vs_mean=comparison(table, paper, mean),
        vs_mean_l2=comparison(table, paper, mean_l2),
        acts=test_time(table, paper),
        best=best,
        best_vs_mean_l2=None if best in (None, paper) else comparison(table, best, mean_l2),
    )


def lab_facts(
    results: dict | None = None, condition: str = "degraded", population: str = "primary", protocol: str = "raw"
) -> Facts:
    """The lab's facts for one table: the primary population's degraded videos with the paper's identity
    input by default; another ``population``, ``condition`` or ``protocol`` ("unit") says so."""
    results = results or lab_results.load()
    pop = results["populations"][population]
    table = pop["protocols"][protocol][condition]
    n = _splits(table)
    which = ""
    if population != "primary":
        which += f" on the {population.replace('_', '-')} population"
    if condition != "degraded":
        which += f" on {condition} videos"
    if protocol == "unit":
        which += " with the same kind of classifier input for every head"
    where = (
        f"In the lab{which} ({n} splits of persons the frame CNN never saw; heads trained on its frozen "
        "features until their loss settles)"
    )
    return _facts(table, where)


def _splits(table: dict, paper: str = ablation.PAPER) -> int:
    """The splits behind a table's verdict: those of the paper's model (its comparisons pair on them)."""
    return table["methods"][paper]["summary"]["splits"]


def end_to_end_facts(results: dict | None = None, condition: str = "degraded", protocol: str = "raw") -> Facts:
    """The end-to-end facts of one condition; ``protocol="unit"``: the rows whose classifiers all read the
    normalised feature (``ablation.UNIT``), without a best head (only three rows are run that way)."""
    results = results or ablation.load()
    b = results["budget"]
    table = results["conditions"][condition]
    rows, which = None, ""
    if condition != "degraded":
        which += f" on {condition} videos"
    if protocol == "unit":
        which += " with the same kind of classifier input for every head"
        rows = ablation.UNIT
    n = _splits(table, (rows or {}).get(ablation.PAPER, ablation.PAPER))
    where = (
        f"End to end{which} (synthetic `{b['data']}`, {n} splits of {b['test_persons']} test persons, "
        f"{b['epochs']} epochs: a fixed budget, not converged)"
    )
    return _facts(table, where, rows)


def facts(protocol: str) -> Facts:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}; found {protocol!r}.")
    return lab_facts() if protocol == "lab" else end_to_end_facts()


# ----------------------------------------------------------------------------- the verdict
def verdict(protocol: str = "lab", plain: bool = False, f: Facts | None = None) -> str:
    """The book's answer to "does the paper's attention beat mean pooling, and why?", in two sentences.

    ``plain=True``: the same decisions in words a reader of chapter 1 knows (no intervals, no jargon).
    """
    f = f or facts(protocol)
    return _plain(f) if plain else _full(f)


def _full(f: Facts) -> str:
    paper = "the paper's model"
    first = f"{f.where}, " + relation(f.vs_mean, paper, "mean pooling")
    if f.vs_mean_l2 is not None:
        first += " and " + relation(f.vs_mean_l2, "it", "mean pooling with the same L2 normalisation").removeprefix(
            "it "
        )
    second = []
    if f.acts is not None:
        acts = {0: "do not act", 1: "act", -1: "hurt"}[f.acts.get("decision", 0)]
        t = f.acts["t"]
        change = (
            "leaves rank-1 unchanged in every split"
            if t["diff"] == 0 and t["se"] == 0
            else f"changes rank-1 by {_negated(f.acts)}"
        )
        second.append(f"its attention weights {acts} at test time (replacing them by a constant {change})")
    if f.best_vs_mean_l2 is not None:
        second.append(relation(f.best_vs_mean_l2, f"the best head, {spoken(f.best)},", "normalised mean pooling"))
    return first + "." + (" " + _capital("; ".join(second)) + "." if second else "")


def _negated(c: dict) -> str:
    """A test-time comparison read the other way round: the stand-in's rank-1 minus the head's own."""
    t = c["t"]
    flipped = dict(t, diff=-t["diff"], low=-t["high"], high=-t["low"])
    return interval({"t": flipped})


def _plain(f: Facts) -> str:
    d = (f.vs_mean or {}).get("decision", 0)
    first = (
        "We tested the paper's idea on videos where we know which frames hide the person: its model finds "
        f"the right person {PLAIN[d]} plain averaging of the frames does"
    )
    scaled = "once each video's summary is scaled to the same length"
    if f.vs_mean_l2 is not None:
        d2 = f.vs_mean_l2.get("decision", 0)
        if d2 == 0:
            first += f", and averaging does just as well {scaled}"
        elif d2 > 0 and d > 0:
            first += ", also when each video's summary is scaled to the same length"
        elif d2 > 0:
            first += f", but more often than averaging does {scaled}"
        else:
            first += f", but averaging does better {scaled}" if d > 0 else f", and averaging does better still {scaled}"
    if f.acts is None:
        return first + "."
    second = {
        0: "Its weights on the frames change almost nothing",
        1: "Its weights on the frames do help",
        -1: "Its weights on the frames even hurt",
    }[f.acts.get("decision", 0)]
    if f.best_vs_mean_l2 is not None and f.best_vs_mean_l2.get("decision", 0) > 0:
        second += ", but weighting the frames another way does beat averaging"
    return f"{first}. {second}."


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


# ----------------------------------------------------------------------------- claims and correlations
def claims(table: dict, pairs: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(what, the finding) per (a, b, what): "The paper's model beats mean pooling (+4.0 points, 95% CI ...)",
    paired on the splits both rows have (the finding names them when they are fewer than the table's); a
    pair with fewer than two is left out. The pairs are one family: Holm's correction runs over them."""
    most = max(len(m["splits"]) for m in table["methods"].values())
    runs = {
        i: common(table["methods"][a]["splits"], table["methods"][b]["splits"]) for i, (a, b, _) in enumerate(pairs)
    }
    family = {i: difference(ra, rb) for i, (ra, rb) in runs.items() if len(ra) > 1}
    correct_family(family)
    out = []
    for i, c in family.items():
        a, b, what = pairs[i]
        n = len(runs[i][0])
        finding = relation(c, spoken(a), spoken(b))
        out.append((what, f"On the {n} splits both have run, {finding}" if n < most else _capital(finding)))
    return out


def claim_list(table: dict, pairs: list[tuple[str, str, str]]) -> str:
    """:func:`claims` as a Markdown list: "* *What.* The finding." per pair."""
    return "\n".join(f"* *{what}.* {finding}." for what, finding in claims(table, pairs))


def table_of(protocol: str = "lab", condition: str = "degraded") -> dict:
    """The ablation table of a protocol's results file (the lab: the primary population, the paper's identity
    input)."""
    if protocol == "lab":
        return lab_results.table(lab_results.load(), condition)
    if protocol == "end_to_end":
        return ablation.load()["conditions"][condition]
    raise ValueError(f"protocol must be one of {PROTOCOLS}; found {protocol!r}.")


def follows_visibility(protocol: str = "lab", methods=(ablation.PAPER, "sigmoid_mean", "softmax")) -> str:
    """A sentence: how closely the trained scores of ``methods`` follow the true visibility within each
    test video (Spearman's rho, mean ± std over splits)."""
    table = table_of(protocol)
    parts = []
    for m in methods:
        rho = table["methods"].get(m, {}).get("summary", {}).get("spearman")
        if rho is not None:
            parts.append(f"{rho['mean']:+.2f} for {spoken(m)}")
    if not parts:
        return ""
    where = "In the lab" if protocol == "lab" else "End to end"
    return (
        f"{where}, the trained attention scores follow the true visibility within each test video with a mean "
        f"Spearman correlation of {listed(parts)} "
        "(+1 would rank the frames exactly as their visibility does; 0 ignores it)."
    )


def explorations(results: dict | None = None) -> str:
    """Sentences on chapter 11's search: which variants make attention follow quality (Spearman >= 0.5) and
    close half of the oracle's gap, from the lab's results file."""
    results = results or lab_results.load()
    rows = results.get("explorations", [])
    if not rows:
        return "The lab's results file holds no run of this search yet."
    wins = [r for r in rows if r["success"]]
    named = [_variant(r) for r in wins]
    verb = "succeeds" if len(wins) == 1 else "succeed"
    text = (
        f"{len(wins)} of the {len(rows)} variants {verb}: {listed(named)}."
        if wins
        else f"None of the {len(rows)} variants succeeds."
    )
    paper = [r for r in rows if lab_results.exploration(r["method"]).base == ablation.PAPER]
    if paper:
        best = max(paper, key=lambda r: r["spearman"])
        done = any(r["success"] for r in paper)
        text += (
            f" Among the variants of the paper's model, {'some succeed' if done else 'none succeeds'}; its "
            f"weights follow visibility at most with a Spearman of {best['spearman']:+.2f} "
            f"({_variant(best, inside=True)})."
        )
    return text


def _variant(row: dict, inside: bool = False) -> str:
    """A row of the search in a sentence: the head's spoken name and what the variant changes (its own
    suffix, else the row's factor, such as the population; after a comma ``inside`` parentheses)."""
    base = lab_results.exploration(row["method"]).base
    change = lab_results.label(row["method"]).removeprefix(lab_results.label(base)).removeprefix(", ")
    change = change or row["factor"]
    return f"{spoken(base)}, {change}" if inside else f"{spoken(base)} ({change})"


def agreement(main: Facts, checks: dict[str, Facts]) -> str:
    """Whether checks of a verdict (``{"on clean videos": facts, ...}``) give its answers: against mean pooling
    and against normalised mean pooling, where each answer holds and where it changes to what."""
    sentences = []
    for attr, name in (("vs_mean", "mean pooling"), ("vs_mean_l2", "normalised mean pooling")):
        base = (getattr(main, attr) or {}).get("decision", 0)
        found = {w: getattr(f, attr).get("decision", 0) for w, f in checks.items() if getattr(f, attr) is not None}
        if not found:
            continue
        moved: dict[int, list[str]] = {}
        for where, d in found.items():
            if d != base:
                moved.setdefault(d, []).append(where)
        if not moved:
            sentences.append(
                f"Against {name}, {'every check' if len(found) > 1 else 'the check'} gives the same answer"
            )
            continue
        changes = [f"{RELATION[d]} it {listed(ws)}" for d, ws in moved.items()]
        held = [w for w, d in found.items() if d == base]
        sentence = f"Against {name}, the answer changes: the paper's model {listed(changes)}"
        sentences.append(sentence + (f"; {listed(held)}, it holds" if held else ""))
    return ". ".join(sentences) + "." if sentences else ""


def listed(items: list[str]) -> str:
    """Items as a person lists them: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ----------------------------------------------------------------------------- tables
def _cell(c: dict | None) -> str:
    if c is None:
        return ""
    t = c["t"]
    if not math.isfinite(t["low"]):
        return f"{t['diff']:+.1f} (no interval)"
    mark = {1: " ↑", -1: " ↓", 0: ""}[c.get("decision", 0)]
    return f"{t['diff']:+.1f} [{t['low']:.1f}, {t['high']:.1f}]{mark}"


def _boot(c: dict | None) -> str:
    b = (c or {}).get("bootstrap")
    return "" if b is None else f"[{b['low']:.1f}, {b['high']:.1f}]"


def _gap(c: dict | None) -> str:
    g = (c or {}).get("gap_closed")
    if not g:
        return ""
    text = f"{100 * g['share']:.0f}%"
    return text + (f" [{100 * g['low']:.0f}, {100 * g['high']:.0f}]" if "low" in g else "")


def _mean_std(s: dict | None, digits: int = 1) -> str:
    return "" if s is None else f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"


# What the columns of table_rows mean, for the text under a table.
COLUMNS = (
    "Columns: the splits a row ran on; rank-1 and mAP, mean ± std over them; Δ R1, the paired difference to "
    "mean pooling on the splits both rows have, with its 95% Student-t interval (↑/↓ where it stays decided "
    "after Holm's correction over the table's comparisons); the 95% interval of the bootstrap over persons "
    "(splits share persons, so the t interval is optimistic); the share of the oracle's gap closed with its "
    "bootstrap interval; Spearman of the scores with the true visibility within each video."
)


def table_rows(table: dict, methods=None, baseline: str = ablation.BASELINE) -> list[dict]:
    """Rows of an ablation table: rank-1 and mAP (mean ± std over splits), the paired rank-1 difference to
    ``baseline`` with its 95% t interval over splits (↑/↓: decided after Holm's correction), the person
    bootstrap's 95% interval, the share of the oracle's gap closed [95% bootstrap interval], Spearman."""
    rows = []
    for name in methods or list(table["methods"]):
        if name not in table["methods"]:
            continue
        s = table["methods"][name]["summary"]
        vs = s.get(f"vs_{baseline}")
        rows.append(
            {
                "method": lab_results.label(name) if name in lab_results.ALL else ablation.METHODS[name].label,
                "splits": s["splits"],
                "R1 (mean ± std)": _mean_std(s["rank1"]),
                "mAP": _mean_std(s["mAP"]),
                f"Δ R1 vs {ablation.METHODS[baseline].label} [95% CI]": _cell(vs),
                "bootstrap [95%]": _boot(vs),
                "gap closed [95%]": _gap(vs),
                "Spearman (± std)": _mean_std(s.get("spearman"), 2),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    """A Markdown table of :func:`table_rows`' rows."""
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
