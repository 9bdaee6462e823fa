"""The shipped weights' section of RESULTS.md, made from their records (reidlib/weights/synthetic_<head>.json).

    .venv/bin/python benchmarks/report_weights.py

``make weights`` writes each record (the experiment, where and how long it trained, the test
scores of the exported file on the CPU); this script only turns them into the table between
the "report_weights" markers of RESULTS.md, so the file never holds a number typed by hand.
"""

from __future__ import annotations

import json

from results_md import write_section

from reidlib.evaluation import METRICS
from reidlib.experiments import SHIPPED_HEADS, recorded_experiment, weights_path


def section() -> str:
    records = {h: json.loads(weights_path(h).with_suffix(".json").read_text()) for h in SHIPPED_HEADS}
    first = recorded_experiment(next(iter(records.values())))
    lines = [
        "## Shipped weights (make weights; made from reidlib/weights/*.json by benchmarks/report_weights.py)",
        "",
        f"Recipe (`reidlib.experiments.RECIPE`): synthetic `{first.data.preset}` (seed {first.data.seed}), split "
        f"{next(iter(records.values()))['split']}, {first.train.epochs} epochs of the `short` schedule (lr "
        f"{first.train.lr}, {first.train.batch_size} pairs per step). Each file is tested after export, on the "
        "CPU, on its split's test persons (whole videos); `tests/training/test_training_weights.py` reproduces every "
        "rank-1 and mAP within 1 point and checks each file's SHA-256.",
        "",
        "| head | trained on | threads | train s | " + " | ".join(METRICS) + " |",
        "|---|---|---|---|" + "---|" * len(METRICS),
    ]
    for head, r in records.items():
        cells = " | ".join(f"{r['results'][m]:.1f}" for m in METRICS)
        lines.append(f"| {head} | {r['trained_on']} | {r['torch_threads']} | {r['train_seconds']:.0f} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    print(write_section("report_weights", section()))


if __name__ == "__main__":
    main()
