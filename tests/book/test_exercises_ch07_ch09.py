"""The checks of chapters 7-9: right answers pass, wrong answers and stubs get a clear verdict."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reidlib import evaluation, losses
from reidlib.exercises import (
    CheckFailed,
    check_checkpoint,
    check_cmc,
    check_lr_schedule,
    check_mean_average_precision,
    check_paired_difference,
    check_siamese_loss,
    check_squared_hinge,
)


# ---------- chapter 7: squared hinge ----------
def hinge(d, same, margin=2.0):
    return torch.where(same, 0.5 * d**2, 0.5 * (margin - d).clamp(min=0) ** 2)


def test_squared_hinge_hand_values():
    """The formula itself, at values computed by hand (margin 2)."""
    d = torch.tensor([0.0, 1.0, 3.0, 1.5, 2.0])
    same = torch.tensor([True, True, False, False, False])
    torch.testing.assert_close(hinge(d, same), torch.tensor([0.0, 0.5, 0.0, 0.125, 0.0]))


def test_check_squared_hinge_accepts_a_right_answer(capsys):
    assert check_squared_hinge(hinge)
    assert "correct" in capsys.readouterr().out


def test_check_squared_hinge_accepts_the_library_loss():
    assert check_squared_hinge(lambda d, same, margin: losses.squared_hinge(d, same, margin=margin))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda d, s, m: 2 * hinge(d, s, m), "1/2 in front is missing"),
        (lambda d, s, m: hinge(d, ~s, m), "swapped"),
        (lambda d, s, m: torch.where(s, 0.5 * d**2, (m - d).clamp(min=0)), "square the hinge"),
        (
            lambda d, s, m: torch.where(s, 0.5 * d**2, 0.5 * (d - m).clamp(min=0) ** 2),
            r"max\(0, m - d\), not max\(0, d - m\)",
        ),
        (lambda d, s, m: hinge(d, s, m).mean(), r"shape \(B,\)"),
        (lambda d, s, m: torch.tensor(hinge(d, s, m).tolist()), "cut from the graph"),
        (lambda d, s, m: hinge(d, s, m).detach().numpy(), "torch.Tensor"),
    ],
)
def test_check_squared_hinge_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_squared_hinge(wrong)


def test_check_squared_hinge_reports_a_stub():
    def stub(d, same, margin):
        raise NotImplementedError("write the squared hinge")

    with pytest.raises(CheckFailed, match="not implemented yet. write the squared hinge"):
        check_squared_hinge(stub)


# ---------- chapter 7: Eq. 4 ----------
def eq4(f1, f2, same, logits1, logits2, labels1, labels2, margin=2.0):
    d = (f1 - f2).norm(dim=1)
    return F.cross_entropy(logits1, labels1) + hinge(d, same, margin).mean() + F.cross_entropy(logits2, labels2)


def test_eq4_by_hand():
    """One pair with uniform logits: each CE is log K; the hinge is d^2/2 for a positive pair."""
    f1, f2 = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 4.0]])  # d = 5
    logits = torch.zeros(1, 4)
    lab = torch.tensor([1])
    total = eq4(f1, f2, torch.tensor([True]), logits, logits, lab, lab)
    torch.testing.assert_close(total, torch.tensor(2 * np.log(4) + 12.5, dtype=torch.float32))


def test_check_siamese_loss_accepts_a_right_answer(capsys):
    assert check_siamese_loss(eq4)
    assert "Eq. 4" in capsys.readouterr().out


def test_check_siamese_loss_accepts_the_library_loss():
    assert check_siamese_loss(lambda *a: losses.siamese_loss(*a[:-1], margin=a[-1])[0])


@pytest.mark.parametrize(
    "wrong, message",
    [
        (
            lambda f1, f2, s, l1, l2, y1, y2, m: F.cross_entropy(l1, y1) + F.cross_entropy(l2, y2),
            "hinge term is missing",
        ),
        (lambda f1, f2, s, l1, l2, y1, y2, m: hinge((f1 - f2).norm(dim=1), s, m).mean(), "identity .* missing"),
        (
            lambda f1, f2, s, l1, l2, y1, y2, m: (
                2 * F.cross_entropy(l1, y1) + hinge((f1 - f2).norm(dim=1), s, m).mean()
            ),
            "(?s)expected: .*terms: id 1",
        ),
        (
            lambda f1, f2, s, l1, l2, y1, y2, m: F.cross_entropy(l1, y1) + hinge((f1 - f2).norm(dim=1), s, m).mean(),
            "both cross-entropies",
        ),
        (lambda *a: eq4(*a).reshape(1, 1).repeat(2, 1), "scalar"),
    ],
)
def test_check_siamese_loss_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_siamese_loss(wrong)


def test_check_siamese_loss_reports_a_stub_and_a_crash():
    def stub(*a):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_siamese_loss(stub)
    with pytest.raises(CheckFailed, match="raised RuntimeError"):
        check_siamese_loss(lambda f1, f2, *rest: (f1 @ f2).sum())


# ---------- chapter 8: learning-rate schedule and checkpoints ----------
def lr_at(epoch, base_lr, milestones, gamma=0.1):
    return base_lr * gamma ** sum(epoch >= m for m in milestones)


def test_lr_at_by_hand():
    """The paper's PRID-2011 schedule: 1e-4, x0.1 after epoch 800 and after 1100."""
    assert [lr_at(e, 1e-4, [800, 1100]) for e in (0, 799, 800, 1099, 1100, 1399)] == pytest.approx(
        [1e-4, 1e-4, 1e-5, 1e-5, 1e-6, 1e-6]
    )


def test_check_lr_schedule_accepts_a_right_answer(capsys):
    assert check_lr_schedule(lr_at)
    assert "MultiStepLR" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda e, b, ms, g: b * g ** sum(e > m for m in ms), "off-by-one"),
        (lambda e, b, ms, g: b, "multiply base_lr by gamma"),
        (lambda e, b, ms, g: "fast", "a number per epoch"),
    ],
)
def test_check_lr_schedule_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_lr_schedule(wrong)


def save_ckpt(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_ckpt(path, model, optimizer):
    state = torch.load(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state["epoch"]


def test_check_checkpoint_accepts_a_right_answer(capsys):
    assert check_checkpoint(save_ckpt, load_ckpt)
    assert "continues exactly" in capsys.readouterr().out


def test_check_checkpoint_catches_forgotten_momentum():
    def save_weights_only(path, model, optimizer, epoch):
        torch.save({"model": model.state_dict(), "epoch": epoch}, path)

    def load_weights_only(path, model, optimizer):
        state = torch.load(path)
        model.load_state_dict(state["model"])
        return state["epoch"]

    with pytest.raises(CheckFailed, match="momentum was not restored"):
        check_checkpoint(save_weights_only, load_weights_only)


def test_check_checkpoint_catches_missing_file_epoch_and_stub():
    with pytest.raises(CheckFailed, match="no file"):
        check_checkpoint(lambda *a: None, load_ckpt)
    with pytest.raises(CheckFailed, match="saved epoch, 3"):
        check_checkpoint(save_ckpt, lambda p, m, o: load_ckpt(p, m, o) and None)

    def stub(*a):
        raise NotImplementedError("save the model and the optimizer")

    with pytest.raises(CheckFailed, match="not implemented yet. save the model"):
        check_checkpoint(stub, load_ckpt)


# ---------- chapter 9: CMC and mAP ----------
def _ranked_matches(distmat, qp, gp):
    """(Q, G) True where the ranked item is right; among equal distances the wrong items come first."""
    right = gp[None, :] == qp[:, None]
    order = np.lexsort((right, distmat), axis=1)  # by distance, then wrong (False) before right
    return np.take_along_axis(right, order, 1)


def cmc(distmat, qp, gp, max_rank=20):
    matches = _ranked_matches(distmat, qp, gp)  # (Q, G)
    found = np.cumsum(matches, axis=1)[:, :max_rank] > 0
    return found.mean(0)


def mean_ap(distmat, qp, gp):
    matches = _ranked_matches(distmat, qp, gp).astype(float)
    precision = np.cumsum(matches, 1) / np.arange(1, matches.shape[1] + 1)
    return float(np.mean((precision * matches).sum(1) / matches.sum(1)))


def test_cmc_and_map_by_hand():
    d = np.array([[0.1, 0.5, 0.7, 0.9], [0.2, 0.3, 0.8, 0.9], [0.1, 0.2, 0.9, 0.3]])
    qp, gp = np.array([0, 1, 2]), np.array([0, 1, 2, 3])
    np.testing.assert_allclose(cmc(d, qp, gp, 4), [1 / 3, 2 / 3, 2 / 3, 1])
    assert mean_ap(d, qp, gp) == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)
    # two correct items at ranks 1 and 3: AP = (1/1 + 2/3) / 2
    assert mean_ap(np.array([[0.1, 0.2, 0.3]]), np.array([5]), np.array([5, 6, 5])) == pytest.approx(5 / 6)
    # ties count against the model: every distance 0 puts each match last
    np.testing.assert_allclose(cmc(np.zeros((4, 4)), np.arange(4), np.arange(4), 4), [0, 0, 0, 1])
    assert mean_ap(np.zeros((4, 4)), np.arange(4), np.arange(4)) == pytest.approx(1 / 4)


def test_check_cmc_accepts_right_answers(capsys):
    assert check_cmc(cmc)
    assert "correct" in capsys.readouterr().out


def test_check_cmc_accepts_the_library_cmc():
    assert check_cmc(lambda d, q, g, k: evaluation.cmc(d, q, g, max_rank=k))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda d, q, g, k: 100 * cmc(d, q, g, k), "not percentages"),
        (lambda d, q, g, k: cmc(-d, q, g, k), "sort ascending"),
        (lambda d, q, g, k: np.r_[0.0, cmc(d, q, g, k)[:-1]], "off-by-one"),
        (lambda d, q, g, k: (g[np.argsort(d, 1)] == q[:, None])[:, :k].mean(0), "never go down"),
        (lambda d, q, g, k: cmc(d, q, g, k)[:-1], r"shape \("),
    ],
)
def test_check_cmc_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_cmc(wrong)


def test_check_cmc_reports_a_stub():
    def stub(d, q, g, k):
        raise NotImplementedError("compute the CMC curve")

    with pytest.raises(CheckFailed, match="not implemented yet. compute the CMC"):
        check_cmc(stub)


def test_check_map_accepts_right_answers(capsys):
    assert check_mean_average_precision(mean_ap)
    assert "0.583" in capsys.readouterr().out


def test_check_map_accepts_the_library_map():
    assert check_mean_average_precision(evaluation.mean_average_precision)


def mrr(d, q, g):
    first = np.argmax(g[np.argsort(d, 1)] == q[:, None], axis=1)
    return float(np.mean(1 / (first + 1)))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda d, q, g: 100 * mean_ap(d, q, g), "not a percentage"),
        (lambda d, q, g: mean_ap(-d, q, g), "sort ascending"),
        (mrr, "reciprocal rank"),
        (lambda d, q, g: np.array([mean_ap(d, q, g)] * 2), "one number"),
    ],
)
def test_check_map_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_mean_average_precision(wrong)


def test_check_map_reports_a_stub():
    def stub(d, q, g):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_mean_average_precision(stub)


# ---------- chapter 9 / assignment A3: paired difference over splits ----------
def paired(a, b):
    d = np.asarray(a) - np.asarray(b)
    return d.mean(), d.std(ddof=1) / np.sqrt(len(d))


def test_paired_difference_by_hand():
    """Differences 2, 4, 6: mean 4, sample std 2, standard error 2 / sqrt(3)."""
    mean, err = paired([52.0, 60.0, 71.0], [50.0, 56.0, 65.0])
    assert mean == pytest.approx(4.0) and err == pytest.approx(2 / np.sqrt(3))


def test_check_paired_difference_accepts_a_right_answer(capsys):
    assert check_paired_difference(paired)
    assert "cancels" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda a, b: (np.mean(b - a), paired(a, b)[1]), "sign is flipped"),
        (lambda a, b: (np.mean(a - b), np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))), "unpaired"),
        (lambda a, b: (np.mean(a - b), np.std(a - b) / np.sqrt(len(a))), "ddof=1"),
        (lambda a, b: (np.mean(a - b), np.std(a - b, ddof=1)), r"divide .* by sqrt\(S\)"),
        (lambda a, b: np.mean(a - b), "a pair of numbers"),
    ],
)
def test_check_paired_difference_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_paired_difference(wrong)


def test_check_paired_difference_reports_a_stub():
    def stub(a, b):
        raise NotImplementedError("pair the splits")

    with pytest.raises(CheckFailed, match="not implemented yet. pair the splits"):
        check_paired_difference(stub)


# ---------- chapter 9: ties count against the model ----------
def argsort_cmc(d, q, g, k):
    first = (g[np.argsort(d, 1, kind="stable")] == q[:, None]).argmax(1) + 1
    return np.array([(first <= r).mean() for r in range(1, k + 1)])


def argsort_map(d, q, g):
    hits = g[np.argsort(d, 1, kind="stable")] == q[:, None]
    precision = np.cumsum(hits, 1) / np.arange(1, hits.shape[1] + 1)
    return float(np.mean((precision * hits).sum(1) / hits.sum(1)))


def test_optimistic_ties_fail_with_a_hint():
    """np.argsort puts a right item before an equally far wrong one when it comes first in the gallery."""
    with pytest.raises(CheckFailed, match=r"(?s)expected: \[0\.0, 0\.0, 0\.5, 1\.0\].*gallery's order"):
        check_cmc(argsort_cmc)
    with pytest.raises(CheckFailed, match="ties count against the model"):
        check_mean_average_precision(argsort_map)


def test_ties_among_right_items_change_nothing():
    """Counting every item as near as a right one, right ones included, is one rank too pessimistic."""
    every_tied = lambda d, q, g, k: np.array(
        [
            (np.array([(row <= row[g == p].min()).sum() for row, p in zip(d, q, strict=True)]) <= r).mean()
            for r in range(1, k + 1)
        ]
    )
    with pytest.raises(CheckFailed, match="a tie between two right items changes nothing"):
        check_cmc(every_tied)
