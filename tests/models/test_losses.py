"""reidlib.losses: hinge values by hand on both sides of the margin, gradient signs, Eq. 4; batch-hard triplet."""

import math

import pytest
import torch

from reidlib.losses import batch_hard_triplet, siamese_loss, squared_hinge
from reidlib.training import TrainConfig

D = torch.tensor([0.5, 1.5, 3.0, 1.0, 2.0])
SAME = torch.tensor([True, False, False, True, False])


def test_squared_hinge_hand_values():
    # same: d^2/2 -> 0.125, 0.5; different: max(0, 2 - d)^2 / 2 -> 0.125 (d=1.5), 0 (d=3), 0 (d=2 on the margin)
    torch.testing.assert_close(squared_hinge(D, SAME), torch.tensor([0.125, 0.125, 0.0, 0.5, 0.0]))
    torch.testing.assert_close(squared_hinge(D, SAME, margin=4.0), torch.tensor([0.125, 3.125, 0.5, 0.5, 2.0]))


def test_plain_hinge_hand_values():
    torch.testing.assert_close(squared_hinge(D, SAME, squared=False), torch.tensor([0.5, 0.5, 0.0, 1.0, 0.0]))


@pytest.mark.parametrize("squared", [True, False])
def test_hinge_gradient_pulls_same_and_pushes_different(squared):
    d = D.clone().requires_grad_()
    squared_hinge(d, SAME, squared=squared).sum().backward()
    g = d.grad
    assert g[0] > 0 and g[3] > 0  # same person: growing d costs, so descent shrinks it
    assert g[1] < 0  # different, inside the margin: descent grows d
    assert g[2] == 0  # different, beyond the margin: nothing to do
    if squared:
        torch.testing.assert_close(g[:4], torch.tensor([0.5, -0.5, 0.0, 1.0]))  # d and -(m - d)


def test_siamese_loss_is_eq4():
    torch.manual_seed(0)
    f1, f2 = torch.randn(3, 4), torch.randn(3, 4)
    same = torch.tensor([True, False, True])
    l1, l2 = torch.randn(3, 5), torch.randn(3, 5)
    y1, y2 = torch.tensor([0, 1, 2]), torch.tensor([0, 3, 2])
    total, parts = siamese_loss(f1, f2, same, l1, l2, y1, y2)

    def ce(logits, y):  # -log softmax at the label, by hand
        return (
            sum(-(float(logits[i, y[i]]) - math.log(sum(math.exp(v) for v in logits[i].tolist()))) for i in range(3))
            / 3
        )

    d = [math.sqrt(sum((a - b) ** 2 for a, b in zip(f1[i].tolist(), f2[i].tolist(), strict=True))) for i in range(3)]
    hinge = (d[0] ** 2 / 2 + max(0.0, 2 - d[1]) ** 2 / 2 + d[2] ** 2 / 2) / 3
    want = {"id1": ce(l1, y1), "hinge": hinge, "id2": ce(l2, y2)}
    want["total"] = sum(want.values())
    assert parts.keys() == want.keys()
    for k in want:
        assert parts[k] == pytest.approx(want[k], rel=1e-5)
    assert float(total) == pytest.approx(want["total"], rel=1e-5)


def test_identical_features_give_finite_gradients():
    f = torch.randn(2, 4, requires_grad=True)
    total, _ = siamese_loss(
        f,
        f.clone(),
        torch.tensor([True, False]),
        torch.randn(2, 3),
        torch.randn(2, 3),
        torch.tensor([0, 1]),
        torch.tensor([0, 2]),
    )
    total.backward()
    assert bool(torch.isfinite(f.grad).all())


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="same must be a bool"):
        squared_hinge(D, SAME.float())
    with pytest.raises(ValueError, match=r"distance \(B,\) and same \(B,\)"):
        squared_hinge(D, SAME[:2])
    with pytest.raises(ValueError, match="margin must be > 0"):
        squared_hinge(D, SAME, margin=0)
    with pytest.raises(ValueError, match="same shape"):
        siamese_loss(
            torch.randn(2, 4),
            torch.randn(2, 3),
            SAME[:2],
            torch.randn(2, 3),
            torch.randn(2, 3),
            torch.tensor([0, 1]),
            torch.tensor([0, 1]),
        )


def brute_force_batch_hard(features, pids, margin, soft):
    """One anchor at a time, every pair visited by a Python loop."""
    losses = []
    for a in range(len(pids)):
        pos = [torch.dist(features[a], features[p]) for p in range(len(pids)) if p != a and pids[p] == pids[a]]
        neg = [torch.dist(features[a], features[n]) for n in range(len(pids)) if pids[n] != pids[a]]
        gap = max(pos) - min(neg)
        losses.append(torch.log1p(torch.exp(gap)) if soft else torch.clamp(gap + margin, min=0))
    return torch.stack(losses).mean()


def test_batch_hard_triplet_by_hand():
    f = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    pids = torch.tensor([7, 7, 9, 9])
    # anchors: farthest positive / nearest negative: 1 / 3, 1 / 2, 2 / 2, 2 / 4 -> gaps -2, -1, 0, -2
    assert float(batch_hard_triplet(f, pids)) == pytest.approx(0.3 / 4)  # only anchor 3's hinge is active
    assert float(batch_hard_triplet(f, pids, margin=1.5)) == pytest.approx((0 + 0.5 + 1.5 + 0) / 4)
    soft = sum(math.log1p(math.exp(g)) for g in (-2, -1, 0, -2)) / 4
    assert float(batch_hard_triplet(f, pids, soft=True)) == pytest.approx(soft)


@pytest.mark.parametrize("soft", [False, True])
def test_batch_hard_triplet_matches_a_loop_with_gradients(soft):
    torch.manual_seed(0)
    f = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    pids = torch.arange(4).repeat_interleave(3)[torch.randperm(12)]
    got = batch_hard_triplet(f, pids, margin=2.0, soft=soft)
    want = brute_force_batch_hard(f, pids, 2.0, soft)
    assert 0 < want.detach() and got.detach() == pytest.approx(want.detach().item(), rel=1e-12)
    (g_got,) = torch.autograd.grad(got, f)
    (g_want,) = torch.autograd.grad(want, f)
    torch.testing.assert_close(g_got, g_want)


def test_batch_hard_triplet_bad_batches_are_explained():
    f = torch.zeros(4, 3, requires_grad=True)
    loss = batch_hard_triplet(f, torch.tensor([0, 0, 1, 1]))  # a collapsed batch: gap 0, loss = margin
    loss.backward()
    assert loss.detach() == pytest.approx(0.3) and torch.isfinite(f.grad).all()
    with pytest.raises(ValueError, match=r"4 samples of 3 persons, 2 of them once \(e\.g\. \[1, 2\]\)"):
        batch_hard_triplet(f, torch.tensor([0, 0, 1, 2]))
    with pytest.raises(ValueError, match="at least 2 persons per batch"):
        batch_hard_triplet(f, torch.tensor([5, 5, 5, 5]))
    with pytest.raises(ValueError, match=r"features \(B, D\) and pids \(B,\); found \(4, 3\) and \(3,\)"):
        batch_hard_triplet(f, torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="integer person ids"):
        batch_hard_triplet(f, torch.tensor([0.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="margin must be > 0"):
        batch_hard_triplet(f, torch.tensor([0, 0, 1, 1]), margin=0.0)


def test_id_weight_scales_the_identity_terms_of_the_total_only():
    torch.manual_seed(1)
    f1, f2, same = torch.randn(4, 6), torch.randn(4, 6), torch.tensor([True, False, False, True])
    l1, l2, y1, y2 = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 0]), torch.tensor([0, 2, 1, 0])
    paper, parts = siamese_loss(f1, f2, same, l1, l2, y1, y2)
    assert torch.equal(paper, siamese_loss(f1, f2, same, l1, l2, y1, y2, id_weight=1.0)[0])  # same bits
    for w in (0.0, 0.25):
        total, p = siamese_loss(f1, f2, same, l1, l2, y1, y2, id_weight=w)
        assert {k: float(v) for k, v in p.items() if k != "total"} == {
            k: float(v) for k, v in parts.items() if k != "total"
        }
        assert float(total) == pytest.approx(w * float(parts["id1"]) + float(parts["hinge"]) + w * float(parts["id2"]))
    hinge_only = siamese_loss(f1, f2, same, l1.requires_grad_(), l2, y1, y2, id_weight=0.0)[0]
    hinge_only.backward()
    assert torch.count_nonzero(l1.grad) == 0  # the classifier learns nothing from the hinge alone
    with pytest.raises(ValueError, match="id_weight"):
        TrainConfig(id_weight=-1.0)
