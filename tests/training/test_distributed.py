"""Data-parallel training (2 processes, gloo, on the cpu) equals one process with the same global batch."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from reidlib.cli import main as cli_main
from reidlib.cli import parse
from reidlib.data import load_dataset
from reidlib.experiments import DataConfig, ExperimentConfig, ModelConfig, save_config, schedule, spread
from reidlib.experiments.spread import split_command
from reidlib.models import VideoReIDNet
from reidlib.preprocess import preprocess_dataset
from reidlib.training import distributed, read_checkpoint, train

# dropout=0: with dropout each rank draws its own masks (seeded by seed, epoch, rank), and a
# single process draws one mask tensor for the whole batch, so the masks, hence the weights,
# differ; everything else (pairs, augmentation, loss weighting, averaged and clipped gradients) is exact.
SETTINGS = dict(epochs=2, window=6, val_every=0, save_every=1, lr=1e-2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny(cache):
    ds = load_dataset("synthetic", preset="tiny", seed=0, cache_dir=cache / "synthetic")
    return ds, preprocess_dataset(ds, cache_dir=cache / "pre", progress=False)


def fresh(ds):
    torch.manual_seed(5)
    return VideoReIDNet(len({t.pid for t in ds.split(0)[0]}), dropout=0.0)


def state(model, history):
    return {
        "weights": {k: v.clone() for k, v in model.state_dict().items()},
        "history": {k: v for k, v in history.items() if k != "seconds"},
    }


def worker(rank: int, tmp, ports) -> None:
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(ports[0]), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2"
    )
    ds, data = tiny(tmp / "cache")
    out = {}
    # 1. train() creates the process group from torchrun's variables, and destroys it
    model = fresh(ds)
    out["b4"] = state(
        model, train(model, ds, 0, "demo", data=data, progress=False, out_dir=tmp / "ddp", batch_size=4, **SETTINGS)
    )
    assert not dist.is_initialized()
    # 2. a group made by the caller is used and kept; batch 7 of 8 pairs: shares 4+3, then 1+0
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{ports[1]}", rank=rank, world_size=2)
    model = fresh(ds)
    out["b7"] = state(
        model, train(model, ds, 0, "demo", data=data, progress=False, batch_size=7, **{**SETTINGS, "epochs": 1})
    )
    # 3. resume the run of 1. for a third epoch
    model = fresh(ds)
    out["resumed"] = state(
        model,
        train(
            model,
            ds,
            0,
            "demo",
            data=data,
            progress=False,
            out_dir=tmp / "ddp",
            resume=True,
            batch_size=4,
            **{**SETTINGS, "epochs": 3},
        ),
    )
    assert dist.is_initialized()
    dist.destroy_process_group()
    torch.save(out, tmp / f"rank{rank}.pt")


def spawn(tmp, timeout: float = 240.0) -> None:
    ctx = mp.start_processes(worker, args=(tmp, (free_port(), free_port())), nprocs=2, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout
    while not ctx.join(timeout=1.0):  # raises when a worker fails
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"the 2 training processes did not finish in {timeout:.0f} s")


def test_share_splits_each_batch_into_disjoint_contiguous_parts():
    for n in range(10):
        batch = list(range(n))
        for k in range(1, 5):
            parts = [distributed.share(batch, r, k) for r in range(k)]
            assert sum(parts, []) == batch  # in rank order they are the single-process batch
            assert [len(p) for p in parts] == [len(a) for a in np.array_split(np.arange(n), k)]


def test_seeds_differ_by_rank_and_epoch():
    seeds = {distributed.epoch_seed(0, e, r) for e in range(3) for r in range(4)}
    assert len(seeds) == 12 and distributed.epoch_seed(0, 1, 2) == distributed.epoch_seed(0, 1, 2)


@pytest.mark.slow
def test_two_gloo_processes_train_like_one(tmp_path):
    ds, data = tiny(tmp_path / "cache")  # rendered and preprocessed once, read by the workers
    spawn(tmp_path)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]

    model = fresh(ds)
    want = {
        "b4": state(
            model,
            train(model, ds, 0, "demo", data=data, progress=False, out_dir=tmp_path / "one", batch_size=4, **SETTINGS),
        )
    }
    model = fresh(ds)
    want["b7"] = state(
        model, train(model, ds, 0, "demo", data=data, progress=False, batch_size=7, **{**SETTINGS, "epochs": 1})
    )
    model = fresh(ds)
    want["resumed"] = state(
        model,
        train(
            model,
            ds,
            0,
            "demo",
            data=data,
            progress=False,
            out_dir=tmp_path / "one",
            resume=True,
            batch_size=4,
            **{**SETTINGS, "epochs": 3},
        ),
    )
    for run, single in want.items():
        for k, w in single["weights"].items():
            assert torch.equal(ranks[0][run]["weights"][k], ranks[1][run]["weights"][k]), (run, k)  # in step
            # float32 rounding: the ranks' averaged gradients add up in another order (measured: 3e-6 after 2
            # epochs, 2e-5 after 3 on the degraded tiny data); a wrong share or weighting is off by far more
            torch.testing.assert_close(ranks[0][run]["weights"][k], w, rtol=0, atol=5e-5, msg=f"{run}: {k}")
        assert not torch.equal(single["weights"]["cnn.fc.weight"], fresh(ds).state_dict()["cnn.fc.weight"])
        for rank in ranks:  # every rank reports the history over all pairs, as one process does
            for key, values in single["history"].items():
                np.testing.assert_allclose(rank[run]["history"][key], values, rtol=1e-5, err_msg=f"{run}: {key}")
    saved = read_checkpoint(tmp_path / "ddp" / "checkpoint.pt")  # written by rank 0 only, loadable as usual
    assert saved["epoch"] == 3
    for k, v in saved["model"].items():
        torch.testing.assert_close(v, want["resumed"]["weights"][k], rtol=0, atol=5e-5)
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["checkpoint.pt", "history.json"]


def test_too_small_a_batch_for_the_processes_is_explained(tmp_path, monkeypatch):
    ds, data = tiny(tmp_path / "cache")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match=r"batch_size=2 pairs per step cannot be shared by 4 processes"):
        train(fresh(ds), ds, 0, "demo", data=data, progress=False, batch_size=2, epochs=1)
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    with pytest.raises(RuntimeError, match=r"MASTER_ADDR.*torchrun --nproc_per_node"):
        train(fresh(ds), ds, 0, "demo", data=data, progress=False, batch_size=4, epochs=1)


# ------------------------------------------------------------------ experiments spread over GPUs or jobs
class FakeProcess:
    """Finishes after ``polls`` calls of poll(), with exit code ``code``."""

    def __init__(self, polls: int, code: int = 0):
        self.polls, self.code, self.returncode = polls, code, None

    def poll(self):
        self.polls -= 1
        if self.polls <= 0:
            self.returncode = self.code
        return self.returncode


def test_spread_runs_one_split_per_device_at_a_time():
    log, running = [], set()
    lengths = {0: 3, 1: 1, 2: 1, 3: 2, 4: 1}  # polls until each split finishes

    def launch(split, device):
        assert device not in {d for _, d in running}, "two splits on one device"
        running.add((split, device))
        log.append((split, device))
        proc = FakeProcess(lengths[split], code=1 if split == 3 else 0)
        poll = proc.poll

        def tracked_poll():
            code = poll()
            if code is not None:
                running.discard((split, device))
            return code

        proc.poll = tracked_poll
        return proc

    codes = spread([0, 1, 2, 3, 4], ["0", "1"], launch, poll_s=0)
    assert codes == {0: 0, 1: 0, 2: 0, 3: 1, 4: 0}  # a failed split does not stop the others
    # 0 and 1 start together; 1 frees GPU 1 first, so 2 goes there, then 3; 0 frees GPU 0 for 4
    assert log == [(0, "0"), (1, "1"), (2, "1"), (3, "1"), (4, "0")]
    with pytest.raises(ValueError, match="at least one device"):
        spread([0], [], launch)


def fake_result(split, rank1, head="combined", dataset="synthetic-tiny", lr=1e-3):
    cmc = [rank1] + [min(100.0, rank1 + 10.0 * r) for r in range(1, 20)]  # rank 5: 90, 100, 100 for 50, 70, 60
    return {
        "rank1": cmc[0],
        "rank5": cmc[4],
        "rank10": cmc[9],
        "rank20": cmc[19],
        "mAP": rank1 / 2,
        "cmc": cmc,
        "split": split,
        "dataset": dataset,
        "train_dataset": dataset,
        "head": head,
        "config": {"lr": lr},
    }


def write_results(run, results):
    for r in results:
        (run / f"split{r['split']}").mkdir(parents=True, exist_ok=True)
        (run / f"split{r['split']}" / "results.json").write_text(json.dumps(r))


def test_collect_merges_the_splits_into_mean_and_std(tmp_path, capsys):
    run = tmp_path / "exp"
    write_results(run, [fake_result(0, 50.0), fake_result(1, 70.0), fake_result(2, 60.0)])
    assert cli_main(["collect", str(run)]) == 0
    res = json.loads((run / "results.json").read_text())
    assert res["n"] == 3 and [r["split"] for r in res["splits"]] == [0, 1, 2]
    assert res["mean"]["rank1"] == pytest.approx(60.0) and res["std"]["rank1"] == pytest.approx(10.0)  # ddof=1
    assert res["mean"]["mAP"] == pytest.approx(30.0) and res["std"]["mAP"] == pytest.approx(5.0)
    assert "| combined (synthetic-tiny) | 60.0 ± 10.0 | 96.7 ± 5.8 | 100.0 ± 0.0 |" in (run / "results.md").read_text()
    assert cli_main(["collect", str(run), "--splits", "0,2"]) == 0
    assert json.loads((run / "results.json").read_text())["mean"]["rank1"] == pytest.approx(55.0)
    capsys.readouterr()

    assert cli_main(["collect", str(run), "--splits", "0-4"]) == 1  # a user error: one message, no traceback
    err = capsys.readouterr().err
    assert re.search(r"no results for split\(s\) \[3, 4\].*found splits \[0, 1, 2\]", err) and "Traceback" not in err
    write_results(run, [fake_result(3, 40.0, lr=1e-2)])
    assert cli_main(["collect", str(run)]) == 1
    assert re.search("different experiments .*config", capsys.readouterr().err)
    assert cli_main(["collect", str(tmp_path / "empty")]) == 1
    assert "no results for split" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError):
        cli_main(["--debug", "collect", str(tmp_path / "empty")])  # --debug shows the real error


def test_a_spread_split_runs_the_saved_experiment(tmp_path):
    """Each process of a spread experiment reads the experiment from OUT/config.yaml: the same settings."""
    config = ExperimentConfig(
        data=DataConfig(dataset="prid2011", root="/data"),
        model=ModelConfig(head="softmax", head_options={"windows": [5, 3]}),
        train=schedule("prid2011", epochs=7),
        flip=True,
    )
    save_config(config, tmp_path)
    cmd = split_command(tmp_path, 4)
    assert cmd[1:4] == ["-m", "reidlib", "experiment"]
    command, args = parse(cmd[3:])  # as `python -m reidlib` reads it: --config through load_config
    assert command == "experiment"
    again = ExperimentConfig(
        data=args.data, model=args.model, train=args.train, test_data=args.test_data, flip=args.flip
    )
    assert again == config and args.split == 4 and args.out == str(tmp_path)
    assert cli_main(["experiment", "--splits", "0-1", "--split", "1", "--out", str(tmp_path)]) == 1


TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(TORCHRUN is None, reason="torchrun is not installed beside this Python")
def test_torchrun_command_line_trains_with_two_processes(tmp_path):
    run = tmp_path / "ddp"
    cmd = [
        TORCHRUN,
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "reidlib",
        "train",
        "--data.preset",
        "tiny",
        "--schedule",
        "demo",
        "--train.epochs",
        "2",
        "--train.window",
        "6",
        "--train.batch_size",
        "4",
        "--device",
        "cpu",
        "--data.cache_dir",
        str(tmp_path / "c"),
        "--out",
        str(run),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("| combined (synthetic-tiny) |") == 1  # rank 0 alone tests and reports
    assert read_checkpoint(run / "checkpoint.pt")["epoch"] == 2
    assert len(json.loads((run / "history.json").read_text())["loss"]) == 2
