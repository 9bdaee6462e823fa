"""The ablation benchmark's bookkeeping: which rows an update keeps and the command it records."""

import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench():
    sys.path.insert(0, str(BENCH))
    try:
        import bench_accuracy

        yield bench_accuracy
    finally:
        sys.path.remove(str(BENCH))


def _args(tmp_path, **kw):
    base = dict(data="small", schedule="short", work=str(tmp_path / "work"), device=None, epochs=None)
    base.update(milestones=None, splits=[0, 1], out=str(tmp_path / "accuracy.json"))
    return Namespace(**{**base, **kw})


def test_an_update_keeps_the_rows_of_a_file_with_the_same_budget_only(bench, tmp_path):
    budget = {"data": "small", "epochs": 20}
    rows = {"degraded": {"mean": {"splits": [{"split": 0}, {"split": 1}]}}, "clean": {}}
    args = _args(tmp_path)
    assert bench.kept_rows(args, budget) == {}  # no file yet
    Path(args.out).write_text(
        json.dumps({"budget": budget, "splits": [0, 1], "conditions": {c: {"methods": m} for c, m in rows.items()}})
    )
    assert bench.kept_rows(args, budget) == rows
    assert bench.kept_rows(args, {**budget, "epochs": 60}) == {}  # another budget: nothing is mixed in
    assert bench.kept_rows(_args(tmp_path, splits=[0, 1, 2]), budget) == {}  # other splits: nothing either


def test_the_recorded_command_trains_every_run_whatever_subset_was_asked(bench, tmp_path):
    args = _args(tmp_path, epochs=5, milestones=[3])
    cmd = bench.reproduce(args)
    assert cmd == "python benchmarks/bench_accuracy.py --data small --schedule short --epochs 5 --milestones 3"


def test_every_method_builds_its_experiment_with_its_own_training_settings(bench, tmp_path):
    from reidlib.experiments import ablation

    args = _args(tmp_path)
    for name, method in ablation.METHODS.items():
        train = bench.experiment(args, "degraded", name).train  # an unknown TrainConfig field would raise
        assert train.margin == method.train.get("margin", 2.0), name
    assert bench.experiment(args, "clean", ablation.PAPER_M1).train.margin == 1.0
