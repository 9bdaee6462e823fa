"""The ablation of the temporal heads: every method of reidlib.experiments.ablation.METHODS, one budget.

Each method is trained on each split of the degraded synthetic benchmark (``--data``) and of
its clean counterpart (``<data>_clean``: the same persons and cameras, no occluder, distractor
or detection failure), with the same schedule, from weights seeded by the split, and tested on
the split's test persons (whole videos). Besides CMC and mAP, every run with attention scores
records Spearman(score, true visibility) within each degraded test video, trained and untrained;
each run also keeps the per-epoch means of its training loss and of its hinge term.

  .venv/bin/python benchmarks/bench_accuracy.py --data small --jobs 2
      (the table on a 2-core CPU: about 4 minutes a run, two at a time; runs resume)
  python benchmarks/bench_accuracy.py --data standard --device cuda --jobs 24
      (the budget of the shipped weights, on a GPU: benchmarks/gpu_run.sh)
  .venv/bin/python benchmarks/bench_accuracy.py --data small --report
      (no training: the results file and the RESULTS.md section from the runs already finished)

Every run is kept in --work (default runs/bench_accuracy) and reused, so an interrupted benchmark
continues where it stopped. A method whose runs are not all in --work keeps its rows of the
existing results file when that file was made with the same budget, so that adding a method to
METHODS trains only the new one (``--methods NEW``). The results go to
reidlib/results/accuracy.json (--out), which the chapters read (reidlib.experiments.ablation),
and to the section of benchmarks/RESULTS.md between its "bench_accuracy" markers.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from results_md import heading, write_section

import reidlib
from reidlib.book import verdicts
from reidlib.data import PRESETS
from reidlib.evaluation import attention_visibility, evaluate, frame_features, lambda_ablation
from reidlib.experiments import (
    DataConfig,
    ExperimentConfig,
    ablation,
    initial_model,
    load_data,
    run_split,
    schedule,
    spread,
)
from reidlib.experiments.compare import lighten, trained_side
from reidlib.experiments.shipped import device_name

CONDITIONS = {"degraded": "{data}", "clean": "{data}_clean"}


def experiment(args, condition: str, method: str) -> ExperimentConfig:
    m = ablation.METHODS[method]
    data = DataConfig(preset=CONDITIONS[condition].format(data=args.data), use_flow=m.use_flow)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("milestones", args.milestones)) if v is not None}
    train = schedule(args.schedule, val_every=0, **{**m.train, **overrides})
    return ExperimentConfig(data=data, model=m.model, train=train)


def budget_tag(args, condition: str, method: str) -> str:
    """The budget in a folder name: data, schedule and epochs (runs of different budgets never mix)."""
    return f"{args.data}-{args.schedule}-{experiment(args, condition, method).train.epochs}ep"


def run_dir(args, condition: str, method: str, split: int) -> Path:
    """The run folder (checkpoints; in --work, not kept in the repository)."""
    return Path(args.work) / budget_tag(args, condition, method) / condition / method / f"split{split}"


def record_path(args, condition: str, method: str, split: int) -> Path:
    """A finished run's record (in --records, kept in the repository so that a later session resumes)."""
    return Path(args.records) / budget_tag(args, condition, method) / condition / method / f"split{split}.json"


def spearman(res: dict) -> float | None:
    """Mean within-video Spearman(score, visibility) over the test videos whose visibility varies."""
    if res["query_scores"][0] is None:
        return None
    rho = attention_visibility(res["query_scores"] + res["gallery_scores"], res["query"] + res["gallery"])
    return rho["per_tracklet"]


def run_one(args, condition: str, method: str, split: int) -> dict:
    """Train and test one (condition, method, split), or read it back when it is done.

    The record holds the metrics, each query's person and first-match rank (for the bootstrap over
    persons), the per-epoch training loss and hinge, the Spearman correlations, and for every head
    with weights the test-time ablation of its lambda (reidlib.evaluation.lambda_ablation).
    """
    done = record_path(args, condition, method, split)
    if done.exists():
        return json.loads(done.read_text())
    out = run_dir(args, condition, method, split)
    config = experiment(args, condition, method)
    data = load_data(config.data, progress=False)
    device = torch.device(args.device) if args.device else reidlib.device()
    degraded = condition == "degraded"  # on the clean data visibility barely varies: no correlation to read
    untrained = initial_model(config, data.dataset, split).to(device)
    rho0 = spearman(evaluate(untrained, data.dataset, split, data=data.prepared, details=True)) if degraded else None
    t0 = time.perf_counter()
    res = run_split(config, split, out_dir=out, resume=True, device=device, progress=False, data=data, details=True)
    seconds = round(time.perf_counter() - t0, 1)
    history = json.loads((out / "history.json").read_text())
    result = {m: res[m] for m in ablation.METRICS}
    result.update(
        split=split,
        seconds=seconds,
        spearman=spearman(res) if degraded else None,
        spearman_untrained=rho0,
        final_loss=res["final_loss"],
        query_pids=[t.pid for t in res["query"]],
        ranks=res["ranks"].tolist(),
        ap=[round(float(a), 5) for a in res["ap"]],
        history={k: [round(v, 4) for v in history[k]] for k in ("loss", "hinge")},
    )
    if hasattr(res["model"].head, "weigh") or res["model"].head_name == "mean":
        result["ablation"] = test_time_ablation(res["model"], res["query"], res["gallery"], data)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(result))
    return result


def test_time_ablation(model, query: list, gallery: list, data) -> dict:
    """The trained head pooled with its own, a constant, a shuffled and the true-visibility lambda, each
    with and without L2 -> {variant: {"raw" | "l2": {rank1, mAP, ranks}}}."""
    qz = frame_features(model, query, data.prepared)
    gz = frame_features(model, gallery, data.prepared)
    ablated = lambda_ablation(model.head, qz, gz, query, gallery)
    return {
        k: {side: {"rank1": r["rank1"], "mAP": r["mAP"], "ranks": r["ranks"].tolist()} for side, r in v.items()}
        for k, v in ablated.items()
    }


def prepare(args) -> None:
    """Render and preprocess each condition's data once (the runs then only read it)."""
    for condition in args.conditions:
        for use_flow in sorted({ablation.METHODS[m].use_flow for m in args.methods}):
            cfg = replace(experiment(args, condition, args.methods[0]).data, use_flow=use_flow)
            load_data(cfg, progress=False)


def run_all(args) -> None:
    """Every missing run as its own process (``--jobs`` at a time, one torch thread each)."""
    jobs = [
        (c, m, s)
        for s in args.splits
        for c in args.conditions
        for m in args.methods
        if not record_path(args, c, m, s).exists()
    ]
    print(f"{len(jobs)} runs to train, {args.jobs} at a time", flush=True)
    if not jobs:
        return
    prepare(args)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    Path(args.work).mkdir(parents=True, exist_ok=True)

    def launch(job, slot):
        c, m, s = job
        cmd = [sys.executable, __file__, "--one", c, m, str(s), *_shared(args)]
        log = open(Path(args.work) / f"{c}-{m}-split{s}.log", "w")  # noqa: SIM115 (the child writes it)
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    codes = spread(jobs, [str(i) for i in range(args.jobs)], launch, poll_s=2.0)
    failed = [j for j, code in codes.items() if code != 0]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) failed, e.g. {failed[:3]}; see their logs in {args.work}.")


def _budget(args) -> list[str]:
    """The command-line words that fix the budget: the data and the schedule."""
    words = ["--data", args.data, "--schedule", args.schedule]
    words += ["--epochs", str(args.epochs)] if args.epochs is not None else []
    words += ["--milestones", *map(str, args.milestones)] if args.milestones is not None else []
    return words


def _shared(args) -> list[str]:
    """The words a child run shares with its parent: the budget, the runs folder and the device."""
    device = ["--device", args.device] if args.device else []
    return [*_budget(args), "--work", args.work, "--records", args.records, *device]


def data_facts(args, condition: str) -> dict:
    """What the condition's test videos hold: persons, frames, how many show less than half of the person."""
    preset = CONDITIONS[condition].format(data=args.data)
    data = load_data(DataConfig(preset=preset), progress=False)
    ds = data.dataset
    facts = dict(preset=preset, persons=len(ds.pids), test_persons=len(ds.splits[0]["test"]))
    vis = [t.visibility for t in ds.tracklets if t.visibility is not None]
    frames = sum(len(v) for v in vis)
    facts.update(frames=frames, share_visibility_below_half=sum(float((v < 0.5).sum()) for v in vis) / frames)
    return facts


def kept_rows(args, budget: dict) -> dict:
    """The methods of the existing results file, per condition, when it was made with ``budget``."""
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    if old.get("budget") != budget or old.get("splits") != list(args.splits):
        return {}
    return {c: cond["methods"] for c, cond in old["conditions"].items()}


def reproduce(args) -> str:
    """The command that trains every run of the results file (whichever subset this call trained)."""
    return "python benchmarks/bench_accuracy.py " + shlex.join(_budget(args))


def report(args) -> dict:
    """Collect the finished runs (and the kept rows of the methods not run here) into the results file
    and the RESULTS.md section."""
    cfg = experiment(args, "degraded", ablation.BASELINE)
    facts = data_facts(args, "degraded")
    results = {
        "command": reproduce(args),
        "machine": args.machine or device_name(torch.device(args.device or reidlib.device())),
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "splits": list(args.splits),
        "budget": {
            "data": args.data,
            "schedule": args.schedule,
            "epochs": cfg.train.epochs,
            "batch_size": cfg.train.batch_size,
            "lr": cfg.train.lr,
            "persons": facts["persons"],
            "test_persons": facts["test_persons"],
        },
        "conditions": {},
    }
    kept = kept_rows(args, results["budget"])
    for condition in CONDITIONS:
        methods = {}
        for m in ablation.METHODS:
            done = [d for d in (record_path(args, condition, m, s) for s in args.splits) if d.exists()]
            if len(done) > 1:  # a method still running is shown on the splits it finished, and says so
                methods[m] = {"label": ablation.METHODS[m].label, "splits": [json.loads(d.read_text()) for d in done]}
            elif m in kept.get(condition, {}):
                methods[m] = kept[condition][m]
                print(f"{condition} {m}: kept from {args.out} (its runs are not in {args.work})")
        results["conditions"][condition] = {**data_facts(args, condition), "methods": methods}
    ablation.summarize(results)
    for cond in results["conditions"].values():
        lighten(cond)  # the per-query data stay in the records (--records)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    section = results_section(results)
    print(section)
    write_section("bench_accuracy", section)
    print(f"\nresults: {out}; RESULTS.md section updated")
    return results


BUDGETS = {20: None, 60: [45], 120: [90]}  # epochs -> milestones (None: the schedule's own, 15)
BUDGET_METHODS = (ablation.BASELINE, ablation.BASELINE_L2, ablation.PAPER)
BUDGET_SPLITS = (0, 1)


def _acts(runs: list[dict]) -> dict:
    """A head's constant-lambda rank-1 minus its own (on the side it was trained with, as
    ``reidlib.experiments.compare`` pairs them) and its Spearman with visibility, each a mean over ``runs``."""
    side = trained_side(runs)
    change = [r["ablation"]["constant"][side]["rank1"] - r["ablation"]["own"][side]["rank1"] for r in runs]
    return {"constant_minus_own": sum(change) / len(runs), "spearman": sum(r["spearman"] for r in runs) / len(runs)}


def budget_report(args) -> dict:
    """reidlib/results/budget.json: mean pooling, with L2, and the paper's model after 20, 60 and 120 epochs
    on (up to) two splits (degraded), from the records; and its RESULTS.md section. Each length lists the
    splits on which all three methods have finished."""
    table = {}
    for epochs, milestones in BUDGETS.items():
        at = argparse.Namespace(**{**vars(args), "epochs": epochs if milestones else None, "milestones": milestones})
        splits = [
            s for s in BUDGET_SPLITS if all(record_path(at, "degraded", m, s).exists() for m in BUDGET_METHODS)
        ]  # the splits every method has finished: the rows compare the same persons
        if not splits:
            print(f"budget study: {epochs} epochs not started or not finished on any split, left out")
            continue
        runs = {m: [json.loads(record_path(at, "degraded", m, s).read_text()) for s in splits] for m in BUDGET_METHODS}
        table[str(epochs)] = {
            m: {k: sum(r[k] for r in rs) / len(rs) for k in ("rank1", "mAP", "final_loss")} for m, rs in runs.items()
        }
        for m, rs in runs.items():
            if all("constant" in r.get("ablation", {}) for r in rs):  # a head with weights: do they act?
                table[str(epochs)][m] |= _acts(rs)
        table[str(epochs)]["splits"] = splits
    results = {
        "command": "python benchmarks/bench_accuracy.py --data small --conditions degraded --methods mean mean_l2 "
        "paper --splits 0 1 --epochs E --milestones M  (E, M = 60, 45 and 120, 90; then --budget-report)",
        "data": args.data,
        "splits": list(BUDGET_SPLITS),
        "methods": list(BUDGET_METHODS),
        "epochs": table,
        "date": time.strftime("%Y-%m-%d"),
    }
    ablation.BUDGET.write_text(json.dumps(results, indent=1))
    lines = [
        "## The training budget, end to end (bench_accuracy.py --budget-report)",
        "",
        f"Rank-1 (%) on degraded synthetic `{args.data}`, mean over the splits of {list(BUDGET_SPLITS)} that every "
        "method has finished at that length, after 20, 60 and 120 epochs of the `short` schedule (the learning "
        "rate falls tenfold at three quarters of the run). Results file: `reidlib/results/budget.json`.",
        "",
        "| epochs | splits | " + " | ".join(ablation.METHODS[m].label for m in BUDGET_METHODS) + " |",
        "|---|---|" + "---|" * len(BUDGET_METHODS),
    ]
    lines += [
        f"| {e} | {', '.join(map(str, r['splits']))} | "
        + " | ".join(f"{r[m]['rank1']:.1f}" for m in BUDGET_METHODS)
        + " |"
        for e, r in table.items()
    ]
    section = "\n".join(lines)
    write_section("bench_accuracy_budget", section)
    print(section)
    return results


def results_section(results: dict) -> str:
    """The RESULTS.md section, made from the results file."""
    b = results["budget"]
    lines = [
        *heading(
            "The ablation of the temporal heads, end to end (bench_accuracy.py)",
            results,
            "reidlib/results/accuracy.json",
        ),
        f"A fixed budget, the same for every method: synthetic `{b['data']}` ({b['persons']} persons, "
        f"{b['test_persons']} per test split), up to {len(results['splits'])} splits (see each row), "
        f"{b['epochs']} epochs of the `{b['schedule']}` schedule ({b['batch_size']} pairs a step, lr {b['lr']}). "
        f"These runs are not converged: the training loss is still falling when they stop. {verdicts.COLUMNS}",
        "",
    ]
    for condition, cond in results["conditions"].items():
        if not cond["methods"]:
            continue
        lines += [
            f"**{condition}** (`{cond['preset']}`: {100 * cond['share_visibility_below_half']:.1f}% of frames show "
            "less than half of the person)",
            "",
            verdicts.markdown(verdicts.table_rows(cond)),
            "",
        ]
    if ablation.PAPER in results["conditions"]["degraded"]["methods"]:
        f = verdicts.end_to_end_facts(results)
        lines += ["Verdict (computed by `reidlib.book.verdicts.verdict`): " + verdicts.verdict(f=f), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        default="small",
        choices=[p for p in PRESETS if not p.endswith("_clean")],
        help="synthetic size (its degraded preset and <size>_clean)",
    )
    ap.add_argument("--splits", nargs="+", type=int, default=list(range(10)))
    ap.add_argument("--methods", nargs="+", default=list(ablation.METHODS), choices=list(ablation.METHODS))
    ap.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    ap.add_argument("--schedule", default="short", help="training schedule (default: short, the shipped weights')")
    ap.add_argument("--epochs", type=int, help="override the schedule's epochs")
    ap.add_argument("--milestones", nargs="*", type=int, help="override the schedule's milestones (epochs)")
    ap.add_argument("--jobs", type=int, default=2, help="training processes at a time")
    ap.add_argument("--device", default=None)
    ap.add_argument("--machine", default=None, help="the machine, in words, for the results file")
    ap.add_argument("--work", default="runs/bench_accuracy", help="run folders (checkpoints)")
    ap.add_argument(
        "--records", default="benchmarks/results/accuracy", help="finished runs' records (kept in the repository)"
    )
    ap.add_argument("--out", default=str(ablation.ACCURACY))
    ap.add_argument("--report", action="store_true", help="train nothing: collect the finished runs")
    ap.add_argument("--no-report", action="store_true", help="train only: leave the results file as it is")
    ap.add_argument("--budget-report", action="store_true", help="train nothing: the budget study's file")
    ap.add_argument("--one", nargs=3, metavar=("CONDITION", "METHOD", "SPLIT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        torch.set_num_threads(1)
        c, m, s = args.one
        r = run_one(args, c, m, int(s))
        print(f"{c} {m} split {s}: rank-1 {r['rank1']:.1f}, mAP {r['mAP']:.1f}, {r['seconds']:.0f} s")
        return
    if args.budget_report:
        budget_report(args)
        return
    if not args.report:
        run_all(args)
    if not args.no_report:
        report(args)


if __name__ == "__main__":
    main()
