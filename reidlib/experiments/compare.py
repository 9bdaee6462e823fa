"""Paired comparisons of an ablation's runs: the numbers behind every verdict (chapters 11 and 1).

An ablation *table* is ``{"methods": {name: {"label": str, "splits": [run, ...]}}}``: one record per
split, in split order, each with its metrics (%), and for the person bootstrap its ``query_pids`` and
per-query ``ranks`` (1 = a rank-1 hit). :func:`summarize_table` adds a ``summary`` to each method:
mean ± std of the metrics, its difference to the baselines (a Student-t interval over splits, the
bootstrap over persons as a cross-check, Holm's correction over the family, the smallest
detectable effect and the decision), the share of the oracle's gap it closes, its Spearman
correlation with visibility and, for heads with weights, what its test-time ablation changes.
Both protocols use it: the end-to-end ablation (``reidlib/results/accuracy.json``) and the lab
(``reidlib/results/lab.json``).
"""

from __future__ import annotations

import numpy as np

from .. import stats

METRICS = ("rank1", "rank5", "rank10", "rank20", "mAP")
# The test-time stand-ins each head's own lambda is compared with (reidlib.evaluation.lambda_ablation).
STAND_INS = ("constant", "shuffled", "visibility")


def split_values(runs: list[dict], key: str = "rank1") -> np.ndarray:
    """One number per split."""
    return np.array([r[key] for r in runs], dtype=float)


def query_rows(runs: list[dict], variant: tuple[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(person id, 100 x rank-1 hit) of every (split, query) row of ``runs`` (of a test-time ``variant``
    (name, side) when given); empty when per-query ranks were not recorded."""
    ranks = [_of(r, variant).get("ranks") for r in runs]
    if not all("query_pids" in r for r in runs) or any(x is None for x in ranks):
        return np.zeros(0), np.zeros(0)
    pids = np.concatenate([np.asarray(r["query_pids"]) for r in runs])
    return pids, np.concatenate([100.0 * (np.asarray(x) == 1) for x in ranks])


def _of(run: dict, variant: tuple[str, str] | None) -> dict:
    """A run's own result, or that of a test-time variant (name, side) of its ablation."""
    return run if variant is None else run["ablation"][variant[0]][variant[1]]


def _same_splits(a: list[dict], b: list[dict]) -> bool:
    return [r["split"] for r in a] == [r["split"] for r in b]


def common(*tables: list[dict]) -> list[list[dict]]:
    """Each list of runs restricted to the splits that all of them have, in split order: a method run on
    fewer splits than its baseline is compared on its own splits only."""
    shared = set.intersection(*({r["split"] for r in runs} for runs in tables))
    return [sorted((r for r in runs if r["split"] in shared), key=lambda r: r["split"]) for runs in tables]


def difference(
    a: list[dict], b: list[dict], key: str = "rank1", a_variant: tuple | None = None, b_variant: tuple | None = None
) -> dict:
    """a - b paired over the same splits: the t interval (``t``), the bootstrap over persons (``bootstrap``,
    rank-1 only, when per-query ranks were recorded) and the smallest effect the design detects (``mde``).

    ``a_variant``, ``b_variant``: compare test-time variants (name, side) of the runs' ablations instead of
    the runs' own results (e.g. ``("own", "l2")`` against ``("constant", "l2")``).
    """
    if not _same_splits(a, b):
        raise ValueError(
            f"paired differences need the same splits; found {[r['split'] for r in a]} and {[r['split'] for r in b]}."
        )
    va = np.array([_of(r, a_variant)[key] for r in a], dtype=float)
    vb = np.array([_of(r, b_variant)[key] for r in b], dtype=float)
    t = stats.paired_t(va, vb)
    out = {
        "t": t.to_dict(),
        "mde": stats.detectable_effect(float(np.std(va - vb, ddof=1)), len(va)) if len(va) > 1 else None,
    }
    pa, ha = query_rows(a, a_variant)
    pb, hb = query_rows(b, b_variant)
    if key == "rank1" and len(pa) and np.array_equal(pa, pb):
        out["bootstrap"] = stats.person_bootstrap(ha - hb, pa).to_dict()
    return out


def gap_closed(method: list[dict], floor: list[dict], ceiling: list[dict]) -> dict | None:
    """(method - floor) / (ceiling - floor) in rank-1, with a bootstrap interval over persons; None when
    the ceiling is not above the floor."""
    gap = split_values(ceiling).mean() - split_values(floor).mean()
    if not gap > 0:
        return None
    share = (split_values(method).mean() - split_values(floor).mean()) / gap
    out = {"share": float(share)}
    p, hm = query_rows(method)
    pf, hf = query_rows(floor)
    pc, hc = query_rows(ceiling)
    if len(p) and np.array_equal(p, pf) and np.array_equal(p, pc):
        boot = stats.person_bootstrap(hm - hf, p, denominator=hc - hf)
        out.update(low=boot.low, high=boot.high)
    return out


def decision(comparison: dict, p_adjusted: float | None) -> int:
    """+1 / -1 / 0 from a comparison's t interval and its Holm-adjusted p (:func:`reidlib.stats.decide`)."""
    return stats.decide(stats.Difference(**comparison["t"]), p_adjusted)


def correct_family(comparisons: dict) -> None:
    """Holm's correction over a family of comparisons, and each one's decision, in place."""
    names = list(comparisons)
    adjusted = stats.holm([comparisons[n]["t"]["p"] for n in names])
    for n, p in zip(names, adjusted, strict=True):
        comparisons[n]["holm_p"] = None if np.isnan(p) else float(p)
        comparisons[n]["family"] = len(names)
        comparisons[n]["decision"] = decision(comparisons[n], comparisons[n]["holm_p"])


FAMILIES = {"mean": ("oracle", None), "mean_l2": ("oracle_l2", None)}


def summarize_table(table: dict, families: dict | None = None) -> dict:
    """Fill in each method's ``summary`` (see the module docstring) in place; return the table.

    ``families``: {baseline: (ceiling or None, members or None)}. Each member (None: every other method
    of the table) is compared with the baseline on the splits both have, when there are at least two
    (key ``vs_<baseline>``), one Holm family per baseline,
    and the gap the baseline leaves to the ceiling is the yardstick of its ``gap_closed``.
    """
    methods = table["methods"]
    for m in methods.values():
        runs = m["splits"]
        s = {k: stats.mean_std(split_values(runs, k)) for k in METRICS if all(k in r for r in runs)}
        s["splits"] = len(runs)
        for key in ("spearman", "spearman_untrained"):
            v = np.array([r[key] for r in runs if r.get(key) is not None], float)
            v = v[np.isfinite(v)]
            s[key] = stats.mean_std(v) if len(v) else None
        m["summary"] = s
    for base, (ceil, members) in (FAMILIES if families is None else families).items():
        if base not in methods:
            continue
        names = [n for n in (members or methods) if n in methods and n != base]
        pairs = {n: common(methods[n]["splits"], methods[base]["splits"]) for n in names}
        family = {n: difference(a, b) for n, (a, b) in pairs.items() if len(a) > 1}
        correct_family(family)
        for n, c in family.items():
            if n != ceil and ceil in methods:
                runs = common(methods[n]["splits"], methods[base]["splits"], methods[ceil]["splits"])
                c["gap_closed"] = gap_closed(*runs) if len(runs[0]) > 1 else None
            methods[n]["summary"][f"vs_{base}"] = c
    _test_time(methods)
    return table


def trained_side(runs: list[dict]) -> str:
    """ "l2" when every run's own rank-1 with L2 at test time is its reported rank-1 (it was trained with
    L2), else "raw": the side on which its test-time stand-ins are compared."""
    return "l2" if all(r["ablation"]["own"]["l2"]["rank1"] == r["rank1"] for r in runs) else "raw"


def _test_time(methods: dict) -> None:
    """For each head with a test-time ablation: its own lambda against each stand-in (on the side it was
    trained with), and its own lambda with L2 against without (one Holm family per stand-in)."""
    families: dict[str, dict[str, dict]] = {}
    for n, m in methods.items():
        runs = m["splits"]
        if not all("ablation" in r for r in runs):
            continue
        variants = runs[0]["ablation"]
        side = trained_side(runs)
        m["summary"]["trained_side"] = side
        means = {f"{k}_{sd}": float(np.mean([r["ablation"][k][sd]["rank1"] for r in runs])) for k in variants
                 for sd in ("raw", "l2")}  # fmt: skip
        m["summary"]["test_time"] = {"rank1": means}
        for k in STAND_INS:
            if k in variants:
                families.setdefault(k, {})[n] = difference(runs, runs, a_variant=("own", side), b_variant=(k, side))
        families.setdefault("l2", {})[n] = difference(runs, runs, a_variant=("own", "l2"), b_variant=("own", "raw"))
    for k, fam in families.items():
        correct_family(fam)
        for n, c in fam.items():
            methods[n]["summary"]["test_time"][f"own_vs_{k}"] = c


def lighten(table: dict, drop=()) -> dict:
    """The table without its per-query data (``query_pids``, ``ranks``, ``ap``, the ablation's ranks) and the
    run fields ``drop``, in place: what a results file keeps once the summaries are made."""
    bulky = ("query_pids", "ranks", "ap", *drop)
    for m in table["methods"].values():
        for r in m["splits"]:
            for k in bulky:
                r.pop(k, None)
            for variant in r.get("ablation", {}).values():
                for side in variant.values():
                    side.pop("ranks", None)
    return table
