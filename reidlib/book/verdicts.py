"""Tables and sentences from the ablation's results (chapters 1, 6, 10, 11 and assignment A3).

Each comparison reads its numbers from a results file's summaries (:mod:`reidlib.experiments.compare`):
a difference with its 95% Student-t interval over splits, the person bootstrap as a cross-check,
Holm's correction over the family of comparisons, and the smallest effect the design detects.
"""

from __future__ import annotations

from ..experiments import ablation
from ..stats import Difference, interval_text

CI = "95% CI"


def interval(comparison: dict | None, what: str = "points") -> str:
    """ "+4.0 points (95% CI 2.4 to 5.6)" from a comparison of a summary (its Student-t interval)."""
    if comparison is None:
        return ""
    return interval_text(Difference(**comparison["t"]), what=what)


def _cell(comparison: dict | None) -> str:
    if comparison is None:
        return ""
    t = comparison["t"]
    if t["low"] != t["low"]:  # NaN: no interval
        return f"{t['diff']:+.1f} (no interval)"
    mark = {1: " ↑", -1: " ↓", 0: ""}[comparison.get("decision", 0)]
    return f"{t['diff']:+.1f} [{t['low']:.1f}, {t['high']:.1f}]{mark}"


def _boot(comparison: dict | None) -> str:
    b = (comparison or {}).get("bootstrap")
    return "" if b is None else f"[{b['low']:.1f}, {b['high']:.1f}]"


def _gap(comparison: dict | None) -> str:
    g = (comparison or {}).get("gap_closed")
    if not g:
        return ""
    text = f"{100 * g['share']:.0f}%"
    return text + (f" [{100 * g['low']:.0f}, {100 * g['high']:.0f}]" if "low" in g else "")


def _mean_std(s: dict | None, digits: int = 1) -> str:
    return "" if s is None else f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"


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
                "method": ablation.METHODS[name].label,
                "R1 (mean ± std)": _mean_std(s["rank1"]),
                "mAP": _mean_std(s["mAP"]),
                f"vs {ablation.METHODS[baseline].label}: Δ R1 [95% CI]": _cell(vs),
                "bootstrap [95%]": _boot(vs),
                "gap closed": _gap(vs),
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
