"""Padded frames may hold anything, NaN and inf included: no pooling head lets them reach its output.

A mask multiplied into the features (``features * mask``) turns NaN * 0 into NaN; the heads zero the
padding with ``masked_fill`` instead. On finite input that gives bit for bit the numbers of the
multiplication, which the second test compares with the formulas written out here.
"""

import pytest
import torch

from reidlib.models import pad_sequences
from reidlib.models.pooling import HEADS, make_head

LENGTHS = (3, 17, 9, 1, 12)


def _batch(seed: int, fill: float | None):
    """Features (B, N, 16) with ``fill`` in the padding (None: large random finite values), mask, visibility."""
    g = torch.Generator().manual_seed(seed)
    z, mask = pad_sequences([torch.randn(n, 16, generator=g) for n in LENGTHS])
    garbage = 1e3 * torch.randn(z.shape, generator=g) if fill is None else torch.full(z.shape, fill)
    vis = torch.rand(z.shape[:2], generator=g)
    return torch.where(mask[..., None], z, garbage), mask, vis


def _run(name: str, z, mask, vis, seed: int = 0):
    torch.manual_seed(seed)
    head = make_head(name, 16).eval()
    with torch.no_grad():
        return head(z, mask, vis) if name == "oracle" else head(z, mask)


@pytest.mark.parametrize("name", sorted(HEADS))
@pytest.mark.parametrize("fill", [float("nan"), float("inf"), -float("inf")])
def test_no_head_lets_nan_or_inf_padding_through(name, fill):
    bad, mask, vis = _batch(0, fill)
    clean, _, _ = _batch(0, 0.0)
    vis = torch.where(mask, vis, fill)  # the oracle's visibility may be garbage in the padding too
    pooled, scores = _run(name, bad, mask, vis)
    want, want_scores = _run(name, clean, mask, torch.where(mask, vis, 0.0))
    assert torch.isfinite(pooled).all(), f"{name}: padding holding {fill} reached the pooled feature"
    assert torch.equal(pooled, want)
    if scores is not None:
        assert torch.equal(scores, want_scores)
        assert (scores[~mask] == 0).all()


def test_finite_input_gives_the_numbers_of_the_multiplied_mask():
    """Bit for bit: the mean and Eq. 2 as they were computed with features * mask."""
    z, mask, _ = _batch(1, None)
    m = mask[..., None].to(z.dtype)
    lengths = mask.sum(1, keepdim=True).to(z.dtype)
    pooled, _ = _run("mean", z, mask, None)
    assert torch.equal(pooled, (z * m).sum(1) / lengths)
    torch.manual_seed(0)
    head = make_head("combined_sum", 16).eval()
    with torch.no_grad():
        pooled, lam = head(z, mask)
        lam_mul = head.scorer(z, mask)  # the scorer zeroes the padding itself (x * mask)
    assert torch.equal(lam, lam_mul)
    gamma = (lam_mul[..., None] * z).sum(1)  # lambda = 0 at padding: 0 * finite garbage = 0
    assert torch.equal(pooled, (gamma + (z * m).sum(1) / lengths) / 2)
