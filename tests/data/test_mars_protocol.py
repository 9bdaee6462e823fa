"""The MARS protocol on synthetic data (chapter 13): tracklets cut into pieces, queries from every camera,
camera-aware evaluation; re-ranking as an evaluation option (rank_features, evaluate, ExperimentConfig)."""

import numpy as np
import pytest
import torch

from reidlib.data import Tracklet, VideoReIDDataset, load_dataset
from reidlib.data.mars import mars_like
from reidlib.evaluation import distance_matrix, evaluate, evaluate_tracklets, rank_features, rank_metrics, rerank
from reidlib.experiments import ExperimentConfig, ModelConfig, run_split, schedule
from reidlib.experiments.config import load_config, save_config
from reidlib.experiments.run import Data
from reidlib.models import VideoReIDNet
from reidlib.preprocess import preprocess_dataset


@pytest.fixture(scope="module")
def four_cams(tmp_path_factory):
    """8 persons in 4 cameras, each walk cut into 2 tracklets, and its preprocessed frames."""
    ds = load_dataset("synthetic", preset="tiny", seed=0, num_cams=4, num_splits=1)
    m = mars_like(ds, pieces=2, seed=3)
    return ds, m, preprocess_dataset(m, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


@pytest.mark.slow
def test_pieces_queries_and_gallery_follow_the_mars_protocol(four_cams):
    ds, m, _ = four_cams
    assert len(m) == 2 * len(ds) and m.num_splits == 1 and m.persons == ds.persons
    train, query, gallery = m.split(0)
    test = set(ds.splits[0]["test"])
    assert {t.pid for t in train} == set(ds.splits[0]["train"]) and len(train) == 2 * 4 * len(ds.splits[0]["train"])
    for source in ds.tracklets:  # the pieces of a walk are consecutive and cover it exactly
        pieces = sorted((t for t in m.tracklets if t.key[:2] == source.key[:2]), key=lambda t: t.index)
        assert [t.index for t in pieces] == [0, 1]
        np.testing.assert_array_equal(np.concatenate([t.frames for t in pieces]), source.frames)
        np.testing.assert_array_equal(np.concatenate([t.visibility for t in pieces]), source.visibility)
        assert pieces[1].flow_truth[0].tolist() == [0.0, 0.0]
        np.testing.assert_array_equal(pieces[1].flow_truth[1:], source.flow_truth[len(pieces[0]) + 1 :])
    # one query per test person and camera; the other piece of that walk stays in the gallery
    assert sorted((t.pid, t.camid) for t in query) == sorted((p, c) for p in test for c in range(4))
    assert sorted((t.pid, t.camid) for t in gallery) == sorted((t.pid, t.camid) for t in query)
    assert {t.key for t in query}.isdisjoint(t.key for t in gallery)
    assert {t.index for t in query} == {0, 1}  # which piece is drawn with the seed
    assert [t.index for t in mars_like(ds, seed=3).split(0)[1]] == [t.index for t in query]
    assert [t.index for t in mars_like(ds, seed=4).split(0)[1]] != [t.index for t in query]


@pytest.mark.slow
def test_camera_aware_ignores_the_sibling_piece(four_cams):
    """The naive CMC finds the other piece of the query's own walk; the MARS protocol ignores it."""
    _, m, data = four_cams
    _, query, gallery = m.split(0)
    torch.manual_seed(0)
    model = VideoReIDNet(4, head="mean").eval()
    naive = evaluate_tracklets(model, query, gallery, data=data, camera_aware=False, details=True)
    aware = evaluate_tracklets(model, query, gallery, data=data, details=True)
    d = naive["distmat"].numpy()
    gp, gc = np.array([t.pid for t in gallery]), np.array([t.camid for t in gallery])
    for i, q in enumerate(query):  # by hand: drop the same-person same-camera items, then rank
        keep = ~((gp == q.pid) & (gc == q.camid))
        order = np.argsort(d[i, keep], kind="stable")
        assert aware["ranks"][i] == 1 + int(np.argmax(gp[keep][order] == q.pid))
    assert naive["rank1"] > aware["rank1"]  # even untrained, a piece looks most like its sibling
    assert aware["num_skipped"] == 0 and aware["rerank"] is None


def test_too_short_tracklets_are_refused():
    ts = [Tracklet(p, c, np.zeros((n, 4, 4, 3), np.uint8)) for p, c, n in [(0, 0, 6), (0, 1, 3), (1, 0, 6), (1, 1, 6)]]
    ds = VideoReIDDataset("d", ts, [{"train": [0], "test": [1]}])
    with pytest.raises(ValueError, match=r"1 tracklet\(s\) of 'd' are too short to cut into 2 pieces"):
        mars_like(ds)
    assert len(mars_like(ds, pieces=1)) == 4
    with pytest.raises(ValueError, match="pieces must be >= 1"):
        mars_like(ds, pieces=0)


def test_rank_features_reranks_as_the_library_function():
    rng = np.random.default_rng(0)
    query = [Tracklet(p, 0, np.zeros((1, 2, 2, 3), np.uint8)) for p in range(6)]
    gallery = [Tracklet(p % 6, 1, np.zeros((1, 2, 2, 3), np.uint8), index=p // 6) for p in range(12)]
    qf = torch.as_tensor(rng.normal(size=(6, 5)) + np.eye(6, 5))
    gf = torch.as_tensor(rng.normal(size=(12, 5)) + np.tile(np.eye(6, 5), (2, 1)))
    plain = rank_features(qf, gf, query, gallery, details=True)
    res = rank_features(qf, gf, query, gallery, rerank=dict(k1=4, k2=2, lambda_value=0.2), details=True)
    want = rerank(distance_matrix(qf, gf), distance_matrix(qf, qf), distance_matrix(gf, gf), 4, 2, 0.2)
    torch.testing.assert_close(res["distmat"], want)
    metrics = rank_metrics(want, list(range(6)), [p % 6 for p in range(12)], [0] * 6, [1] * 12)
    assert res["mAP"] == pytest.approx(100 * metrics["mAP"]) and res["rerank"] == dict(k1=4, k2=2, lambda_value=0.2)
    assert res["mAP"] != pytest.approx(plain["mAP"])
    same = rank_features(qf, gf, query, gallery, rerank=dict(k1=4, lambda_value=1.0))  # only the original distance
    assert same["cmc"] == pytest.approx(plain["cmc"]) and same["mAP"] == pytest.approx(plain["mAP"])
    with pytest.raises(ValueError, match=r"among \['k1', 'k2', 'lambda_value'\].*found \{'k': 3\}"):
        rank_features(qf, gf, query, gallery, rerank={"k": 3})
    with pytest.raises(ValueError, match="one feature row per tracklet: 6 query and 12 gallery"):
        rank_features(qf[:5], gf, query, gallery)
    with pytest.raises(ValueError, match="k1 must be an integer in 1..17"):
        rank_features(qf, gf, query, gallery, rerank={})  # k1 = 20 is too many for 18 items


@pytest.mark.slow
def test_experiments_rerank_when_asked(four_cams, tmp_path):
    _, m, data = four_cams
    config = ExperimentConfig(
        model=ModelConfig(head="mean", backbone="resnet18", backbone_options={"width": 4}, dropout=0.0),
        train=schedule("demo", epochs=1, window=4, recipe="triplet", pk_persons=2, pk_windows=2),
        rerank=dict(k1=6, k2=2),
    )
    res = run_split(config, 0, data=Data(m, data), progress=False, details=True, out_dir=tmp_path)
    assert res["rerank"] == {"k1": 6, "k2": 2} and res["camera_aware"]
    args = (res["query_features"], res["gallery_features"], res["query"], res["gallery"])
    assert res["rank1"] == rank_features(*args, rerank={"k1": 6, "k2": 2})["rank1"]
    assert evaluate(res["model"], m, 0, data=data)["rerank"] is None
    saved, _ = load_config(tmp_path)
    assert saved == config and saved.train.recipe == "triplet" and saved.rerank == {"k1": 6, "k2": 2}
    save_config(config, tmp_path / "again")
    with pytest.raises(ValueError, match=r"rerank must be None \(off\) or a dict of options"):
        ExperimentConfig(rerank={"k3": 1})


@pytest.mark.slow
def test_the_command_line_trains_the_modern_recipe_and_reranks(tmp_path):
    import json

    import yaml

    from reidlib.cli import main

    out = tmp_path / "run"
    args = ["train", "--data.preset", "tiny", "--data.cache_dir", str(tmp_path / "cache"), "--schedule", "demo"]
    args += ["--train.epochs", "1", "--train.window", "4", "--train.sampler", "pk", "--train.loss", "triplet"]
    args += ["--train.pk_persons", "2", "--train.pk_windows", "2", "--model.head", "mean"]
    args += ["--rerank", '{"k1": 3, "k2": 2}', "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert results["rerank"] == {"k1": 3, "k2": 2} and config["rerank"] == {"k1": 3, "k2": 2}
    assert config["train"]["recipe"] == "triplet" and "sampler" not in config["train"] and "loss" not in config["train"]
    history = json.loads((out / "history.json").read_text())
    assert "triplet" in history and "hinge" not in history
    bad = [a if a != "triplet" else "siamese" for a in args]
    assert main([*bad[:-1], str(tmp_path / "bad")]) == 1  # pk with the Siamese loss: a one-line error
