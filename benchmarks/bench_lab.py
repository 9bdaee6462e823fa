"""The lab: every head of the ablation on frozen frame features, 10 splits, two conditions, two protocols.

The frame CNN of the shipped mean-pooling model (trained on persons 0-299 of synthetic `standard`)
is frozen; the frame features of a population it never saw are cached once; each head is trained
on each split's 150 training persons until its loss stops improving (reidlib.experiments.lab) and
tested on the other 150, with its own lambda and with stand-ins. Two identity protocols: "raw"
(the paper: the identity classifier reads F) and "unit" (every head's classifier reads 16 F/|F|).

  .venv/bin/python benchmarks/bench_lab.py --jobs 2
      (the primary population, both conditions and protocols: 15 heads x 10 splits x 4, about an hour
      on two cores)
  .venv/bin/python benchmarks/bench_lab.py --population held_out --identities raw --jobs 2
      (the confirmation on another seed: other persons and other cameras)
  .venv/bin/python benchmarks/bench_lab.py --report
      (no training: reidlib/results/lab.json and its RESULTS.md section from the records)

Each finished run is one line of benchmarks/results/lab/<population>/<protocol>-<condition>.jsonl
(kept in the repository, with its loss curve and per-query ranks), so an interrupted run resumes.
A record made with other settings (another stopping rule, backbone or lab version) is refused.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import torch
from results_md import heading, write_section

from reidlib.book import verdicts
from reidlib.experiments import lab
from reidlib.experiments.shipped import device_name

POPULATIONS = {
    "primary": lab.PRIMARY,
    "held_out": lab.HELD_OUT,
    "light": lab.LIGHT,
    "heavy": lab.HEAVY,
    "quick": lab.QUICK,
}
RECORDS = Path(__file__).with_name("results") / "lab"
OUT = lab.RESULTS

_FEATURES: dict = {}  # a worker's loaded features, by (population, condition)


def settings(args, identity: str) -> dict:
    """What a record must share with the others of its file: the lab's config and the backbone."""
    return {"config": lab.LabConfig(identity=identity).to_dict(), "backbone": lab.backbone_facts()}


def records_file(population: str, identity: str, condition: str) -> Path:
    return RECORDS / population / f"{identity}-{condition}.jsonl"


def read_records(path: Path, expect: dict) -> dict[tuple[str, int], dict]:
    """{(method, split): record} of a records file; an error when a record was made with other settings."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        r = json.loads(line)
        r["settings"].pop("splits", None)  # the first records named the number of splits, which changes no run
        if r["settings"] != expect:
            raise SystemExit(
                f"{path} holds a run made with other settings ({r['settings']}; now {expect}). Move the file away "
                "to start afresh, or run with the settings it was made with."
            )
        out[(r["method"], r["split"])] = r
    return out


def _work(population: str, condition: str, identity: str, method: str, split: int, args_splits: int) -> dict:
    """One run in a worker process (one torch thread)."""
    torch.set_num_threads(1)
    key = (population, condition)
    if key not in _FEATURES:
        _FEATURES[key] = lab.lab_features(POPULATIONS[population], condition, num_splits=args_splits)
    return lab.run_method(_FEATURES[key], method, split, lab.LabConfig(identity=identity))


def run_all(args) -> None:
    for condition in args.conditions:  # features once, before the workers read them
        lab.lab_features(POPULATIONS[args.population], condition, num_splits=args.splits, progress=True)
    todo = []
    for identity in args.identities:
        for condition in args.conditions:
            done = read_records(records_file(args.population, identity, condition), settings(args, identity))
            todo += [
                (args.population, condition, identity, m, s)
                for s in range(args.splits)
                for m in args.methods
                if (m, s) not in done
            ]
    print(f"{len(todo)} lab runs to train, {args.jobs} at a time", flush=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(_work, *job, args.splits): job for job in todo}
        for i, f in enumerate(as_completed(futures), 1):
            population, condition, identity, m, s = futures[f]
            record = {**f.result(), "settings": settings(args, identity)}
            path = records_file(population, identity, condition)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as out:
                out.write(json.dumps(record) + "\n")
            print(
                f"[{i}/{len(todo)} {time.perf_counter() - t0:.0f} s] {identity} {condition} {m} split {s}: "
                f"rank-1 {record['rank1']:.1f} after {record['epochs']} epochs ({record['seconds']:.0f} s)",
                flush=True,
            )


def report(args) -> dict:
    """reidlib/results/lab.json and its RESULTS.md section, from every records file."""
    results = {
        "command": "python benchmarks/bench_lab.py --report",
        "machine": args.machine or device_name(torch.device("cpu")),
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "design": {
            "backbone": lab.backbone_facts(),
            "config": {k: v for k, v in asdict(lab.LabConfig()).items() if k != "identity"},
            "splits": args.splits,
        },
        "populations": {},
    }
    paper_degraded = {}  # the full records of each population's paper protocol on degraded videos
    for name, population in POPULATIONS.items():
        protocols = {}
        for identity in ("raw", "unit"):
            conditions = {}
            for condition in lab.CONDITIONS:
                records = read_records(records_file(name, identity, condition), settings(args, identity))
                if (identity, condition) == ("raw", "degraded"):
                    paper_degraded[name] = copy.deepcopy(records)
                if records:
                    conditions[condition] = lab.table_of(records, args.splits)
                    conditions[condition]["command"] = table_command(name, identity, condition, conditions[condition])
            if conditions:
                protocols[identity] = conditions
        if protocols:
            results["populations"][name] = {"describe": population.describe(), "protocols": protocols}
    results["explorations"] = lab.explorations(paper_degraded, args.splits)
    lab.save_results(results, args.out)
    section = results_section(results)
    write_section("bench_lab", section)
    print(section)
    return results


def table_command(population: str, identity: str, condition: str, table: dict) -> str:
    """The command that trains (or, its records present, skips) every run of one table."""
    splits = max(r["split"] for m in table["methods"].values() for r in m["splits"]) + 1
    words = ["--population", population, "--identities", identity, "--conditions", condition]
    words += ["--methods", *table["methods"], "--splits", str(splits)]
    return "python benchmarks/bench_lab.py " + shlex.join(words)


def rule_text(rule: dict) -> str:
    """The stopping rule in words."""
    first = {0: "", 1: " (the first such plateau divides the learning rate by 10 instead)"}.get(
        rule["decays"], f" (the first {rule['decays']} such plateaus divide the learning rate by 10 instead)"
    )
    return (
        f"its training loss has not improved by {100 * rule['min_delta']:g}% for {rule['patience']} epochs"
        f"{first}, or for at most {rule['max_epochs']} epochs"
    )


def results_section(results: dict) -> str:
    """The RESULTS.md section, made from the results file."""
    design = results["design"]
    lines = [
        *heading(
            "The lab: temporal heads on frozen frame features (bench_lab.py)", results, "reidlib/results/lab.json"
        ),
        f"Backbone: the frame CNN of the shipped `{design['backbone']['head']}` model, trained on "
        f"{design['backbone']['trained_on']} on degraded videos, then frozen; the same backbone serves the "
        "degraded and the clean videos. Each head (with a per-frame linear adapter and the identity "
        f"classifier) is trained with Eq. 4 and Adam until {rule_text(design['config']['rule'])}; "
        f"{design['splits']} splits of the population's persons into halves. The command under each table trains its "
        f"runs (those in the records are skipped). {verdicts.COLUMNS}",
        "",
    ]
    for name, pop in results["populations"].items():
        for protocol, conditions in pop["protocols"].items():
            for condition, table in conditions.items():
                lines += [
                    f"**{name}** ({pop['describe']}), identity input `{protocol}`, **{condition}**",
                    "",
                    verdicts.markdown(verdicts.table_rows(table)),
                    "",
                    f"Command: `{table['command']}`",
                    "",
                ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", default="primary", choices=list(POPULATIONS))
    ap.add_argument("--conditions", nargs="+", default=list(lab.CONDITIONS), choices=list(lab.CONDITIONS))
    ap.add_argument("--identities", nargs="+", default=["raw", "unit"], choices=["raw", "unit"])
    ap.add_argument("--methods", nargs="+", default=list(lab.METHODS), choices=list(lab.ALL))
    ap.add_argument("--splits", type=int, default=10, help="random halves of the persons (the first N)")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--machine", default=None, help="the machine, in words, for the results file")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--report", action="store_true", help="train nothing: collect the records")
    ap.add_argument("--no-report", action="store_true", help="train only: leave the results file as it is")
    args = ap.parse_args()
    if not args.report:
        run_all(args)
    if not args.no_report:
        report(args)


if __name__ == "__main__":
    main()
