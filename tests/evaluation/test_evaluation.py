"""Feature extraction, the evaluation protocol and its errors, on the synthetic `tiny` data."""

import numpy as np
import pytest
import torch

from reidlib.data import SkippedDataWarning, Tracklet, VideoReIDDataset
from reidlib.evaluation import (
    attention_visibility,
    evaluate,
    evaluate_tracklets,
    extract_features,
    first_match_rank,
    format_table,
    sequence_feature,
    summarize,
)
from reidlib.experiments import DataConfig, ExperimentConfig, ModelConfig, evaluate_splits, schedule
from reidlib.models import VideoReIDNet
from reidlib.preprocess import mirror


@pytest.fixture(scope="module")
def tiny_model(tiny):
    """conftest's ``tiny`` (dataset, preprocessed frames) and an untrained VideoReIDNet in eval mode."""
    torch.manual_seed(0)
    return (*tiny, VideoReIDNet(4).eval())


def test_chunked_features_equal_one_pass(tiny_model):
    ds, data, model = tiny_model
    tracklets = ds.split(0)[1]
    f_small, s_small = extract_features(model, tracklets, data, chunk=3)
    f_big, s_big = extract_features(model, tracklets, data, chunk=1000)
    torch.testing.assert_close(f_small, f_big, rtol=1e-5, atol=1e-6)
    x = data.input(tracklets[0])
    with torch.no_grad():
        want, scores = model(x[None])
    torch.testing.assert_close(f_small[0], want[0], rtol=1e-5, atol=1e-6)
    assert [len(s) for s in s_small] == [len(t) for t in tracklets]
    torch.testing.assert_close(s_small[0], scores[0], rtol=1e-5, atol=1e-6)
    assert model.training is False and f_small.shape == (len(tracklets), 128)


def test_flip_augmentation_averages_the_mirror(tiny_model):
    ds, data, model = tiny_model
    t = ds.split(0)[1][0]
    x = data.input(t)
    flipped = mirror(x)
    torch.testing.assert_close(flipped[..., 0], x[..., -1] * torch.tensor([1, 1, 1, -1, 1.0])[:, None])
    torch.testing.assert_close(mirror(flipped), x)
    np.testing.assert_array_equal(mirror(x.numpy()), flipped.numpy())  # numpy and torch alike
    f, _ = extract_features(model, [t], data, flip=True)
    want = (sequence_feature(model, x)[0] + sequence_feature(model, flipped)[0]) / 2
    torch.testing.assert_close(f[0], want)


def test_evaluate_reports_the_paper_metrics(tiny_model):
    ds, data, model = tiny_model
    r = evaluate(model, ds, 0, data=data, details=True)
    assert r["num_query"] == r["num_gallery"] == 4
    assert r["rank20"] == 100.0 and r["rank1"] <= r["rank5"] <= r["rank10"] <= r["rank20"]
    ranks = r["ranks"]
    assert r["rank1"] == pytest.approx(100 * np.mean(ranks == 1))
    assert r["mAP"] == pytest.approx(100 * np.mean(1 / ranks))  # one gallery sequence per person: AP = 1 / rank
    assert r["distmat"].shape == (4, 4) and len(r["query_scores"]) == 4


def test_split_with_a_person_missing_from_the_gallery(tiny_model):
    ds, _, model = tiny_model
    test_pid = ds.splits[0]["test"][0]
    kept = [t for t in ds.tracklets if not (t.pid == test_pid and t.camid == 1)]
    broken = VideoReIDDataset("broken", kept, ds.splits)
    with pytest.warns(SkippedDataWarning, match=rf"Skipped 1 of 4 queries .*e\.g\. pids \[{test_pid}\]"):
        r = evaluate(model, broken, 0, details=True)
    assert (r["num_query"], r["num_gallery"], r["num_evaluated"], r["num_skipped"]) == (4, 3, 3, 1)
    ranks = r["ranks"][r["ranks"] > 0]
    assert len(ranks) == 3 and r["rank1"] == pytest.approx(100 * np.mean(ranks == 1))


@pytest.mark.slow
def test_camera_aware_evaluation_ignores_the_query_camera(tiny_model):
    ds, data, model = tiny_model
    _, query, gallery = ds.split(0)
    both = query + gallery  # the gallery also holds every query itself (same person, same camera)
    aware = evaluate_tracklets(model, query, both, data=data, details=True)
    d, pids = aware["distmat"].numpy(), np.array([t.pid for t in both])
    for i, t in enumerate(query):  # the same ranking with the query's own copy (column i) deleted
        keep = np.arange(len(both)) != i
        assert aware["ranks"][i] == first_match_rank(d[i : i + 1, keep], [t.pid], pids[keep])[0]
    assert aware["ranks"].min() >= 1
    naive = evaluate_tracklets(model, query, both, data=data, camera_aware=False)
    assert naive["rank1"] == 100.0 and not naive["camera_aware"]  # each query finds itself at distance 0
    assert aware["num_skipped"] == naive["num_skipped"] == 0


def test_empty_query_set(tiny_model):
    ds, _, model = tiny_model
    test = set(ds.splits[0]["test"])
    no_queries = VideoReIDDataset(
        "noquery", [t for t in ds.tracklets if not (t.pid in test and t.camid == 0)], ds.splits
    )
    with pytest.raises(ValueError, match="0 query and 4 gallery"):
        evaluate(model, no_queries, 0)
    with pytest.raises(ValueError, match="got no tracklets"):
        extract_features(model, [], None)


def test_model_and_data_on_different_devices(tiny_model):
    ds, data, model = tiny_model
    with pytest.raises(RuntimeError, match="model is on cpu but device=meta"):
        extract_features(model, ds.split(0)[1], data, device="meta")


@pytest.mark.slow
def test_evaluate_splits_and_cross_dataset(tmp_path):
    config = ExperimentConfig(
        data=DataConfig(preset="tiny", cache_dir=str(tmp_path / "cache")),
        model=ModelConfig(head="mean"),
        train=schedule("demo", epochs=1, window=4, batch_size=8, val_every=0),
        test_data=DataConfig(preset="tiny", seed=1, cache_dir=str(tmp_path / "cache")),
    )
    out = evaluate_splits(config, [0, 1], progress=False, out_dir=tmp_path / "run", device="cpu")
    assert [r["split"] for r in out["splits"]] == [0, 1] and out["test_dataset"] == "synthetic-tiny"
    assert all(r["train_dataset"] == "synthetic-tiny" and r["dataset"] == "synthetic-tiny" for r in out["splits"])
    r1 = [r["rank1"] for r in out["splits"]]
    assert out["mean"]["rank1"] == pytest.approx(np.mean(r1))
    assert out["std"]["rank1"] == pytest.approx(np.std(r1, ddof=1))
    run = tmp_path / "run"
    assert (run / "results.json").exists() and (run / "split1" / "checkpoint.pt").exists()
    assert (run / "split1" / "config.yaml").exists() and (run / "split1" / "results.json").exists()
    table = format_table({"mean pooling": out})
    want = f"| mean pooling | {out['mean']['rank1']:.1f} ± {out['std']['rank1']:.1f} |"
    assert table.splitlines()[2].startswith(want)
    again = evaluate_splits(config, [0, 1], progress=False, out_dir=tmp_path / "run", device="cpu")  # resumed
    assert [r["rank1"] for r in again["splits"]] == r1


def test_summarize_one_run_has_zero_std():
    s = summarize([{"rank1": 50.0, "rank5": 60.0, "rank10": 70.0, "rank20": 80.0, "mAP": 55.0}])
    assert s["mean"]["rank1"] == 50.0 and s["std"]["mAP"] == 0.0 and s["n"] == 1
    with pytest.raises(ValueError, match="at least one result"):
        summarize([])


def _track(vis):
    return Tracklet(0, 0, np.zeros((len(vis), 4, 4, 3), np.uint8), visibility=np.array(vis, float))


def test_attention_visibility_within_each_video():
    tracks = [_track([1, 0.2, 0.5, 0.9]), _track([0.1, 0.3, 1.0]), _track([1, 1, 1])]  # the last: never occluded
    follows = [torch.tensor([0.9, 0.1, 0.4, 0.8]), torch.tensor([0.0, 0.5, 0.6]), torch.tensor([0.3, 0.2, 0.1])]
    r = attention_visibility(follows, tracks)
    assert r["per_tracklet"] == 1.0 and r["n"] == 2 and r["frames"] == 10
    against = [-s for s in follows]
    assert attention_visibility(against, tracks)["per_tracklet"] == -1.0
    flat = [torch.full((4,), 0.5), torch.tensor([0.0, 0.5, 0.6]), torch.zeros(3)]
    assert attention_visibility(flat, tracks)["per_tracklet"] == pytest.approx(0.5)  # constant scores count as 0
    assert np.isnan(attention_visibility(follows[2:], tracks[2:])["per_tracklet"])  # no video's visibility varies
    with pytest.raises(ValueError, match="no attention"):
        attention_visibility([None, None, None], tracks)
    with pytest.raises(ValueError, match="3 scores for 4 frames"):
        attention_visibility([torch.zeros(3)] * 3, tracks)
    with pytest.raises(ValueError, match="no visibility"):
        attention_visibility([torch.zeros(2)], [Tracklet(0, 0, np.zeros((2, 4, 4, 3), np.uint8))])


def test_attention_visibility_pooled_matches_the_formulas():
    v = [np.array([1.0, 0.5, 0.0, 1.0]), np.array([0.2, 0.9])]
    s = [np.array([0.9, 0.4, 0.3, 0.8]), np.array([0.1, 0.7])]
    a, b = np.concatenate(s), np.concatenate(v)
    got = attention_visibility(s, v)
    assert got["frames"] == 6
    assert got["pearson"] == pytest.approx(np.corrcoef(a, b)[0, 1])
    ranks_a = np.argsort(np.argsort(a)).astype(float)  # no ties in a
    ranks_b = np.array([5.5, 3.0, 1.0, 5.5, 2.0, 4.0]) - 1  # by hand: 0.0 < 0.2 < 0.5 < 0.9 < 1.0 = 1.0 (tied)
    assert got["spearman"] == pytest.approx(np.corrcoef(ranks_a, ranks_b)[0, 1])
    curve = np.linspace(0, 1, 20)
    one = attention_visibility(curve**4, curve)  # one video, given as two arrays
    assert one["spearman"] == pytest.approx(1.0) and one["pearson"] < 0.95 and one["per_tracklet"] == pytest.approx(1)
    with pytest.raises(ValueError, match="scores of 2 videos and visibility of 1"):
        attention_visibility([np.ones(2), np.ones(2)], [np.ones(2)])
    assert np.isnan(attention_visibility([np.array([0.3, 0.4])], [np.ones(2)])["pearson"])  # nothing varies
