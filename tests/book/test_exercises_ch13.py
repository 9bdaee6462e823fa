"""Chapter 13's checks (batch-hard mining, camera-aware CMC, k-reciprocal neighbours): an answer written
here, independently of the library and the checks, passes; plausible wrong answers raise CheckFailed.

``RIGHT`` and ``WRONG`` are also read by tests/book/test_exercise_wrong_answers.py, which runs every check
of the book against its wrong answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reidlib.evaluation import cmc as library_cmc
from reidlib.exercises import CheckFailed, check_batch_hard, check_camera_aware_cmc, check_k_reciprocal
from reidlib.losses import batch_hard_triplet


# ------------------------------------------------------------------ batch-hard mining
def batch_hard(d, pids, margin):
    same = pids[:, None] == pids[None, :]
    pos = np.where(same & ~np.eye(len(pids), dtype=bool), d, -np.inf).max(1)
    neg = np.where(same, np.inf, d).min(1)
    return np.maximum(0.0, margin + pos - neg)


def _pos_neg(d, pids, pos_reduce=np.max, neg_reduce=np.min, self_positive=False):
    n = len(pids)
    pos = np.array([pos_reduce(d[a, (pids == pids[a]) & (self_positive | (np.arange(n) != a))]) for a in range(n)])
    neg = np.array([neg_reduce(d[a, pids != pids[a]]) for a in range(n)])
    return pos, neg


def _batch_all(d, pids, margin):
    out = []
    for a in range(len(pids)):
        pos = d[a, (pids == pids[a]) & (np.arange(len(pids)) != a)]
        neg = d[a, pids != pids[a]]
        out.append(np.maximum(0.0, margin + pos[:, None] - neg[None, :]).mean())
    return np.array(out)


# ------------------------------------------------------------------ camera-aware CMC
def camera_cmc(d, qp, gp, qc, gc, max_rank, junk_rule="person and camera", skipped="left out", ties="pessimistic"):
    same = qp[:, None] == gp[None, :]
    if junk_rule == "person and camera":
        junk = same & (qc[:, None] == gc[None, :])
    elif junk_rule == "camera":
        junk = qc[:, None] == gc[None, :]
    else:
        junk = np.zeros_like(same)
    right = same & ~junk
    if junk_rule == "junk counted as wrong":
        right, junk = same & (qc[:, None] != gc[None, :]), np.zeros_like(same)
    kept = np.where(junk, np.inf, d)
    if ties == "pessimistic":  # among equal distances the wrong items first
        order = np.lexsort((right, kept), axis=1)
    else:  # "gallery order"
        order = np.argsort(kept, axis=1, kind="stable")
    hits = np.take_along_axis(right, order, 1)
    valid = right.any(1)
    first = np.where(valid, hits.argmax(1) + 1, np.iinfo(np.int64).max)
    if skipped == "left out":
        first = first[valid]
    return np.array([(first <= k).mean() for k in range(1, max_rank + 1)])


# ------------------------------------------------------------------ k-reciprocal neighbours
def k_reciprocal(d, p, k):
    order = np.argsort(d, axis=1, kind="stable")  # each item first (distance 0), then the others

    def near(i):
        return set(order[i, : k + 1].tolist())

    return sorted(i for i in near(p) if p in near(i))


def _near(d, i, size):
    return set(np.argsort(d[i], kind="stable")[:size].tolist())


RIGHT = {
    "check_batch_hard": (batch_hard,),
    "check_camera_aware_cmc": (camera_cmc,),
    "check_k_reciprocal": (k_reciprocal,),
}

WRONG = {
    "check_batch_hard": {
        "easiest positive": lambda d, p, m: np.maximum(0, m + np.subtract(*_pos_neg(d, p, pos_reduce=np.min))),
        "farthest negative": lambda d, p, m: np.maximum(0, m + np.subtract(*_pos_neg(d, p, neg_reduce=np.max))),
        "the anchor as its own positive": lambda d, p, m: np.maximum(
            0, m + np.subtract(*_pos_neg(d, p, pos_reduce=np.min, self_positive=True))
        ),
        "no hinge": lambda d, p, m: m + np.subtract(*_pos_neg(d, p)),
        "margin ignored": lambda d, p, m: np.maximum(0, np.subtract(*_pos_neg(d, p))),
        "soft margin": lambda d, p, m: np.log1p(np.exp(np.subtract(*_pos_neg(d, p)))),
        "batch-all average": _batch_all,
        "mean over anchors": lambda d, p, m: batch_hard(d, p, m).mean(),
        "squared distances": lambda d, p, m: batch_hard(d**2, p, m),
        "mean positive, nearest negative": lambda d, p, m: np.maximum(
            0, m + np.subtract(*_pos_neg(d, p, pos_reduce=np.mean))
        ),
        "negative mined over every other sample": lambda d, p, m: np.maximum(
            0, m + _pos_neg(d, p)[0] - np.where(np.eye(len(p), dtype=bool), np.inf, d).min(1)
        ),
        "margin on the wrong side": lambda d, p, m: np.maximum(0, -m + np.subtract(*_pos_neg(d, p))),
    },
    "check_camera_aware_cmc": {
        "naive (cameras ignored)": lambda d, qp, gp, qc, gc, k: camera_cmc(d, qp, gp, qc, gc, k, junk_rule="none"),
        "every same-camera item dropped": lambda d, qp, gp, qc, gc, k: camera_cmc(d, qp, gp, qc, gc, k, "camera"),
        "skipped queries counted as misses": lambda d, qp, gp, qc, gc, k: camera_cmc(
            d, qp, gp, qc, gc, k, skipped="misses"
        ),
        "same-camera matches counted as wrong": lambda d, qp, gp, qc, gc, k: camera_cmc(
            d, qp, gp, qc, gc, k, "junk counted as wrong"
        ),
        "percentages": lambda d, qp, gp, qc, gc, k: 100 * camera_cmc(d, qp, gp, qc, gc, k),
        "largest distance first": lambda d, qp, gp, qc, gc, k: camera_cmc(-d, qp, gp, qc, gc, k),
        "ties by gallery order (np.argsort)": lambda d, qp, gp, qc, gc, k: camera_cmc(
            d, qp, gp, qc, gc, k, ties="gallery order"
        ),
        "shifted by one rank": lambda d, qp, gp, qc, gc, k: np.r_[0.0, camera_cmc(d, qp, gp, qc, gc, k)[:-1]],
        "the whole curve, not max_rank values": lambda d, qp, gp, qc, gc, k: camera_cmc(d, qp, gp, qc, gc, len(gp)),
    },
    "check_k_reciprocal": {
        "k nearest only": lambda d, p, k: sorted(_near(d, p, k + 1)),
        "p left out": lambda d, p, k: [i for i in k_reciprocal(d, p, k) if i != p],
        "k items with p": lambda d, p, k: sorted(i for i in _near(d, p, k) if p in _near(d, i, k)),
        "reverse neighbours only": lambda d, p, k: sorted(i for i in range(len(d)) if p in _near(d, i, k + 1)),
        "union instead of both": lambda d, p, k: sorted(
            _near(d, p, k + 1) | {i for i in range(len(d)) if p in _near(d, i, k + 1)}
        ),
        "largest distances": lambda d, p, k: k_reciprocal(-d + np.diag(np.full(len(d), -1e9)), p, k),
        "k + 1 others": lambda d, p, k: k_reciprocal(d, p, k + 1),
        "the k nearest of p, reciprocal with 2k": lambda d, p, k: sorted(
            i for i in _near(d, p, k + 1) if p in _near(d, i, 2 * k + 1)
        ),
        "within the k-th distance of p": lambda d, p, k: sorted(np.flatnonzero(d[p] <= np.sort(d[p])[k]).tolist()),
    },
}

CHECKS = {"check_batch_hard": check_batch_hard, "check_camera_aware_cmc": check_camera_aware_cmc}
CHECKS["check_k_reciprocal"] = check_k_reciprocal
CASES = [(c, w) for c in WRONG for w in WRONG[c]]


@pytest.mark.parametrize("check", sorted(RIGHT))
def test_right_answer_passes(check, capsys):
    assert CHECKS[check](*RIGHT[check]) is True
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize("check, label", CASES, ids=[f"{c}-{w}" for c, w in CASES])
def test_wrong_answer_fails(check, label):
    with pytest.raises(CheckFailed):
        CHECKS[check](WRONG[check][label])


def test_every_check_has_three_wrong_answers():
    assert sorted(WRONG) == sorted(RIGHT) == sorted(CHECKS)
    assert all(len(w) >= 3 for w in WRONG.values())


def stub(*args):
    raise NotImplementedError("write this function")


@pytest.mark.parametrize("check", sorted(RIGHT))
def test_a_stub_is_not_implemented_yet(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        CHECKS[check](stub)


def test_hints_name_the_mistake():
    with pytest.raises(CheckFailed, match="easiest positive"):
        check_batch_hard(WRONG["check_batch_hard"]["easiest positive"])
    with pytest.raises(CheckFailed, match="clip at zero"):
        check_batch_hard(WRONG["check_batch_hard"]["no hinge"])
    with pytest.raises(CheckFailed, match="one loss per anchor"):
        check_batch_hard(WRONG["check_batch_hard"]["mean over anchors"])
    with pytest.raises(CheckFailed, match="naive CMC"):
        check_camera_aware_cmc(WRONG["check_camera_aware_cmc"]["naive (cameras ignored)"])
    with pytest.raises(CheckFailed, match="other persons there still count as wrong"):
        check_camera_aware_cmc(WRONG["check_camera_aware_cmc"]["every same-camera item dropped"])
    with pytest.raises(CheckFailed, match="percentages"):
        check_camera_aware_cmc(WRONG["check_camera_aware_cmc"]["percentages"])
    with pytest.raises(CheckFailed, match="k nearest neighbours of p"):
        check_k_reciprocal(WRONG["check_k_reciprocal"]["k nearest only"])
    with pytest.raises(CheckFailed, match="include p itself"):
        check_k_reciprocal(WRONG["check_k_reciprocal"]["p left out"])
    with pytest.raises(CheckFailed, match=r"k \+ 1 items in all"):
        check_k_reciprocal(WRONG["check_k_reciprocal"]["k items with p"])


# ------------------------------------------------------------------ the right answers agree with the library
def test_the_right_answers_agree_with_the_library():
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(5), 3)
    feats = torch.randn(15, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    d = torch.cdist(feats, feats).numpy()
    want = float(batch_hard_triplet(feats, torch.as_tensor(pids), margin=0.4))
    assert batch_hard(d, pids, 0.4).mean() == pytest.approx(want, rel=1e-9)
    qp, qc = rng.integers(6, size=10), rng.integers(3, size=10)
    gp, gc = np.repeat(np.arange(6), 3), np.tile(np.arange(3), 6)
    dist = rng.random((10, 18))
    lib = library_cmc(dist, qp, gp, query_camids=qc, gallery_camids=gc, max_rank=5)
    np.testing.assert_allclose(camera_cmc(dist, qp, gp, qc, gc, 5), lib)


def test_tie_hint_points_to_chapter_9():
    wrong = WRONG["check_camera_aware_cmc"]["ties by gallery order (np.argsort)"]
    with pytest.raises(CheckFailed, match=r"ties count against the model \(chapter 9\)"):
        check_camera_aware_cmc(wrong)
