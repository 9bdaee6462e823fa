"""The lab: frozen features of unseen persons, heads trained to a fixed stopping rule, tested and ablated."""

import numpy as np
import pytest
import torch

from reidlib.evaluation import rank_features
from reidlib.experiments import lab
from reidlib.experiments.lab.train import Plateau, batch_loss
from reidlib.experiments.shipped import pretrained
from reidlib.preprocess import make_input

SMALL = lab.Population(count=6)  # persons 300-305 of the primary population


@pytest.fixture(scope="module")
def feats(tmp_path_factory):
    return lab.lab_features(SMALL, "degraded", cache_dir=tmp_path_factory.mktemp("cache"), num_splits=2)


def test_the_backbone_never_saw_the_lab_persons():
    _, record = lab.backbone("mean")
    lab.features.check_unseen(record, lab.PRIMARY)
    lab.features.check_unseen(record, lab.HELD_OUT)  # another seed: other people
    with pytest.raises(ValueError, match="overlap them"):
        lab.features.check_unseen(record, lab.Population(first=250, count=100))


@pytest.mark.slow
def test_cached_features_are_the_backbones_frame_features(feats):
    model, _ = pretrained("mean")
    gen = SMALL.generator("degraded")
    v = feats.videos[3]
    with torch.no_grad():
        ref = model.frame_features(make_input(gen.tracklet(v.pid, v.camid))[None])[0]
    assert feats.frames(v).shape == ref.shape
    assert torch.allclose(feats.frames(v), ref, atol=2e-2)  # conv stages stored as float16
    assert np.array_equal(v.visibility, gen.tracklet(v.pid, v.camid).visibility)
    assert [x.pid for x in feats.videos] == [p for p in SMALL.pids for _ in range(2)]


@pytest.mark.slow
def test_the_cache_is_read_back_not_rebuilt(feats):
    stamps = lambda: {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in feats.folder.rglob("*") if p.is_file()}
    before = stamps()
    again = lab.lab_features(SMALL, "degraded", cache_dir=feats.folder.parents[1], num_splits=2)
    assert torch.equal(again.z, feats.z)
    assert stamps() == before  # no file of the cache was written again


@pytest.mark.slow
def test_an_untrained_mean_head_ranks_as_the_mean_of_the_frozen_features(feats):
    """The adapter starts as the identity: before training, mean pooling is the backbone's own mean pooling."""
    _, query, gallery = feats.split(0)
    net = lab.LabNet(3, "mean").eval()
    res = lab.test_head(net, feats, 0)
    mean = lambda vs: torch.stack([feats.frames(v).mean(0) for v in vs])
    ref = rank_features(mean(query), mean(gallery), query, gallery, details=True)
    assert res["ranks"] == ref["ranks"].tolist() and res["rank1"] == ref["rank1"]
    assert res["query_pids"] == [v.pid for v in query] and res["spearman"] is None


def test_plateau_rule_hand_computed():
    rule = lab.StopRule(patience=2, min_delta=0.1, decays=1, max_epochs=20)
    p = Plateau(rule)
    # 10 -> 8 improves; 7.5 and 7.4 do not beat 8 by 10%: a plateau -> decay; then 7.1 < 7.2: improves;
    # 7.0, 6.9 are not 10% better than 7.1: plateau again -> stop.
    losses = [10, 8, 7.5, 7.4, 7.1, 7.0, 6.9]
    assert [p(e, x) for e, x in enumerate(losses)] == ["go", "go", "go", "decay", "go", "go", "stop"]
    cap = Plateau(lab.StopRule(max_epochs=3))
    assert [cap(e, 10 - e) for e in range(3)] == ["go", "go", "stop"]


@pytest.mark.slow
def test_training_lowers_the_loss_and_follows_the_rule(feats):
    cfg = lab.LabConfig(rule=lab.StopRule(max_epochs=25))
    net, hist = lab.train_head(feats, 0, "combined", cfg)
    assert len(hist["loss"]) <= 25 and hist["stopped"] in ("plateau", "cap")
    assert np.mean(hist["loss"][-3:]) < hist["loss"][0]
    assert not net.training


@pytest.mark.slow
def test_run_method_records_and_repeats(feats):
    cfg = lab.LabConfig(rule=lab.StopRule(max_epochs=8))
    a = lab.run_method(feats, "paper", 1, cfg)
    b = lab.run_method(feats, "paper", 1, cfg)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert a["ablation"]["own"]["l2"]["rank1"] == a["rank1"]
    assert set(a["ablation"]) == {"own", "constant", "shuffled", "visibility"}
    assert len(a["ranks"]) == len(a["query_pids"]) == 3
    oracle = lab.run_method(feats, "oracle", 1, cfg)
    assert oracle["ablation"]["own"]["raw"]["ranks"] == oracle["ablation"]["visibility"]["raw"]["ranks"]
    with pytest.raises(ValueError, match="the lab trains"):
        lab.run_method(feats, "paper_no_flow", 0, cfg)


def test_margin_and_identity_weight_methods_change_the_config():
    assert lab.lab_config("paper_m1").margin == 1.0 and lab.lab_config("mean_no_id").id_weight == 0.0
    with pytest.raises(ValueError, match="identity must be one of"):
        lab.LabConfig(identity="bn")


@pytest.mark.slow
def test_explorations_change_only_what_they_say(feats):
    assert lab.lab_config("paper_5ep").rule.max_epochs == 5 and lab.lab_config("paper").rule.max_epochs == 300
    r = lab.run_method(feats, "sigmoid_mean_5ep", 0)
    assert r["epochs"] == 5 and r["stopped"] == "cap"
    assert lab.exploration("paper_quality").quality and lab.exploration("paper_smooth").smooth > 0
    with pytest.raises(ValueError, match="the lab trains"):
        lab.exploration("nope")


def test_a_quality_branch_scores_from_the_conv_features_only():
    torch.manual_seed(0)
    net = lab.LabNet(3, "attention_mean", quality=True, conv_dim=20).eval()
    z, conv = torch.randn(2, 7, 128), torch.randn(2, 7, 20)
    with torch.no_grad():
        _, _, s1 = net.encode(z, None, conv)
        _, _, s2 = net.encode(torch.randn(2, 7, 128), None, conv)
        _, _, s3 = net.encode(z, None, conv + 1)
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)
    with pytest.raises(ValueError, match="has none"):
        lab.LabNet(3, "mean", quality=True)


@pytest.mark.slow
def test_the_smoothness_term_is_the_mean_squared_step_of_the_weights(feats):
    from reidlib.training import PairSampler

    train, _, _ = feats.split(0)
    batch = PairSampler(train, seed=0).epoch(0)[:4]
    torch.manual_seed(0)
    net = lab.LabNet(3, "attention_mean")
    torch.manual_seed(1)
    plain = batch_loss(net, feats, batch, lab.LabConfig()).detach()
    torch.manual_seed(1)
    smooth = batch_loss(net, feats, batch, lab.LabConfig(), smooth=1e4).detach()
    rows = torch.from_numpy(
        np.stack([p.first.start + p.idx1 for p in batch] + [p.second.start + p.idx2 for p in batch])
    )
    with torch.no_grad():
        _, _, scores = net.encode(feats.z[rows])
    expected = 1e4 * (scores[:, 1:] - scores[:, :-1]).pow(2).mean()
    assert (smooth - plain).item() == pytest.approx(expected.item(), rel=1e-3)


def test_populations_with_other_degradation_rates():
    heavy = lab.HEAVY.generator("degraded")
    base = lab.PRIMARY.generator("degraded")
    assert heavy.distractors == min(1.0, 2 * base.distractors) and heavy.occlusion == 1.0
    assert lab.LIGHT.generator("clean").distractors == 0.0
    assert "x2" in lab.HEAVY.describe() and "x" not in lab.PRIMARY.describe().split("`")[-1]
