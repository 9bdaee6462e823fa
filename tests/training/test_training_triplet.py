"""The modern recipe through the one training loop: PK batches, batch-hard triplet + identity loss
(TrainConfig(recipe="triplet")), on the synthetic `tiny` data."""

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reidlib.models import VideoReIDNet
from reidlib.training import PKSampler, TrainConfig, read_checkpoint, schedule, train
from reidlib.training.config import current_names
from reidlib.training.loop import EpochBatches, new_history
from reidlib.training.recipes import TripletRecipe

PK = dict(recipe="triplet", pk_persons=2, pk_windows=3, window=6)


def fresh(ds, seed=0, backbone="paper"):
    torch.manual_seed(seed)
    kw = dict(backbone="resnet18", backbone_kw={"width": 4}) if backbone == "resnet18" else {}
    return VideoReIDNet(len(ds.splits[0]["train"]), head="mean", dropout=0.0, **kw)


def hand_triplet(f: torch.Tensor, labels: torch.Tensor, margin: float) -> float:
    """Batch-hard triplet loss, one anchor at a time (independent of reidlib.losses)."""
    total = 0.0
    for a in range(len(f)):
        d = [float(torch.linalg.vector_norm(f[a] - f[j])) for j in range(len(f))]
        pos = max(d[j] for j in range(len(f)) if j != a and labels[j] == labels[a])
        neg = min(d[j] for j in range(len(f)) if labels[j] != labels[a])
        total += max(0.0, margin + pos - neg)
    return total / len(f)


def pk_yardstick(model, ds, data) -> float:
    """Triplet + identity loss of the PK batches of epoch 0 (seed 0), in eval mode: a fixed yardstick."""
    model.eval()
    total = 0.0
    with torch.no_grad():
        for batch in PKSampler(ds.split(0)[0], 2, 3, window=6, seed=0).epoch(0):
            x, mask, same, labels, _ = TripletRecipe.collate(batch, data)
            f, raw, _ = model.encode(x, mask)
            total += hand_triplet(f, labels, 0.3) + float(F.cross_entropy(model.identity_logits(raw), labels))
    return total


def test_a_pk_triplet_run_lowers_its_loss(tiny):
    ds, data = tiny
    model = fresh(ds)
    before = pk_yardstick(model, ds, data)
    history = train(model, ds, 0, "demo", data=data, progress=False, epochs=8, lr=1e-2, val_every=0, **PK)
    after = pk_yardstick(model, ds, data)
    assert after < 0.8 * before, (before, after)
    assert set(history) == set(new_history("triplet")) and "hinge" not in history
    assert history["epoch"] == list(range(8)) and len(history["triplet"]) == len(history["id"]) == 8
    np.testing.assert_allclose(history["loss"], np.add(history["id"], history["triplet"]), rtol=1e-6)
    assert all(0 <= a <= 1 for a in history["id_acc"])


def test_each_step_is_the_triplet_loss_of_its_pk_batch(tiny, demo_train):
    """The loop's terms are batch-hard triplet (hand-computed on the step's own features) and the
    cross-entropy of every window, on the batches PKSampler draws (P persons x K windows)."""
    ds, data = tiny
    model = fresh(ds)
    batches = PKSampler(ds.split(0)[0], 2, 3, window=6, seed=5).epoch(0)
    captured, seen = [], []
    model.head.register_forward_hook(lambda m, args, out: captured.append(out[0].detach().clone()))
    demo_train(
        model,
        ds,
        data,
        epochs=1,
        seed=5,
        triplet_margin=0.7,
        val_every=0,
        on_step=lambda e, s, parts: seen.append({k: float(v) for k, v in parts.items()}),
        **PK,
    )
    assert len(seen) == len(batches) == 2 and len(captured) == 2
    for f, batch, parts in zip(captured, batches, seen, strict=True):
        labels = torch.as_tensor(batch.labels)
        assert f.shape[0] == len(batch) == 2 * 3
        assert parts["triplet"] == pytest.approx(hand_triplet(f, labels, 0.7), rel=1e-5)
        assert parts["total"] == pytest.approx(parts["triplet"] + parts["id"], rel=1e-6)


def test_pk_batch_inputs_are_the_sampled_windows(tiny):
    ds, data = tiny
    (batch, *_) = PKSampler(ds.split(0)[0], 2, 3, window=6, seed=1).epoch(0)
    x, mask, same, labels, vis = TripletRecipe.collate(batch, data, visibility=True)
    assert x.shape == (6, 6, 5, 56, 40) and mask is None and same is None
    assert labels.tolist() == batch.labels.tolist()
    for i, (t, idx, seed) in enumerate(zip(batch.tracklets, batch.indices, batch.aug_seeds, strict=True)):
        want = data.input(t, train=True, rng=np.random.default_rng(int(seed)), indices=idx)
        assert torch.equal(x[i], want)
        np.testing.assert_array_equal(vis[i].numpy(), np.asarray(t.visibility, np.float32)[idx])


def test_resume_after_a_kill_gives_the_same_weights(tiny, tmp_path):
    ds, data = tiny

    def run(out, **kw):
        model = fresh(ds, backbone="resnet18", seed=kw.pop("seed", 0))
        train(model, ds, 0, "demo", data=data, out_dir=out, progress=False, epochs=3, save_every=1, **PK, **kw)
        return {k: v.clone() for k, v in model.state_dict().items()}

    want = run(tmp_path / "whole")

    class Killed(Exception):
        pass

    def kill(epoch, step, parts):
        if (epoch, step) == (1, 1):
            raise Killed

    with pytest.raises(Killed):
        run(tmp_path / "cut", on_step=kill)
    assert read_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 1
    torch.manual_seed(99)
    got = run(tmp_path / "cut", resume=True, seed=3)
    for k in want:  # batch-norm running statistics included
        torch.testing.assert_close(got[k], want[k], rtol=0, atol=0, msg=k)
    h1, h2 = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("whole", "cut"))
    assert h1["triplet"] == h2["triplet"] and h1["loss"] == h2["loss"] and h2["epoch"] == [0, 1, 2]
    with pytest.raises(ValueError, match=r"settings differ \(triplet_margin: 0.3 -> 0.5\)"):
        run(tmp_path / "cut", resume=True, triplet_margin=0.5)


def test_dataloader_workers_give_the_weights_of_the_plain_loop(tiny):
    ds, data = tiny
    batches = PKSampler(ds.split(0)[0], 2, 3, window=6, seed=0).epoch(0)
    epoch = EpochBatches(batches, data, TripletRecipe.collate, visibility=False)
    loader = torch.utils.data.DataLoader(epoch, batch_size=None, num_workers=1)
    for b, got in zip(batches, loader, strict=True):
        for g, w in zip(got, TripletRecipe.collate(b, data), strict=True):
            assert (g is None and w is None) or torch.equal(g, w)
    weights = []
    for workers in (0, 1):
        model = fresh(ds)
        train(model, ds, 0, "demo", data=data, progress=False, epochs=2, val_every=0, workers=workers, **PK)
        weights.append(model.state_dict())
    for k in weights[0]:
        assert torch.equal(weights[0][k], weights[1][k]), k


@pytest.mark.slow
def test_old_checkpoints_resume_with_the_new_settings_at_their_defaults(tiny, tmp_path):
    """A run saved before the PK settings existed resumes: a missing setting had its default."""
    ds, data = tiny
    kw = dict(data=data, out_dir=tmp_path, progress=False, batch_size=2, window=6, val_every=0, save_every=1)
    train(fresh(ds), ds, 0, "demo", epochs=1, **kw)
    path = tmp_path / "checkpoint.pt"
    ckpt = torch.load(path, weights_only=False)
    for k in ("recipe", "pk_persons", "pk_windows", "triplet_margin"):
        del ckpt["config"][k]
    torch.save(ckpt, path)
    history = train(fresh(ds), ds, 0, "demo", epochs=2, resume=True, **kw)
    assert history["epoch"] == [0, 1]
    with pytest.raises(ValueError, match=r"settings differ \(recipe: 'siamese' -> 'triplet'"):
        train(fresh(ds), ds, 0, "demo", epochs=3, resume=True, **{**kw, **PK})


@pytest.mark.parametrize("recipe, sampler, loss", [("siamese", "pairs", "siamese"), ("triplet", "pk", "triplet")])
def test_checkpoints_that_name_the_recipe_by_sampler_and_loss_resume(tiny, tmp_path, recipe, sampler, loss):
    """Checkpoints written before recipes hold sampler= and loss= instead of recipe=: they resume as that
    recipe, and a run of the other recipe is refused."""
    ds, data = tiny
    kw = dict(data=data, out_dir=tmp_path, progress=False, batch_size=2, val_every=0, save_every=1, **PK)
    kw["recipe"] = recipe
    train(fresh(ds), ds, 0, "demo", epochs=1, **kw)
    path = tmp_path / "checkpoint.pt"
    ckpt = torch.load(path, weights_only=False)
    del ckpt["config"]["recipe"]
    ckpt["config"].update(sampler=sampler, loss=loss)
    torch.save(ckpt, path)
    assert train(fresh(ds), ds, 0, "demo", epochs=2, resume=True, **kw)["epoch"] == [0, 1]
    other = "siamese" if recipe == "triplet" else "triplet"
    with pytest.raises(ValueError, match=rf"settings differ \(recipe: '{recipe}' -> '{other}'\)"):
        train(fresh(ds), ds, 0, "demo", epochs=3, resume=True, **{**kw, "recipe": other})


def test_the_old_names_of_the_recipe_still_configure_it():
    """sampler= and loss= (configs, records and command lines written before recipes) name a recipe: each
    alone, or both when they agree; the config keeps only recipe."""
    triplet = schedule("short", recipe="triplet")
    assert TrainConfig(sampler="pk", loss="triplet") == TrainConfig(recipe="triplet") != TrainConfig()
    assert schedule("short", sampler="pk") == schedule("short", loss="triplet") == triplet
    assert schedule(triplet, sampler="pairs", loss="siamese") == schedule("short")  # the old names decide
    assert TrainConfig(sampler="pk").sampler is None and "sampler" not in triplet.to_dict()
    assert TrainConfig.from_dict({**schedule("short").to_dict(), "sampler": "pk", "loss": "triplet"}) == triplet
    assert current_names({"lr": 0.1, "sampler": "pk", "loss": "triplet"}) == {"lr": 0.1, "recipe": "triplet"}
    assert current_names({"lr": 0.1, "recipe": "triplet"}) == {"lr": 0.1, "recipe": "triplet"}


def test_bad_combinations_are_explained(tiny, monkeypatch):
    ds, data = tiny
    with pytest.raises(ValueError, match=r"sampler='pk' and loss='siamese' name different recipes"):
        TrainConfig(sampler="pk", loss="siamese")
    with pytest.raises(ValueError, match=r"sampler='pk' and loss='siamese' name different recipes"):
        current_names({"sampler": "pk", "loss": "siamese"})
    with pytest.raises(ValueError, match=r"sampler='triplets' is not one of \['pairs', 'pk'\].*now recipe="):
        TrainConfig(sampler="triplets")
    with pytest.raises(ValueError, match=r"loss='contrastive' is not one of \['siamese', 'triplet'\]"):
        TrainConfig(loss="contrastive")
    with pytest.raises(ValueError, match=r"\['recipe'\].*recipe in \['siamese', 'triplet'\]"):
        TrainConfig(recipe="contrastive")
    with pytest.raises(ValueError, match=r"\['pk_windows'\].*pk_persons, pk_windows >= 2"):
        TrainConfig(recipe="triplet", pk_windows=1)
    with pytest.raises(ValueError, match=r"\['pk_persons', 'triplet_margin'\]"):
        TrainConfig(recipe="triplet", pk_persons=1, triplet_margin=0)
    assert TrainConfig.from_dict(schedule("short", **PK).to_dict()) == schedule("short", **PK)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match=r"recipe='triplet' trains in one process; this is one of 2"):
        train(fresh(ds), ds, 0, "demo", data=data, progress=False, epochs=1, **PK)


def test_the_oracle_head_trains_on_pk_batches(tiny):
    """Visibility travels with the windows of a PK batch (the oracle head pools with it)."""
    ds, data = tiny
    torch.manual_seed(0)
    model = VideoReIDNet(len(ds.splits[0]["train"]), head="oracle", dropout=0.0)
    before = copy.deepcopy(model.state_dict())
    history = train(model, ds, 0, "demo", data=data, progress=False, epochs=1, val_every=0, **PK)
    assert np.isfinite(history["loss"][0])
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
