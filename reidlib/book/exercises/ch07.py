"""Chapter 7: the squared hinge loss and the Siamese objective (Eq. 4)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._core import CheckFailed, as_numpy, call, close, fail, passed


def _hinge_truth(d: np.ndarray, same: np.ndarray, margin: float) -> np.ndarray:
    # same person: d^2 / 2; different persons: max(0, m - d)^2 / 2
    return np.where(same, 0.5 * d**2, 0.5 * np.maximum(0.0, margin - d) ** 2)


def _hinge_cases(seed: int = 0):
    # Hand-made: margin 2, d = 0, 1, 3, 1.5 -> 0, 0.5, 0 (beyond the margin), 0.5 * 0.5^2 = 0.125
    yield np.array([0.0, 1.0, 3.0, 1.5]), np.array([True, True, False, False]), 2.0, np.array([0.0, 0.5, 0.0, 0.125])
    rng = np.random.default_rng(seed)
    for margin in (2.0, 1.0, 3.5):
        d = rng.uniform(0.05, 2 * margin, size=10)
        same = rng.random(10) < 0.5
        same[:2] = [True, False]  # both kinds in every case
        yield d, same, margin, _hinge_truth(d, same, margin)


def _hinge_hint(d, same, margin, got) -> str:
    """Name the most likely mistake, from what the student's function returned."""
    for name, alt in [
        (
            "the 1/2 in front is missing: the paper's loss is d^2 / 2 and max(0, m - d)^2 / 2",
            2 * _hinge_truth(d, same, margin),
        ),
        ("'same' and 'different' look swapped: a same-person pair pays d^2 / 2", _hinge_truth(d, ~same, margin)),
        (
            "square the hinge too: max(0, m - d)^2 / 2 for different persons",
            np.where(same, 0.5 * d**2, np.maximum(0.0, margin - d)),
        ),
        (
            "a different-person pair pays only when it is closer than the margin: max(0, m - d), not max(0, d - m)",
            np.where(same, 0.5 * d**2, 0.5 * np.maximum(0.0, d - margin) ** 2),
        ),
    ]:
        if got.shape == alt.shape and np.allclose(got, alt, atol=1e-5):
            return name
    return "same person: d**2 / 2; different persons: clamp(margin - d, min=0)**2 / 2, one value per pair"


def check_squared_hinge(squared_hinge) -> bool:
    """Check ``squared_hinge(distance (B,), same (B,) bool, margin) -> (B,)`` per-pair losses.

    The student's function gets torch tensors and must keep the autograd graph.
    """
    title = "squared_hinge"
    for d, same, margin, want in _hinge_cases():
        dist = torch.tensor(d, dtype=torch.float32, requires_grad=True)
        got = call(title, squared_hinge, dist, torch.tensor(same), margin)
        if not isinstance(got, torch.Tensor):
            fail(
                title,
                "a torch.Tensor (so the loss can be back-propagated)",
                type(got).__name__,
                "use torch operations (torch.clamp, **, torch.where) on the distance tensor",
            )
        g = as_numpy(got).astype(np.float64)
        if g.shape == want.shape and not np.allclose(g, want, atol=1e-5, rtol=1e-4):
            fail(title, np.round(want, 4).tolist(), np.round(g, 4).tolist(), _hinge_hint(d, same, margin, g))
        close(title, want, g, hint="return one loss per pair, shape (B,); do not average here")
        if not got.requires_grad:
            fail(
                title,
                "a result that still depends on the distance (requires_grad=True)",
                "a tensor cut from the graph",
                "avoid .item(), .numpy(), .detach() and torch.tensor(...) inside the loss",
            )
        # the gradient is the other half of the truth: d for same pairs, -(m - d)+ for different ones
        got.sum().backward()
        want_grad = np.where(same, d, -np.maximum(0.0, margin - d))
        close(
            title + " (gradient)",
            want_grad,
            dist.grad,
            atol=1e-4,
            hint="the gradient of d^2/2 is d; of max(0, m - d)^2/2 it is -(m - d) inside the margin, 0 outside",
        )
    return passed(title, "Same-person pairs are pulled together, different-person pairs pushed out to the margin.")


def _siamese_truth(f1, f2, same, logits1, logits2, labels1, labels2, margin):
    d = (f1 - f2).pow(2).sum(1).sqrt()  # (B,)
    hinge = torch.where(same, 0.5 * d**2, 0.5 * (margin - d).clamp(min=0) ** 2)  # (B,)
    id1 = F.cross_entropy(logits1, labels1)
    id2 = F.cross_entropy(logits2, labels2)
    return id1 + hinge.mean() + id2, id1, hinge.mean(), id2


def _siamese_cases(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    # (batch, dim, classes, margin, feature scale): in the last case every pair is inside the margin
    for batch, dim, classes, margin, scale in [
        (1, 8, 5, 2.0, 1.0),
        (6, 16, 7, 2.0, 1.0),
        (4, 4, 3, 1.0, 1.0),
        (8, 6, 4, 3.0, 0.4),
    ]:
        f1, f2 = scale * torch.randn(batch, dim, generator=g), scale * torch.randn(batch, dim, generator=g)
        labels1 = torch.randint(classes, (batch,), generator=g)
        same = torch.rand(batch, generator=g) < 0.5
        same[0] = batch == 1 or bool(same[0])
        labels2 = torch.where(
            same, labels1, (labels1 + 1 + torch.randint(classes - 1, (batch,), generator=g)) % classes
        )
        logits1, logits2 = torch.randn(batch, classes, generator=g), torch.randn(batch, classes, generator=g)
        yield f1, f2, same, logits1, logits2, labels1, labels2, margin


def check_siamese_loss(siamese_loss) -> bool:
    """Check ``siamese_loss(f1, f2, same, logits1, logits2, labels1, labels2, margin) -> scalar`` (Eq. 4).

    Shapes: f1, f2 (B, D) video features; same (B,) bool; logits (B, K); labels (B,) int64.
    Total = cross-entropy of branch 1 + mean squared hinge over the B pairs + cross-entropy of branch 2.
    """
    title = "siamese_loss"
    for case in _siamese_cases():
        total, id1, hinge, id2 = _siamese_truth(*case)
        args = [t.clone() for t in case[:-1]]
        args[0].requires_grad_(True)
        got = call(title, siamese_loss, *args, case[-1])
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            fail(
                title,
                "a scalar torch.Tensor (one number to call .backward() on)",
                f"{type(got).__name__} with shape {tuple(getattr(got, 'shape', ()))}",
                "average the per-pair terms over the batch and add the three terms",
            )
        value, want = float(got.detach()), float(total)
        if abs(value - want) > 1e-4 * max(1.0, abs(want)):
            parts = {"id 1": float(id1), "hinge": float(hinge), "id 2": float(id2)}
            hint = (
                "Eq. 4 adds three terms: cross-entropy of branch 1, the squared hinge on ||f1 - f2||, "
                "cross-entropy of branch 2"
            )
            if abs(value - float(id1 + id2)) < 1e-4:
                hint = "the hinge term is missing"
            elif abs(value - float(hinge)) < 1e-4:
                hint = "the two identity (cross-entropy) terms are missing"
            elif abs(value - float(id1 + hinge)) < 1e-4 or abs(value - float(id2 + hinge)) < 1e-4:
                hint = "each branch has its own identity loss: add both cross-entropies"
            fail(
                title,
                f"{want:.5f} (terms: " + ", ".join(f"{k} {v:.4f}" for k, v in parts.items()) + ")",
                f"{value:.5f}",
                hint,
            )
        if not got.requires_grad:
            raise CheckFailed(
                f"{title}: the loss is cut from the autograd graph; "
                "keep every step in torch (no .item() or numpy inside the loss)."
            )
    return passed(title, "Identity loss + hinge + identity loss, as in Eq. 4.")
