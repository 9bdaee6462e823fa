"""`python -m reidlib train | evaluate | experiment` end to end on the synthetic `tiny` data."""

import json
import os
import subprocess
import sys

import pytest

from reidlib.cli import build_parser, main


def run(*args, cache):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "reidlib", *args, "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout + out.stderr


def test_help_lists_the_commands_and_options(capsys):
    out = build_parser().format_help()
    assert all(c in out for c in ("train", "evaluate", "experiment", "info", "--test-dataset"))
    try:
        main(["train", "--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert all(o in out for o in ("--dataset", "--preset", "--split", "--out", "--resume", "prid2011"))


def test_weights_command_passes_its_options_to_make_weights(capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        main(["weights", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m reidlib weights") and all(o in out for o in ("--heads", "--device"))
    with pytest.raises(SystemExit) as e:
        main(["weights", "--heads", "max"])  # refused before any data is made
    assert e.value.code == 2 and "invalid choice: 'max'" in capsys.readouterr().err
    calls = []
    monkeypatch.setattr("reidlib.training.shipped.make_weights", lambda *a, **kw: calls.append((a, kw)))
    assert main(["weights", "--heads", "mean", "--epochs", "3", "--device", "cpu", "--out", "w"]) == 0
    assert calls == [((["mean"], "w", "runs/weights"), {"device": "cpu", "epochs": 3})]
    with pytest.raises(SystemExit) as e:
        main(["info", "--bogus"])  # other commands still refuse unknown options
    assert e.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_train_evaluate_experiment_on_tiny(tmp_path):
    cache, run_dir = tmp_path / "cache", tmp_path / "runs" / "t"
    common = (
        "--dataset",
        "synthetic",
        "--synthetic",
        "tiny",
        "--epochs",
        "1",
        "--window",
        "4",
        "--batch-size",
        "8",
        "--device",
        "cpu",
    )
    out = run("train", *common, "--preset", "quick", "--split", "1", "--out", str(run_dir), cache=cache)
    assert "| combined (synthetic-tiny, split 1) |" in out
    for name in ("config.json", "checkpoint.pt", "history.json", "results.json", "results.md"):
        assert (run_dir / name).exists(), name
    trained = json.loads((run_dir / "results.json").read_text())
    assert json.loads((run_dir / "config.json").read_text())["split"] == 1

    # the other commands in this process (same code path as `python -m reidlib`, without a second start-up)
    assert (
        main(
            [
                "evaluate",
                "--dataset",
                "synthetic",
                "--synthetic",
                "tiny",
                "--checkpoint",
                str(run_dir / "checkpoint.pt"),
                "--splits",
                "1",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "ev"),
                "--cache-dir",
                str(cache),
            ]
        )
        == 0
    )
    again = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert again["mean"] == trained["mean"]  # the saved model reproduces its results

    exp = tmp_path / "exp"
    assert (
        main(["experiment", *common, "--head", "mean", "--splits", "0-1", "--out", str(exp), "--cache-dir", str(cache)])
        == 0
    )
    res = json.loads((exp / "results.json").read_text())
    assert res["n"] == 2 and [r["split"] for r in res["splits"]] == [0, 1]
    assert (exp / "results.md").read_text().count("| mean (synthetic-tiny) |") == 1
