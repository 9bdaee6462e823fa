"""Pair sampling, the training loop, checkpoints and resume, on the synthetic `tiny` data."""

import json

import numpy as np
import pytest
import torch

from reidlib.data import load_dataset
from reidlib.models import VideoReIDNet
from reidlib.preprocess import preprocess_dataset
from reidlib.training import (
    SCHEDULES,
    PairSampler,
    TrainConfig,
    build_model,
    export_weights,
    load_checkpoint,
    load_model,
    model_config,
    read_checkpoint,
    save_checkpoint,
    schedule,
    train,
)
from reidlib.training import checkpoint as ckpt_mod
from reidlib.training.loop import EpochBatches
from reidlib.training.recipes import SiameseRecipe


def fresh_model(ds, split=0, head="combined", seed=0):
    torch.manual_seed(seed)
    return VideoReIDNet(len(ds.splits[split]["train"]), head=head)


# ------------------------------------------------------------------ pairs
def test_pair_sampler_is_balanced_and_seeded(tiny):
    ds, _ = tiny
    train_set = ds.split(0)[0]
    s = PairSampler(train_set, seed=3, window=16)
    persons = sorted({t.pid for t in train_set})
    assert s.pids == persons and len(s) == 2 * len(persons)
    pairs = s.epoch(0)
    pos, neg = [p for p in pairs if p.same], [p for p in pairs if not p.same]
    assert len(pos) == len(neg) == len(persons)
    assert sorted(p.first.pid for p in pos) == persons  # one positive per person
    assert all(p.first.pid == p.second.pid and (p.first.camid, p.second.camid) == (0, 1) for p in pos)
    assert sorted(p.first.pid for p in neg) == persons  # one negative per person
    assert all(p.first.pid != p.second.pid for p in neg)
    for p in pairs:
        assert p.label1 == persons.index(p.first.pid) and p.label2 == persons.index(p.second.pid)
        for t, idx in ((p.first, p.idx1), (p.second, p.idx2)):
            assert len(idx) == 16 and 0 <= idx.min() and idx.max() < len(t)

    def key(ps):
        return [
            (p.first.pid, p.first.camid, p.second.pid, p.second.camid, p.aug_seed, tuple(p.idx1), tuple(p.idx2))
            for p in ps
        ]

    assert key(PairSampler(train_set, seed=3).epoch(0)) == key(pairs)  # same seed and epoch: same pairs
    assert key(s.epoch(1)) != key(pairs) and key(PairSampler(train_set, seed=4).epoch(0)) != key(pairs)


def test_pair_sampler_rejects_unusable_persons(tiny):
    ds, _ = tiny
    train_set = ds.split(0)[0]
    one_cam = [t for t in train_set if not (t.pid == train_set[0].pid and t.camid == 1)]
    with pytest.raises(ValueError, match=rf"one camera only, e\.g\. pids \[{train_set[0].pid}\]"):
        PairSampler(one_cam)
    with pytest.raises(ValueError, match="at least 2 training persons"):
        PairSampler([t for t in train_set if t.pid == train_set[0].pid])


def test_batches_pad_unequal_lengths_with_a_mask(tiny):
    ds, data = tiny
    pairs = PairSampler(ds.split(0)[0], window=16, short="skip").epoch(0)[:4]
    x, mask, same, labels, vis = SiameseRecipe.collate(pairs, data)
    lengths = [len(p.idx1) for p in pairs] + [len(p.idx2) for p in pairs]
    assert x.shape == (8, max(lengths), 5, 56, 40)
    assert labels.tolist() == [p.label1 for p in pairs] + [p.label2 for p in pairs]
    assert len(set(lengths)) > 1, "the case needs windows of unequal lengths"
    assert mask.sum(1).tolist() == lengths and vis is None
    assert same.tolist() == [p.same for p in pairs]


# ------------------------------------------------------------------ presets
def test_schedules_follow_the_paper():
    assert SCHEDULES["ilidsvid"].milestones == (1300,) and SCHEDULES["ilidsvid"].epochs == 1400
    assert SCHEDULES["prid2011"].milestones == (800, 1100) and SCHEDULES["sduvid"].milestones == (1200,)
    assert all(SCHEDULES[n].lr == 1e-4 and SCHEDULES[n].batch_size == 1 for n in ("ilidsvid", "prid2011", "sduvid"))
    assert schedule("prid2011", epochs=3).epochs == 3
    with pytest.raises(ValueError, match="unknown training setting"):
        schedule("demo", epoch=3)
    with pytest.raises(ValueError, match="unknown training schedule 'fast'"):
        schedule("fast")
    with pytest.raises(ValueError, match=r"\['lr'\]"):
        TrainConfig(lr=-1)
    assert TrainConfig.from_dict(SCHEDULES["demo"].to_dict()) == SCHEDULES["demo"]


# ------------------------------------------------------------------ training
@pytest.mark.slow
def test_four_epochs_lower_the_loss(tiny, pair_loss, demo_train):
    ds, data = tiny
    model = fresh_model(ds)
    before = pair_loss(model, ds, data)
    calls = []

    def validate(m):
        calls.append(m is model and not m.training)
        return 42.0

    history = demo_train(
        model,
        ds,
        data,
        epochs=4,
        batch_size=2,
        window=8,
        val_every=1,
        validate=validate,
    )
    after = pair_loss(model, ds, data)
    assert after < 0.9 * before, (before, after)
    assert history["epoch"] == [0, 1, 2, 3] and len(history["loss"]) == len(history["hinge"]) == 4
    assert history["val_epoch"] == [0, 1, 2, 3] and history["val_rank1"] == [42.0] * 4 and calls == [False] * 4
    assert all(0 <= a <= 1 for a in history["id_acc"]) and history["lr"] == [1e-3] * 4


@pytest.mark.slow
def test_dataloader_workers_give_the_batches_and_weights_of_the_plain_loop(tiny, demo_train):
    """workers > 0 builds the same batches in other processes (each pair carries its augmentation seed):
    on a CPU the weights after training are bit-identical."""
    ds, data = tiny
    pairs = PairSampler(ds.split(0)[0], seed=0, window=6).epoch(0)
    batches = [pairs[i : i + 3] for i in range(0, len(pairs), 3)]
    epoch = EpochBatches(batches, data, SiameseRecipe.collate, visibility=False)
    loader = torch.utils.data.DataLoader(epoch, batch_size=None, num_workers=2)
    for b, got in zip(batches, loader, strict=True):
        want = SiameseRecipe.collate(b, data)
        for g, w in zip(got, want, strict=True):
            assert (g is None and w is None) or torch.equal(g, w)
    weights = []
    for workers in (0, 2):
        model = fresh_model(ds)
        demo_train(
            model,
            ds,
            data,
            epochs=2,
            batch_size=3,
            window=6,
            val_every=0,
            workers=workers,
        )
        weights.append(model.state_dict())
    for k in weights[0]:
        assert torch.equal(weights[0][k], weights[1][k]), k


def test_learning_rate_schedule_is_applied(tiny):
    ds, data = tiny
    h = train(
        fresh_model(ds),
        ds,
        0,
        "demo",
        data=data,
        progress=False,
        epochs=3,
        milestones=(1, 2),
        val_every=0,
        window=2,
        batch_size=8,
    )
    np.testing.assert_allclose(h["lr"], [1e-3, 1e-4, 1e-5])


def run_and_weights(model, ds, data, out, **kw):
    train(
        model,
        ds,
        0,
        "demo",
        data=data,
        progress=False,
        out_dir=out,
        epochs=3,
        batch_size=2,
        window=6,
        val_every=0,
        save_every=1,
        **kw,
    )
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.slow
def test_resume_after_a_kill_mid_epoch_gives_the_same_weights(tiny, tmp_path):
    ds, data = tiny
    want = run_and_weights(fresh_model(ds), ds, data, tmp_path / "whole")

    class Killed(Exception):
        pass

    def kill(epoch, step, parts):
        if (epoch, step) == (1, 1):  # in the middle of the second epoch
            raise Killed

    with pytest.raises(Killed):
        run_and_weights(fresh_model(ds), ds, data, tmp_path / "cut", on_step=kill)
    assert read_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 1
    torch.manual_seed(123)  # the global generators move on: resume must restore them
    np.random.seed(123)
    got = run_and_weights(fresh_model(ds, seed=7), ds, data, tmp_path / "cut", resume=True)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, msg=k)
    h1 = json.loads((tmp_path / "whole" / "history.json").read_text())
    h2 = json.loads((tmp_path / "cut" / "history.json").read_text())
    assert h1["loss"] == h2["loss"] and h2["epoch"] == [0, 1, 2]


def test_resume_refuses_other_settings_and_overwrite(tiny, tmp_path):
    ds, data = tiny
    run_and_weights(fresh_model(ds), ds, data, tmp_path)
    with pytest.raises(ValueError, match=r"settings differ \(lr: 0.001 -> 0.01\)"):
        run_and_weights(fresh_model(ds), ds, data, tmp_path, resume=True, lr=1e-2)
    with pytest.raises(FileExistsError, match="pass resume=True"):
        run_and_weights(fresh_model(ds), ds, data, tmp_path)


def test_resume_refuses_another_head_flow_or_data(tiny, tmp_path):
    """A resumed run must be the same run: another head, another flow method or other frames (another
    occlusion rate renders other pictures) are refused with the differences named."""
    ds, data = tiny
    run_and_weights(fresh_model(ds), ds, data, tmp_path)
    with pytest.raises(ValueError, match=r"cannot resume.*model_config\.head: 'combined' -> 'softmax'"):
        run_and_weights(fresh_model(ds, head="softmax"), ds, data, tmp_path, resume=True)
    farneback = preprocess_dataset(ds, cache_dir=tmp_path / "fb", flow_method="farneback", progress=False)
    with pytest.raises(ValueError, match=r"preprocessing\.flow_method: 'lk' -> 'farneback'"):
        run_and_weights(fresh_model(ds), ds, farneback, tmp_path, resume=True)
    other = load_dataset("synthetic", preset="tiny", seed=0, occlusion=0.0)
    other_data = preprocess_dataset(other, cache_dir=tmp_path / "occ0", progress=False)
    with pytest.raises(ValueError, match=r"preprocessing\.dataset: "):
        run_and_weights(fresh_model(other), other, other_data, tmp_path, resume=True)


def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(tiny, tmp_path):
    """After a good first epoch the learning rate jumps by 1e6 (gamma at milestone 1): the loss explodes,
    training stops with an error, and the checkpoint of the good epoch is left as it was."""
    ds, data = tiny
    kw = dict(data=data, out_dir=tmp_path, progress=False, batch_size=2, window=6, val_every=0, save_every=1)
    with pytest.raises(
        FloatingPointError, match=r"(grew to .* in epoch 1, over 100 x that of the first step|nan in epoch 1)"
    ):
        train(fresh_model(ds), ds, 0, "demo", epochs=4, milestones=(1,), gamma=1e6, clip_value=None, **kw)
    ckpt = read_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["epoch"] == 1 and all(bool(torch.isfinite(v).all()) for v in ckpt["model"].values())
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epoch"] == [0]  # the run files stop at the last good epoch too


def test_non_finite_weights_are_never_saved(tiny, tmp_path, monkeypatch, demo_train):
    """A NaN gradient on the last step used to save NaN weights without an error."""
    ds, data = tiny
    model = fresh_model(ds)
    calls = {"n": 0}
    real_step = torch.optim.SGD.step

    def poisoned(self, *a, **kw):  # the last step of the run writes a NaN into one weight
        calls["n"] += 1
        out = real_step(self, *a, **kw)
        if calls["n"] == 4:
            with torch.no_grad():
                model.classifier.weight[0, 0] = float("nan")
        return out

    monkeypatch.setattr(torch.optim.SGD, "step", poisoned)
    with pytest.raises(FloatingPointError, match=r"weights \['classifier\.weight'\] are not finite"):
        demo_train(
            model,
            ds,
            data,
            out_dir=tmp_path,
            epochs=1,
            batch_size=2,
            window=6,
            val_every=0,
            diverge_factor=None,
        )
    assert not (tmp_path / "checkpoint.pt").exists()


def test_a_kill_while_saving_keeps_the_last_good_checkpoint(tiny, tmp_path, monkeypatch):
    ds, _ = tiny
    model = fresh_model(ds)
    path = save_checkpoint(tmp_path / "checkpoint.pt", model, epoch=1)
    good = path.read_bytes()

    def dies_halfway(obj, f):
        f.write(b"partial bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt_mod.torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == good and read_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind


def test_nan_loss_stops_with_a_clear_error(tiny):
    ds, data = tiny
    model = fresh_model(ds)
    with torch.no_grad():
        model.classifier.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"loss became nan in epoch 0.*Lower the learning rate"):
        train(model, ds, 0, "demo", data=data, progress=False, epochs=1)


def test_bad_setups_are_explained(tiny, tmp_path):
    ds, data = tiny
    with pytest.raises(ValueError, match=r"has 3 identity classes.*VideoReIDNet\(num_classes=4\)"):
        train(VideoReIDNet(3), ds, 0, data=data, progress=False)
    with pytest.raises(RuntimeError, match="model is on cpu but device=meta"):
        train(fresh_model(ds), ds, 0, data=data, progress=False, device="meta")
    with pytest.raises(ValueError, match="amp=True .* needs a CUDA device"):
        train(fresh_model(ds), ds, 0, data=data, progress=False, amp=True)
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        train(fresh_model(ds), ds, 0, data=data, progress=False, resume=True)


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_from_another_architecture_names_the_keys(tiny, tmp_path):
    ds, _ = tiny
    path = save_checkpoint(tmp_path / "c.pt", fresh_model(ds, head="combined"), epoch=0)
    with pytest.raises(ValueError, match=r"(?s)not in the model: \['head\.scorer.*Build the model with"):
        load_checkpoint(path, fresh_model(ds, head="mean"))
    with pytest.raises(ValueError, match=r"classifier\.weight: \(4, 128\) in the checkpoint vs \(5, 128\)"):
        load_checkpoint(path, VideoReIDNet(5))
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(path, fresh_model(ds), optimizer=torch.optim.SGD(fresh_model(ds).parameters(), lr=1))


def test_checkpoint_versions_and_foreign_files_are_refused(tiny, tmp_path):
    ds, _ = tiny
    path = save_checkpoint(tmp_path / "c.pt", fresh_model(ds), epoch=0)
    newer = torch.load(path, weights_only=False)
    newer["format_version"] = 99
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match="format version 99.*Upgrade reidlib"):
        read_checkpoint(tmp_path / "newer.pt")
    torch.save(fresh_model(ds).state_dict(), tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="not a reidlib checkpoint"):
        read_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        read_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("head_kw", [dict(activation="softmax"), dict(windows=(5, 3, 3), variant="8s")])
def test_checkpoints_keep_the_head_options(tmp_path, head_kw):
    """A head option must survive save and load: a softmax head must not come back as a sigmoid one."""
    torch.manual_seed(0)
    model = VideoReIDNet(4, head="attention", **head_kw).eval()
    assert {k: model_config(model)[k] for k in head_kw} == head_kw
    loaded, _ = load_model(save_checkpoint(tmp_path / "c.pt", model, epoch=1))
    assert model_config(loaded) == model_config(model)
    x = torch.randn(2, 6, 5, 56, 40)
    torch.testing.assert_close(loaded(x), model(x))


def test_exported_weights_rebuild_the_model(tiny, tmp_path):
    ds, _ = tiny
    model = fresh_model(ds, head="rnn_attention")
    full = save_checkpoint(
        tmp_path / "c.pt", model, torch.optim.SGD(model.parameters(), lr=0.1), epoch=5, history={"loss": [1.0]}
    )
    small = export_weights(full, tmp_path / "small.pt", results={"rank1": 50.0})
    assert small.stat().st_size < full.stat().st_size
    loaded, ckpt = load_model(small)
    assert model_config(loaded) == model_config(model) and ckpt["results"]["rank1"] == 50.0
    assert "optimizer" not in ckpt and "rng" not in ckpt
    x = torch.randn(2, 6, 5, 56, 40)
    model.eval()
    torch.testing.assert_close(loaded(x)[0], model(x)[0])
    assert isinstance(build_model(model_config(model)), VideoReIDNet)
