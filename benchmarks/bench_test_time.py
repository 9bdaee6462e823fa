"""Does the shipped models' attention act at test time? Their heads with a stand-in lambda, with and without L2.

Each shipped model (reidlib/weights) is tested on its own test split (150 persons of synthetic
`standard`, whole videos): its frame features are pooled with the head's own lambda, a constant
(every frame the video's mean lambda), a shuffled one and the true visibility (each with the same
total weight), each with and without L2 normalisation (reidlib.evaluation.lambda_ablation). Mean
pooling gets its own row with and without L2. The paired differences are over the 150 queries
(reidlib.stats: Student-t, and the bootstrap over persons).

  .venv/bin/python benchmarks/bench_test_time.py      (about 2 minutes a model on one CPU core)

Writes reidlib/results/test_time.json (chapter 10 reads it) and its RESULTS.md section.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch
from results_md import heading, write_section

from reidlib import stats
from reidlib.evaluation import frame_features, lambda_ablation
from reidlib.experiments import SHIPPED_HEADS, pretrained, recorded_test_split
from reidlib.experiments.ablation import RESULTS_DIR
from reidlib.experiments.shipped import device_name

OUT = RESULTS_DIR / "test_time.json"
COMMAND = "python benchmarks/bench_test_time.py"


def hits(result: dict) -> np.ndarray:
    return 100.0 * (np.asarray(result["ranks"]) == 1)


def ablate(head: str) -> dict:
    """One shipped model's test-time ablation -> {variant: {side: {rank1, mAP}}} and paired comparisons."""
    model, record = pretrained(head, "cpu")
    query, gallery = recorded_test_split(record)
    qz, gz = frame_features(model, query), frame_features(model, gallery)
    res = lambda_ablation(model.head, qz, gz, query, gallery)
    trained = "l2" if getattr(model.head, "l2_normalize", False) else "raw"
    pids = [t.pid for t in query]
    own = hits(res["own"][trained])
    out = {
        "trained_side": trained,
        "queries": len(query),
        "variants": {k: {s: {m: r[m] for m in ("rank1", "mAP")} for s, r in v.items()} for k, v in res.items()},
        "vs_own": {},
    }
    for k, v in res.items():
        for side, r in v.items():
            if (k, side) == ("own", trained):
                continue
            other = hits(r)
            out["vs_own"][f"{k}_{side}"] = {
                "t": stats.paired_t(other, own, unit="queries").to_dict(),
                "bootstrap": stats.person_bootstrap(other - own, pids).to_dict(),
            }
    return out


def section(results: dict) -> str:
    lines = [
        *heading(
            "Test-time ablation of the shipped models (bench_test_time.py)", results, "reidlib/results/test_time.json"
        ),
        "Rank-1 (%) of each shipped model on its test split "
        "(150 persons of synthetic `standard`) when its head pools the same frame features with its own lambda, "
        "a constant, a shuffled lambda or the true visibility (each with the same total weight), without and with "
        "L2 normalisation. The row the model was trained with is in bold.",
        "",
        "| model | side | own | constant | shuffled | visibility |",
        "|---|---|---|---|---|---|",
    ]
    for head, r in results["models"].items():
        for side in ("raw", "l2"):
            cells = []
            for k in ("own", "constant", "shuffled", "visibility"):
                v = r["variants"].get(k, {}).get(side)
                text = "" if v is None else f"{v['rank1']:.1f}"
                cells.append(f"**{text}**" if (k, side) == ("own", r["trained_side"]) else text)
            lines.append(f"| {head} | {'L2' if side == 'l2' else 'no L2'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    torch.set_num_threads(1)
    results = {
        "command": COMMAND,
        "machine": device_name(torch.device("cpu")),
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "models": {},
    }
    for head in SHIPPED_HEADS:
        t0 = time.perf_counter()
        results["models"][head] = ablate(head)
        print(f"{head}: {time.perf_counter() - t0:.0f} s", flush=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(write_section("bench_test_time", section(results)))


if __name__ == "__main__":
    main()
