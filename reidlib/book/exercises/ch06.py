"""Chapter 6: temporal pooling of frame features with masks for unequal lengths."""

from __future__ import annotations

import numpy as np
import torch

from ._core import CheckFailed, as_numpy, call, close, passed

# What padded frames hold in the checks, seed by seed: large numbers (any leak shows), then NaN, then
# +-inf. Padding can hold anything: masking by multiplication (x * mask) turns NaN * 0 and inf * 0 into NaN.
GARBAGE = (1e3, np.nan, np.inf)
NAN_HINT = (
    "padding can hold anything, NaN and inf too, and NaN * 0 = inf * 0 = NaN: select the real frames with "
    "torch.where(mask, x, 0) or x.masked_fill(~mask, 0) instead of multiplying by the mask"
)


def _batch(seed: int, lengths=(5, 2, 7, 1), dim: int = 4):
    """Features (B, N, D), raw scores (B, N) and mask (B, N) with garbage (GARBAGE[seed]) in the padding."""
    rng = np.random.default_rng(seed)
    n = max(lengths)
    mask = np.arange(n)[None] < np.array(lengths)[:, None]  # (B, N)
    garbage = GARBAGE[seed % len(GARBAGE)]
    sign = np.where(rng.random((len(lengths), n, dim)) < 0.5, -1.0, 1.0)  # -inf as well as +inf
    z = np.where(mask[..., None], rng.normal(size=(len(lengths), n, dim)), sign * garbage)
    alpha = np.where(mask, rng.normal(scale=2, size=mask.shape), garbage)
    return (
        torch.tensor(z, dtype=torch.float32),
        torch.tensor(alpha, dtype=torch.float32),
        torch.tensor(mask),
        list(lengths),
    )


def _result(title: str, fn, *args) -> np.ndarray:
    out = call(title, fn, *(a.clone() for a in args))
    if isinstance(out, tuple):
        raise CheckFailed(f"{title}: your function returned a tuple; return one tensor.")
    return as_numpy(out).astype(np.float64)


def check_masked_mean(masked_mean) -> bool:
    """Check ``masked_mean(features (B, N, D), mask (B, N) bool) -> (B, D)``: the mean of the real frames."""
    title = "masked_mean"
    # Hand-computed: frames [1, 2] and [3, 4] real, a padded [100, 100]: mean [2, 3].
    z = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    got = _result(title, masked_mean, z, torch.tensor([[True, True, False]]))
    close(title, [[2.0, 3.0]], got, hint="divide the sum of the real frames by the number of real frames, not by N")
    for seed in range(3):
        z, _, mask, lengths = _batch(seed)
        want = np.stack([z[b, :n].double().mean(0).numpy() for b, n in enumerate(lengths)])  # (B, D)
        got = _result(title, masked_mean, z, mask)
        close(
            title,
            want,
            got,
            hint=NAN_HINT if seed else "padded frames hold large garbage values: they must not enter the sum or count",
        )
    return passed(title, "Padding no longer changes the mean.")


def check_masked_attention_pool(masked_attention_pool) -> bool:
    """Check ``masked_attention_pool(features (B, N, D), scores (B, N), mask (B, N)) -> (B, D)`` (Eq. 2).

    ``scores`` are the sigmoid outputs lambda_i; the pool is the plain sum of
    lambda_i z_i over the real frames (the paper does not normalise it).
    """
    title = "masked_attention_pool"
    # Hand-computed: 0.5 * [2, 0] + 1.0 * [0, 4] = [1, 4]; the padded frame must not count.
    z = torch.tensor([[[2.0, 0.0], [0.0, 4.0], [7.0, 7.0]]])
    lam = torch.tensor([[0.5, 1.0, 0.9]])
    got = _result(title, masked_attention_pool, z, lam, torch.tensor([[True, True, False]]))
    close(title, [[1.0, 4.0]], got, hint="Eq. 2 is the sum over real frames of lambda_i * z_i, with no division")
    for seed in range(3):
        z, alpha, mask, lengths = _batch(seed)
        lam = torch.where(mask, torch.sigmoid(alpha), alpha)  # scores in (0, 1), garbage in the padding
        want = np.stack([(lam[b, :n, None] * z[b, :n]).double().sum(0).numpy() for b, n in enumerate(lengths)])
        got = _result(title, masked_attention_pool, z, lam, mask)
        close(
            title,
            want,
            got,
            hint=NAN_HINT
            if seed
            else "padded frames hold large garbage values and non-zero scores: keep them out of the sum",
        )
    return passed(title, "Eq. 2 with masks: each real frame votes with its own score.")


def check_masked_softmax(masked_softmax) -> bool:
    """Check ``masked_softmax(alpha (B, N), mask (B, N) bool) -> (B, N)``.

    The weights are a softmax over the real frames of each row, 0 on padded frames,
    and must stay finite for large scores.
    """
    title = "masked_softmax"
    # Hand-computed: equal real scores share the weight equally; padding gets 0.
    got = _result(title, masked_softmax, torch.tensor([[3.0, 3.0, 9.0]]), torch.tensor([[True, True, False]]))
    close(title, [[0.5, 0.5, 0.0]], got, hint="set padded scores to -inf before the softmax")
    for seed in range(3):
        _, alpha, mask, lengths = _batch(seed)
        alpha = alpha * (1 + 40 * seed)  # seed 2 has scores in the hundreds: exp() would overflow
        want = np.zeros(mask.shape)
        for b, n in enumerate(lengths):
            a = alpha[b, :n].double().numpy()
            e = np.exp(a - a.max())
            want[b, :n] = e / e.sum()
        got = _result(title, masked_softmax, alpha, mask)
        close(
            title,
            want,
            got,
            atol=1e-6,
            hint="mask with -inf before exp, not after (exp of a large padded score is inf, and inf * 0 is NaN; "
            "padded scores may be NaN too), and subtract each row's largest real score before exp; "
            "torch.softmax does that for you",
        )
    return passed(title, "The weights of every sequence sum to 1 over its real frames.")
