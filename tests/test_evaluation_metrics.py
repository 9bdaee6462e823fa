"""CMC and mAP against hand-computed cases and an independent per-query loop."""

import numpy as np
import pytest
import torch

from reidlib.evaluation.metrics import cmc, distance_matrix, first_match_rank, mean_average_precision


def loop_reference(d, qp, gp):
    """Per-query sort with the wrong item first on ties (lexsort); returns first ranks and APs."""
    ranks, aps = [], []
    for i in range(len(qp)):
        right = gp == qp[i]
        order = np.lexsort((right, d[i]))  # by distance, then wrong (False) before right
        hits = right[order]
        pos = np.flatnonzero(hits) + 1
        ranks.append(pos[0])
        aps.append(np.mean(np.arange(1, len(pos) + 1) / pos))
    return np.array(ranks), float(np.mean(aps))


def test_hand_computed_single_shot():
    d = np.array(
        [
            [0.1, 0.5, 0.9],  # query 1: right match nearest -> rank 1
            [0.2, 0.3, 0.4],  # query 2: one wrong item nearer -> rank 2
            [0.1, 0.2, 0.8],
        ]
    )  # query 3: right match farthest -> rank 3
    pids = [1, 2, 3]
    np.testing.assert_array_equal(first_match_rank(d, pids, pids), [1, 2, 3])
    np.testing.assert_allclose(cmc(d, pids, pids, max_rank=4), [1 / 3, 2 / 3, 1, 1])
    assert mean_average_precision(d, pids, pids) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_perfect_and_worst_rankings():
    g = 7
    pids = np.arange(g)
    perfect = 1.0 - np.eye(g)  # right match at distance 0, everything else at 1
    np.testing.assert_allclose(cmc(perfect, pids, pids, max_rank=g), np.ones(g))
    assert mean_average_precision(perfect, pids, pids) == 1.0
    worst = np.eye(g)  # right match is the farthest
    want = np.r_[np.zeros(g - 1), 1.0]
    np.testing.assert_allclose(cmc(worst, pids, pids, max_rank=g), want)
    assert mean_average_precision(worst, pids, pids) == pytest.approx(1 / g)


def test_ties_count_against_the_model():
    pids = np.arange(5)
    same = torch.zeros(5, 5)  # a collapsed model: every video at the same point
    np.testing.assert_array_equal(first_match_rank(same, pids, pids), [5] * 5)
    assert mean_average_precision(same, pids, pids) == pytest.approx(1 / 5)
    d = np.array([[1.0, 1.0, 2.0]])  # tie between the right match (col 0) and a wrong one
    assert first_match_rank(d, [0], [0, 1, 2])[0] == 2


def test_several_gallery_sequences_per_person():
    d = np.array([[0.1, 0.2, 0.3, 0.05]])
    gp = [1, 2, 1, 3]  # ranked: pid 3 (wrong), pid 1 (right), pid 2 (wrong), pid 1 (right)
    assert first_match_rank(d, [1], gp)[0] == 2
    assert mean_average_precision(d, [1], gp) == pytest.approx((1 / 2 + 2 / 4) / 2)


def test_matches_a_per_query_loop_with_ties():
    rng = np.random.default_rng(0)
    q, g = 40, 120
    qp = rng.integers(0, 15, q)
    gp = np.r_[np.arange(15), rng.integers(0, 15, g - 15)]
    d = rng.integers(0, 6, (q, g)).astype(np.float32)  # many ties on purpose
    ranks, ap = loop_reference(d, qp, gp)
    np.testing.assert_array_equal(first_match_rank(d, qp, gp), ranks)
    np.testing.assert_allclose(cmc(d, qp, gp, max_rank=30), [(ranks <= r).mean() for r in range(1, 31)])
    assert mean_average_precision(torch.from_numpy(d), torch.from_numpy(qp), gp) == pytest.approx(ap)


def test_distance_matrix_is_euclidean():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    want = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(distance_matrix(a, b).numpy(), want, rtol=1e-10)
    assert distance_matrix(a.astype(np.float32), b.astype(np.float32)).dtype == torch.float32
    with pytest.raises(ValueError, match="same D"):
        distance_matrix(a, b[:, :2])


def test_bad_inputs_are_explained():
    d = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"no sequence in the gallery, e\.g\. pids \[5\]"):
        cmc(d, [1, 5], [1, 2])
    with pytest.raises(ValueError, match="query set is empty"):
        mean_average_precision(np.zeros((0, 2)), [], [1, 2])
    with pytest.raises(ValueError, match=r"shape \(num_queries, num_gallery\) = \(2, 3\)"):
        cmc(d, [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN or inf"):
        cmc(np.array([[np.nan, 0.0], [0.0, 0.0]]), [1, 2], [1, 2])
    with pytest.raises(ValueError, match="integer person ids"):
        cmc(d, [1.5, 2.0], [1, 2])
