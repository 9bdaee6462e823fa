"""Test-time ablations of attention (reidlib.evaluation.lambda_ablation) against the model's own evaluation
and hand-derived identities of the pooling formulas."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reidlib.evaluation import evaluate, frame_features, lambda_ablation, lambda_variants, rank_features
from reidlib.models import VideoReIDNet, make_head


@pytest.fixture(scope="module")
def untrained(tiny):
    ds, data = tiny
    _, query, gallery = ds.split(0)
    torch.manual_seed(0)
    model = VideoReIDNet(num_classes=4, head="combined").eval()
    qz, gz = frame_features(model, query, data), frame_features(model, gallery, data)
    return ds, data, model, query, gallery, qz, gz


@pytest.mark.slow
def test_own_lambda_with_l2_is_the_models_evaluation(untrained):
    ds, data, model, query, gallery, qz, gz = untrained
    res = lambda_ablation(model.head, qz, gz, query, gallery)
    ref = evaluate(model, ds, 0, data=data, details=True)
    assert np.array_equal(res["own"]["l2"]["ranks"], ref["ranks"])
    assert res["own"]["l2"]["mAP"] == pytest.approx(ref["mAP"], abs=1e-9)
    assert set(res) == {"own", "constant", "shuffled", "visibility"}


@pytest.mark.slow
def test_constant_lambda_of_a_weighted_mean_is_mean_pooling(untrained):
    _, _, _, query, gallery, qz, gz = untrained
    torch.manual_seed(1)
    head = make_head("attention_mean")
    res = lambda_ablation(head, qz, gz, query, gallery)
    mean = lambda zs: torch.stack([z.mean(0) for z in zs])
    ref = rank_features(mean(qz), mean(gz), query, gallery, details=True)
    assert np.array_equal(res["constant"]["raw"]["ranks"], ref["ranks"])


@pytest.mark.slow
def test_constant_lambda_of_the_paper_with_l2_is_mean_pooling_with_l2(untrained):
    """(c sum z + mean z) / 2 = (c N + 1) / 2 x mean z: the same direction as the mean."""
    _, _, model, query, gallery, qz, gz = untrained
    res = lambda_ablation(model.head, qz, gz, query, gallery)
    unit_mean = lambda zs: F.normalize(torch.stack([z.mean(0) for z in zs]), dim=1)
    ref = rank_features(unit_mean(qz), unit_mean(gz), query, gallery, details=True)
    assert np.array_equal(res["constant"]["l2"]["ranks"], ref["ranks"])


@pytest.mark.slow
def test_the_oracles_own_lambda_is_the_visibility(untrained):
    _, _, _, query, gallery, qz, gz = untrained
    res = lambda_ablation(make_head("oracle"), qz, gz, query, gallery)
    for side in ("raw", "l2"):
        assert np.array_equal(res["own"][side]["ranks"], res["visibility"][side]["ranks"])


@pytest.mark.slow
def test_mean_pooling_has_only_its_own_rows(untrained):
    _, _, _, query, gallery, qz, gz = untrained
    res = lambda_ablation(make_head("mean"), qz, gz, query, gallery)
    assert set(res) == {"own"}


def test_variants_keep_the_total_weight_and_the_values():
    lam = torch.tensor([0.1, 0.9, 0.5, 0.3])
    v = np.array([1.0, 0.0, 0.5, 0.5])
    out = lambda_variants(lam, v, torch.Generator().manual_seed(0))
    for k in ("constant", "shuffled", "visibility"):
        assert float(out[k].sum()) == pytest.approx(float(lam.sum()))
    assert sorted(out["shuffled"].tolist()) == sorted(lam.tolist())
    assert out["visibility"].tolist() == pytest.approx((v * lam.sum().item() / v.sum()).tolist())
    assert torch.equal(lambda_variants(lam, np.zeros(4))["visibility"], torch.full((4,), 0.45))
    assert "visibility" not in lambda_variants(lam, None)
