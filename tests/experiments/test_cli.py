"""`python -m reidlib train | evaluate | experiment | weights` end to end on the synthetic `tiny` data."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from reidlib.cli import build_parser, main, parse_splits

TINY = ("--data.preset", "tiny", "--schedule", "demo", "--train.epochs", "1", "--train.window", "4")
TINY += ("--train.batch_size", "8", "--device", "cpu")


def run(*args, cache):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "reidlib", *args, "--data.cache_dir", str(cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout + out.stderr


def test_help_lists_the_commands_and_the_dataclass_options(capsys):
    out = build_parser().format_help()
    assert all(c in out for c in ("train", "evaluate", "experiment", "collect", "weights", "info", "--debug"))
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in (
        "--config",
        "--schedule",
        "--data.dataset",
        "--data.preset",
        "--model.head",
        "--train.epochs",
        "--train.lr",
        "--test_data",
        "--flip",
        "--split",
        "--out",
        "--resume",
        "prid2011",
    ):
        assert option in out, option
    assert "Learning rate of SGD" in out  # the help text is the dataclass field's docstring


def test_schedule_sets_the_defaults_and_flags_override_them():
    ns = build_parser("prid2011").parse_args(["train", "--schedule", "prid2011", "--train.epochs", "3", "--out", "x"])
    train = ns.train.train
    assert (train.epochs, train.milestones, train.lr, train.batch_size) == (3, (800, 1100), 1e-4, 1)


def test_splits_are_parsed_and_bad_ones_explained():
    assert parse_splits("0-2,5") == [0, 1, 2, 5] and parse_splits("all", 3) == [0, 1, 2] and parse_splits(None) is None
    with pytest.raises(ValueError, match="expected e.g. 0, 0-9"):
        parse_splits("first")


def test_weights_command_passes_its_options_to_make_weights(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr("reidlib.cli.make_weights", lambda *a, **kw: calls.append((a, kw)))
    assert main(["weights", "--heads", "[max]"]) == 1  # refused before any data is made
    assert "not shipped heads" in capsys.readouterr().err and not calls
    assert main(["weights", "--heads", "[mean]", "--epochs", "3", "--device", "cpu", "--out", "w"]) == 0
    assert calls == [((["mean"], "w", "runs/weights"), {"device": "cpu", "epochs": 3})]
    with pytest.raises(SystemExit) as e:
        main(["info", "--bogus"])  # unknown options are refused
    assert e.value.code == 2


def test_an_unusable_device_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    code = main(
        ["train", *TINY[:-2], "--device", "cuda", "--out", str(tmp_path / "r"), "--data.cache_dir", str(tmp_path / "c")]
    )
    err = capsys.readouterr().err
    assert code == 1 and "cuda" in err and "Traceback" not in err, err
    assert not (tmp_path / "c").exists()  # nothing was rendered


@pytest.mark.slow
def test_train_repeat_evaluate_experiment_on_tiny(tmp_path):
    cache, run_dir = tmp_path / "cache", tmp_path / "runs" / "t"
    out = run("train", *TINY, "--split", "1", "--out", str(run_dir), cache=cache)
    assert "| combined (synthetic-tiny) |" in out
    for name in ("config.yaml", "checkpoint.pt", "history.json", "results.json", "results.md"):
        assert (run_dir / name).exists(), name
    trained = json.loads((run_dir / "results.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["split"] == 1 and config["train"]["epochs"] == 1 and config["model"]["head"] == "combined"

    # the same run again from its config.yaml: identical numbers
    assert main(["train", "--config", str(run_dir / "config.yaml"), "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert {k: again[k] for k in ("rank1", "mAP", "cmc", "final_loss")} == {
        k: trained[k] for k in ("rank1", "mAP", "cmc", "final_loss")
    }

    # the checkpoint tested again (in this process: the code path of `python -m reidlib`)
    ev = [
        "evaluate",
        "--data.preset",
        "tiny",
        "--data.cache_dir",
        str(cache),
        "--checkpoint",
        str(run_dir / "checkpoint.pt"),
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "ev"),
    ]
    assert main([*ev, "--splits", "1"]) == 0
    tested = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert tested["mean"]["rank1"] == trained["rank1"]  # the saved model reproduces its results
    assert main([*ev, "--splits", "0"]) == 1  # split 0's test persons are split 1's training persons

    exp = tmp_path / "exp"
    args = ["experiment", *TINY, "--model.head", "mean", "--splits", "0-1", "--out", str(exp)]
    assert main([*args, "--data.cache_dir", str(cache)]) == 0
    res = json.loads((exp / "results.json").read_text())
    assert res["n"] == 2 and [r["split"] for r in res["splits"]] == [0, 1]
    assert (exp / "results.md").read_text().count("| mean (synthetic-tiny) |") == 1
    assert yaml.safe_load((exp / "split0" / "config.yaml").read_text())["model"]["head"] == "mean"
