"""Golden checksums of short training runs: a refactor of the training loop must keep runs bit-identical.

``tests/fixtures/golden/training.json`` holds, for a few runs on the synthetic `tiny` data (split 0,
the `demo` schedule, one thread), the SHA-256 of the trained weights and the per-epoch history, as the
loop computed them before the loop was split into recipes (issue 26). Both recipes are covered (the
paper's pairs with Eq. 4, and PK batches with the batch-hard triplet loss), with the oracle head (the
visibility travels with the batch), a batch size that leaves a short last batch, gradient-norm
clipping and a learning-rate step, DataLoader workers, and a run that is interrupted and resumed. The
inputs of one step with windows of unequal length (padding and a mask) are checked alone: the samplers
of the loop repeat short tracklets, so training never pads.

Bits depend on the machine's kernels: the checksums are compared exactly on a machine like the one
that wrote them (same torch, CPU capability and architecture); elsewhere the histories are compared
to 1e-4 (relative). Rewrite the fixture only with the code it guards unchanged:
``REIDLIB_CACHE=/tmp/cache .venv/bin/python tests/training/test_golden_training.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from reidlib.models import VideoReIDNet
from reidlib.training import Pair, PairSampler, train

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "training.json"
SMALL_PK = dict(sampler="pk", loss="triplet", pk_persons=2, pk_windows=3, window=6)
# name -> (head, settings over the `demo` schedule); the runs are on split 0 of the `tiny` data
RUNS = {
    "siamese_combined": ("combined", dict(window=8)),
    "siamese_mean_clip_norm": (
        "mean",
        dict(
            window=8,
            epochs=3,
            batch_size=3,
            milestones=(1,),
            clip_value=None,
            clip_norm=1.0,
            id_weight=0.5,
            squared_hinge=False,
            val_every=2,
        ),
    ),
    "siamese_oracle": ("oracle", dict(window=8)),
    "triplet_mean": ("mean", SMALL_PK),
    "triplet_oracle": ("oracle", dict(SMALL_PK, triplet_margin=0.5)),
}
# runs that must reproduce the checksums of "siamese_combined": batches built by a DataLoader worker,
# and the run stopped after its first epoch and resumed
SAME_AS = ("siamese_combined_workers", "siamese_combined_resumed")


def machine() -> dict:
    """What decides the bits of a run besides the code."""
    return dict(torch=torch.__version__, cpu=torch.backends.cpu.get_cpu_capability(), arch=platform.machine())


def weights_sha256(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(value.detach().cpu().numpy()).tobytes())
    return h.hexdigest()


def fresh_model(ds, head: str) -> VideoReIDNet:
    torch.manual_seed(0)
    return VideoReIDNet(len(ds.splits[0]["train"]), head=head)


def weight_sum(model: torch.nn.Module) -> float:
    """A stand-in for validation (recorded in the history as ``val_rank1``): the sum of the weights."""
    with torch.no_grad():
        return float(sum(p.double().sum() for p in model.parameters()))


def sha256_json(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def summary(model, history: dict, steps: list) -> dict:
    """The checksums of a run: its weights, its history without the timings, and every step's loss terms
    (``[epoch, step, terms]``, as ``on_step`` saw them)."""
    plain = {k: v for k, v in history.items() if k != "seconds"}
    return dict(weights=weights_sha256(model), history=sha256_json(plain), steps=steps, values=plain)


def run(ds, data, head: str, settings: dict, **kw) -> dict:
    model, steps = fresh_model(ds, head), []

    def on_step(epoch: int, step: int, parts: dict) -> None:
        steps.append([epoch, step, {k: float(v) for k, v in parts.items()}])

    history = train(
        model, ds, 0, "demo", data=data, progress=False, validate=weight_sum, on_step=on_step, **settings, **kw
    )
    return summary(model, history, steps)


def padded_inputs(ds, data) -> str:
    """SHA-256 of the inputs of one step of pairs whose windows have 5, 8, 3 and 8 frames (padded, masked)."""
    train_set = ds.split(0)[0]
    sampler = PairSampler(train_set, seed=0, window=8)
    a, b = sampler.epoch(0)[:2]
    pairs = [
        Pair(a.first, a.second, a.idx1[:5], a.idx2, a.same, a.label1, a.label2, a.aug_seed),
        Pair(b.first, b.second, b.idx1[:3], b.idx2, b.same, b.label1, b.label2, b.aug_seed),
    ]
    h = hashlib.sha256()
    for value in collate_pairs(pairs, data):
        h.update(b"none" if value is None else np.ascontiguousarray(value.numpy()).tobytes())
    return h.hexdigest()


def collate_pairs(pairs, data):
    """The step inputs of a list of pairs, visibility included: x, mask, same, labels, visibility."""
    from reidlib.training.recipes import SiameseRecipe

    return SiameseRecipe.collate(pairs, data, visibility=True)


def compute(ds, data, tmp: Path) -> dict:
    out = {name: run(ds, data, head, settings) for name, (head, settings) in RUNS.items()}
    head, settings = RUNS["siamese_combined"]
    out["siamese_combined_workers"] = run(ds, data, head, settings, workers=1)
    run(ds, data, head, settings, epochs=1, out_dir=tmp / "resumed")  # stopped after epoch 0 ...
    out["siamese_combined_resumed"] = run(ds, data, head, settings, out_dir=tmp / "resumed", resume=True)
    out["padded_inputs"] = padded_inputs(ds, data)
    return out


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def golden():
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def now(tiny, one_thread, tmp_path_factory):
    ds, data = tiny
    return compute(ds, data, tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", [*RUNS, *SAME_AS])
def test_a_run_is_bit_identical_to_its_golden_checksums(golden, now, name):
    want, got = golden["runs"]["siamese_combined" if name in SAME_AS else name], now[name]
    first = got["steps"][0][0]  # a resumed run's steps start in its second epoch
    assert first == (1 if name.endswith("_resumed") else 0)
    want_steps = [s for s in want["steps"] if s[0] >= first]
    if golden["machine"] == machine():
        assert got["history"] == want["history"], (got["values"], want["values"])
        assert got["weights"] == want["weights"]
        assert got["steps"] == want_steps
    else:  # other kernels: the same run up to rounding
        assert set(got["values"]) == set(want["values"])
        for key, value in want["values"].items():
            if isinstance(value, list) and value and isinstance(value[0], float):
                np.testing.assert_allclose(got["values"][key], value, rtol=1e-4, err_msg=key)
            else:
                assert got["values"][key] == pytest.approx(value, rel=1e-4), key
        assert [s[:2] for s in got["steps"]] == [s[:2] for s in want_steps]
        for (*_, terms), (*_, wanted) in zip(got["steps"], want_steps, strict=True):
            assert terms == pytest.approx(wanted, rel=1e-4)


def test_padded_inputs_are_bit_identical(golden, now):
    assert now["padded_inputs"] == golden["padded_inputs"]


def test_the_golden_runs_differ_from_each_other(golden):
    """The fixture is not one run copied: each run has weights of its own."""
    weights = [r["weights"] for r in golden["runs"].values()]
    assert len(set(weights)) == len(weights) == len(RUNS)


def _write() -> None:
    import os
    import tempfile

    from reidlib.data import load_dataset
    from reidlib.preprocess import preprocess_dataset

    torch.set_num_threads(1)
    ds = load_dataset("synthetic", preset="tiny", seed=0)
    data = preprocess_dataset(ds, cache_dir=os.environ.get("REIDLIB_CACHE"), progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        out = compute(ds, data, Path(tmp))
    for name in SAME_AS:  # checked against the run they equal, not stored
        again = out.pop(name)
        assert again["weights"] == out["siamese_combined"]["weights"], name
        assert again["history"] == out["siamese_combined"]["history"], name
    padded = out.pop("padded_inputs")
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(dict(machine=machine(), runs=out, padded_inputs=padded), indent=1) + "\n")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    _write()
