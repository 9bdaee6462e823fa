"""CMC and mAP against hand-computed cases and an independent per-query loop."""

import warnings

import numpy as np
import pytest
import torch

from reidlib.data import SkippedDataWarning
from reidlib.evaluation.metrics import cmc, distance_matrix, first_match_rank, mean_average_precision, rank_metrics


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
    with pytest.raises(ValueError, match=r"none of the 2 queries has a right match"):
        cmc(d, [4, 5], [1, 2])
    with pytest.raises(ValueError, match="for both the queries and the gallery"):
        cmc(d, [1, 2], [1, 2], query_camids=[0, 0])
    with pytest.raises(
        ValueError, match=r"one camera id per query \(2\) and per gallery item \(2\); found 2 query and 3"
    ):
        cmc(d, [1, 2], [1, 2], [0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="pass the maximum rank by name, max_rank=4"):
        cmc(d, [1, 2], [1, 2], 4)
    with pytest.raises(ValueError, match="integer camera ids"):
        cmc(d, [1, 2], [1, 2], [0.5, 0.0], [1, 1])
    with pytest.raises(ValueError, match="query set is empty"):
        mean_average_precision(np.zeros((0, 2)), [], [1, 2])
    with pytest.raises(ValueError, match=r"shape \(num_queries, num_gallery\) = \(2, 3\)"):
        cmc(d, [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN or inf"):
        cmc(np.array([[np.nan, 0.0], [0.0, 0.0]]), [1, 2], [1, 2])
    with pytest.raises(ValueError, match="integer person ids"):
        cmc(d, [1.5, 2.0], [1, 2])


# ----------------------------------------------------------------------------- cameras and skipped queries


def camera_loop_reference(d, qp, gp, qc=None, gc=None):
    """The camera-aware protocol written the other way round: per query, delete the ignored gallery
    items first, then sort (wrong item first on ties). Returns (ranks, APs) of the evaluated queries
    and the indices of the skipped ones."""
    ranks, aps, skipped = [], [], []
    for i in range(len(qp)):
        keep = np.ones(len(gp), bool) if qc is None else ~((gp == qp[i]) & (gc == qc[i]))
        dist, right = d[i][keep], gp[keep] == qp[i]
        if not right.any():
            skipped.append(i)
            continue
        pos = np.flatnonzero(right[np.lexsort((right, dist))]) + 1
        ranks.append(pos[0])
        aps.append(np.mean(np.arange(1, len(pos) + 1) / pos))
    return np.array(ranks), np.array(aps), skipped


def test_mars_like_case_by_hand():
    # One query: person 1 seen by camera 0. The gallery, nearest first:
    #   p1 cam0 (0.1), p2 cam1 (0.2), p1 cam1 (0.3), p3 cam0 (0.4), p1 cam2 (0.5).
    d = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    gp, gc = [1, 2, 1, 3, 1], [0, 1, 1, 0, 2]
    # Without cameras the same-camera sequence is a right match at rank 1:
    # right matches at positions 1, 3, 5 -> AP = (1/1 + 2/3 + 3/5) / 3.
    assert first_match_rank(d, [1], gp)[0] == 1
    assert mean_average_precision(d, [1], gp) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # With cameras p1 cam0 is ignored (neither right nor wrong); p3 cam0 stays a wrong match:
    # p2 (wrong), p1 cam1 (right, position 2), p3 (wrong), p1 cam2 (right, position 4).
    assert first_match_rank(d, [1], gp, [0], gc)[0] == 2
    assert mean_average_precision(d, [1], gp, [0], gc) == pytest.approx((1 / 2 + 2 / 4) / 2)
    np.testing.assert_allclose(cmc(d, [1], gp, [0], gc, max_rank=3), [0, 1, 1])


def test_queries_from_every_camera_by_hand():
    # Two persons, each seen by cameras 0 and 1 in both query and gallery; features put every
    # sequence nearest to its own camera: the same-camera copy of the person first, then the other
    # person in that camera, then the person in the other camera.
    qp, qc = np.array([1, 1, 2, 2]), np.array([0, 1, 0, 1])
    gp, gc = np.array([1, 1, 2, 2]), np.array([0, 1, 0, 1])
    same_cam = qc[:, None] == gc[None, :]
    d = np.where(
        same_cam, np.where(qp[:, None] == gp[None, :], 0.1, 0.2), np.where(qp[:, None] == gp[None, :], 0.3, 0.4)
    )
    # Without cameras every query finds itself first: rank-1 1, and its other-camera copy at position 3.
    r = rank_metrics(d, qp, gp, max_rank=4)
    np.testing.assert_array_equal(r["ranks"], [1, 1, 1, 1])
    assert r["mAP"] == pytest.approx((1 + 2 / 3) / 2)
    # With cameras the same-camera copy is ignored: the other person (same camera, 0.2) comes first,
    # the right match second -> rank 2 and AP 1/2 for every query.
    r = rank_metrics(d, qp, gp, qc, gc, max_rank=4)
    np.testing.assert_array_equal(r["ranks"], [2, 2, 2, 2])
    np.testing.assert_allclose(r["cmc"], [0, 1, 1, 1])
    assert r["mAP"] == pytest.approx(0.5) and r["num_evaluated"] == 4 and r["num_skipped"] == 0


def test_ties_stay_pessimistic_with_cameras():
    # query p1 cam0; gallery p1 cam0 (ignored), p2 cam0 (wrong), p1 cam1 (right), all at distance 0.2
    d = np.array([[0.2, 0.2, 0.2]])
    assert first_match_rank(d, [1], [1, 2, 1], [0], [0, 0, 1])[0] == 2
    assert mean_average_precision(d, [1], [1, 2, 1], [0], [0, 0, 1]) == pytest.approx(1 / 2)
    # an ignored item tied with the right match does not count against it
    assert first_match_rank(d[:, [0, 2]], [1], [1, 1], [0], [0, 1])[0] == 1
    # a collapsed model with cameras: every wrong item ties with the right match
    n = 6
    pids, cams = np.arange(n) // 2, np.arange(n) % 2  # each person in cameras 0 and 1
    ranks = first_match_rank(np.zeros((n, n)), pids, pids, cams, cams)
    np.testing.assert_array_equal(ranks, [n - 1] * n)  # n - 2 wrong items ahead, the ignored one not counted


def test_cameras_that_never_coincide_change_nothing():
    rng = np.random.default_rng(3)
    d = rng.random((12, 30))
    qp, gp = rng.integers(0, 8, 12), np.r_[np.arange(8), rng.integers(0, 8, 22)]
    plain = rank_metrics(d, qp, gp)
    aware = rank_metrics(d, qp, gp, np.zeros(12, int), rng.integers(1, 4, 30))
    for key in ("cmc", "ranks", "evaluated"):
        np.testing.assert_array_equal(plain[key], aware[key])
    assert plain["mAP"] == aware["mAP"]


def test_skipped_queries_are_counted_and_warned():
    d = np.array([[0.1, 0.5], [0.1, 0.2], [0.3, 0.3]])
    qp, qc = [1, 2, 3], [0, 0, 0]
    gp, gc = [1, 2], [1, 0]  # person 2 only in the query's camera, person 3 nowhere
    with pytest.warns(SkippedDataWarning, match=r"Skipped 2 of 3 queries .* in another camera\), e\.g\. pids \[2, 3\]"):
        r = rank_metrics(d, qp, gp, qc, gc)
    assert (r["num_evaluated"], r["num_skipped"]) == (1, 2)
    np.testing.assert_array_equal(r["evaluated"], [True, False, False])
    np.testing.assert_array_equal(r["ranks"], [1, 0, 0])
    assert r["mAP"] == 1.0 and r["cmc"][0] == 1.0
    with pytest.warns(SkippedDataWarning, match=r"Skipped 1 of 3 queries .*person\), e\.g\. pids \[3\]"):
        r = rank_metrics(d, qp, gp)  # without cameras only person 3 lacks a match
    assert r["num_skipped"] == 1 and r["cmc"][0] == pytest.approx(1 / 2)  # person 2: wrong item first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rank_metrics(d[:2], qp[:2], gp)  # nothing skipped, no warning
    with pytest.raises(ValueError, match=r"none of the 2 queries has a right match .*in another camera"):
        cmc(d[1:], [2, 2], gp, [0, 0], gc)


@pytest.mark.parametrize("block", [1, 7, 256])
def test_camera_aware_matches_a_per_query_loop(block):
    rng = np.random.default_rng(5)
    q, g, ids, cams = 60, 200, 20, 4
    qp, qc = rng.integers(0, ids + 3, q), rng.integers(0, cams, q)  # pids >= ids are not in the gallery
    gp, gc = rng.integers(0, ids, g), rng.integers(0, cams, g)
    d = rng.integers(0, 8, (q, g)).astype(np.float64)  # many ties on purpose
    ranks, aps, skipped = camera_loop_reference(d, qp, gp, qc, gc)
    assert len(skipped) > 0 and len(ranks) > 0  # the data exercises both
    with pytest.warns(SkippedDataWarning, match=f"Skipped {len(skipped)} of {q}"):
        r = rank_metrics(d, qp, gp, qc, gc, max_rank=50, block=block)
    np.testing.assert_array_equal(np.flatnonzero(~r["evaluated"]), skipped)
    np.testing.assert_array_equal(r["ranks"][r["evaluated"]], ranks)
    np.testing.assert_allclose(r["cmc"], [(ranks <= k).mean() for k in range(1, 51)])
    assert r["mAP"] == pytest.approx(aps.mean(), abs=1e-12)
    ranks_plain, aps_plain, skipped_plain = camera_loop_reference(d, qp, gp)
    with pytest.warns(SkippedDataWarning, match=f"Skipped {len(skipped_plain)} of {q}"):
        r = rank_metrics(d, qp, gp, max_rank=50, block=block)
    np.testing.assert_array_equal(r["ranks"][r["evaluated"]], ranks_plain)
    assert r["mAP"] == pytest.approx(aps_plain.mean(), abs=1e-12)
