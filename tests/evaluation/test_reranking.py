"""k-reciprocal re-ranking against a set-based reference written from the paper, hand-made cases, bad input."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from reidlib.evaluation import distance_matrix, first_match_rank, rerank


def reference_rerank(qg, qq, gg, k1, k2, lam):
    """Zhong et al.'s steps with Python sets, one item at a time (N(p, k) = p and its k nearest others)."""
    d = np.block([[qq, qg], [qg.T, gg]])
    np.fill_diagonal(d, 0.0)
    n, nq = len(d), len(qq)
    order = [list(np.argsort(d[p], kind="stable")) for p in range(n)]

    def reciprocal(p, k):
        return {i for i in order[p][: k + 1] if p in order[i][: k + 1]}

    v = np.zeros((n, n))
    for p in range(n):
        r = reciprocal(p, k1)
        star = set(r)
        for q in r:
            rq = reciprocal(q, (k1 + 1) // 2)
            if len(r & rq) >= Fraction(2, 3) * len(rq):
                star |= rq
        for i in star:
            v[p, i] = np.exp(-d[p, i])
    v = np.array([v[order[p][:k2]].mean(0) for p in range(n)])
    jac = np.array(
        [[1 - np.minimum(v[p], v[g]).sum() / np.maximum(v[p], v[g]).sum() for g in range(nq, n)] for p in range(nq)]
    )
    return (1 - lam) * jac + lam * qg


def _clustered(rng, q, g, persons=6, dim=4):
    centres = rng.normal(size=(persons, dim))
    qf = centres[rng.integers(0, persons, q)] + 0.4 * rng.normal(size=(q, dim))
    gf = centres[rng.integers(0, persons, g)] + 0.4 * rng.normal(size=(g, dim))
    return [distance_matrix(a, b).numpy() for a, b in ((qf, gf), (qf, qf), (gf, gf))]


@pytest.mark.parametrize("k1, k2, lam", [(6, 3, 0.3), (4, 1, 0.0), (9, 4, 0.7)])
def test_matches_a_set_based_reference(k1, k2, lam):
    qg, qq, gg = _clustered(np.random.default_rng(k1), 9, 27)
    got = rerank(qg, qq, gg, k1=k1, k2=k2, lambda_value=lam)
    assert got.shape == (9, 27) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), reference_rerank(qg, qq, gg, k1, k2, lam), rtol=1e-10, atol=1e-12)


def test_lambda_one_gives_the_original_distances_and_the_dtype_is_kept():
    qg, qq, gg = (torch.from_numpy(x).float() for x in _clustered(np.random.default_rng(0), 5, 12))
    got = rerank(qg, qq, gg, k1=4, k2=2, lambda_value=1.0)
    assert got.dtype == torch.float32 and torch.equal(got, qg)


def test_an_exact_copy_is_at_jaccard_distance_zero_and_it_is_symmetric():
    rng = np.random.default_rng(2)
    qf, gf = rng.normal(size=(4, 3)), rng.normal(size=(10, 3))
    gf[7] = qf[1]  # gallery item 7 is query 1
    qg, qq, gg = distance_matrix(qf, gf), distance_matrix(qf, qf), distance_matrix(gf, gf)
    jac = rerank(qg, qq, gg, k1=3, k2=2, lambda_value=0.0)
    assert float(jac[1, 7]) == pytest.approx(0.0, abs=1e-12)
    assert float(jac.min()) >= 0.0 and float(jac.max()) <= 1.0
    assert (jac[1, torch.arange(10) != 7] > 0).all()
    # the pooled items are the same with the roles of queries and gallery swapped: d_J is symmetric
    swapped = rerank(qg.T, gg, qq, k1=3, k2=2, lambda_value=0.0)
    torch.testing.assert_close(swapped.T, jac, rtol=0, atol=1e-12)


def test_rerank_fixes_a_rank_one_error():
    # 1-D points. The query q = 0; its true match g1 = 1.08; an impostor g2 = -1.0, nearer to q, sits at
    # the edge of a tight group of four others (the nearest, -1.04, is nearer to q than g1 too). With
    # k1 = 3: q and g1 are among each other's 3 nearest (k-reciprocal), but q is not among g2's 3 nearest
    # (its group is), so g2 shares no k-reciprocal neighbour with q.
    q, g = np.array([[0.0]]), np.array([[1.08], [-1.0], [-1.04], [-1.11], [-1.19], [-1.28]])
    qg, qq, gg = distance_matrix(q, g), distance_matrix(q, q), distance_matrix(g, g)
    assert first_match_rank(qg, [1], [1, 2, 3, 4, 5, 6])[0] == 3  # g2 (1.0) and -1.04 come first
    got = rerank(qg, qq, gg, k1=3, k2=1, lambda_value=0.3)
    # R*(q) = {q, g1} and R*(g1) = {g1, q}: V_q = (1, e), V_g1 = (e, 1) with e = exp(-1.08), so
    # d_J = 1 - 2e / 2 = 1 - e; R*(g2) is inside g2's group, disjoint from R*(q): d_J = 1.
    e = np.exp(-1.08)
    assert float(got[0, 0]) == pytest.approx(0.7 * (1 - e) + 0.3 * 1.08)
    assert float(got[0, 1]) == pytest.approx(0.7 * 1.0 + 0.3 * 1.0)
    assert first_match_rank(got, [1], [1, 2, 3, 4, 5, 6])[0] == 1  # fixed


def test_bad_input_is_explained():
    qg, qq, gg = _clustered(np.random.default_rng(4), 3, 6)
    with pytest.raises(
        ValueError,
        match=r"q_g_dist \(Q, G\), q_q_dist \(Q, Q\) and g_g_dist \(G, G\); found \(3, 6\), \(3, 3\) and \(3, 3\)",
    ):
        rerank(qg, qq, qq)
    with pytest.raises(ValueError, match=r"k1 must be an integer in 1\.\.8 .*found 20"):
        rerank(qg, qq, gg)  # the default k1 = 20 needs 21 items
    with pytest.raises(ValueError, match=r"k2 must be an integer in 1\.\.8 .*found 0"):
        rerank(qg, qq, gg, k1=3, k2=0)
    with pytest.raises(ValueError, match=r"lambda_value must be in \[0, 1\]"):
        rerank(qg, qq, gg, k1=3, k2=2, lambda_value=1.5)
    with pytest.raises(ValueError, match="finite, non-negative"):
        rerank(-qg, qq, gg, k1=3, k2=2)
    bad = gg.copy()
    bad[0, 1] += 1.0
    with pytest.raises(ValueError, match="g_g_dist is not symmetric"):
        rerank(qg, qq, bad, k1=3, k2=2)
