"""Hidden tests of assignment A2: masked max pooling, normalised attention pooling, a masked
softmax with a temperature, and the 1-D FCN attention module. Autograder only (see grading.py).

Padded frames hold large garbage values (of both signs) and non-zero scores, so any leak shows;
the FCN is tested by behaviour: lengths, masks, shifts, context two frames away, pooling and an
interpolating upsampling.
"""

from __future__ import annotations

import numpy as np
import torch
from grading import call

GARBAGE = 1e3


def _batch(seed, lengths=(5, 2, 7, 1), dim=4, sign=1.0):
    rng = np.random.default_rng(seed)
    n = max(lengths)
    mask = np.arange(n)[None] < np.array(lengths)[:, None]
    z = np.where(mask[..., None], rng.normal(size=(len(lengths), n, dim)) - 3, sign * GARBAGE)  # real ones < 0 mostly
    alpha = np.where(mask, rng.normal(scale=2, size=mask.shape), sign * GARBAGE)
    return torch.tensor(z, dtype=torch.float32), torch.tensor(alpha, dtype=torch.float32), torch.tensor(mask), lengths


def _close(name, want, got, atol=1e-5):
    got = torch.as_tensor(got).detach().double()
    want = torch.as_tensor(want).double()
    assert tuple(got.shape) == tuple(want.shape), f"{name}: expected shape {tuple(want.shape)}, got {tuple(got.shape)}"
    assert torch.isfinite(got).all(), f"{name}: NaN or inf in the result"
    assert torch.allclose(got, want, atol=atol, rtol=1e-4), (
        f"{name}: expected {np.round(want.numpy(), 4).tolist()}, got {np.round(got.numpy(), 4).tolist()}"
    )


def check_masked_max(masked_max) -> None:
    for seed, sign in [(0, 1.0), (1, -1.0), (2, 1.0)]:
        z, _, mask, lengths = _batch(seed, sign=sign)
        want = torch.stack([z[b, :n].max(0).values for b, n in enumerate(lengths)])
        _close("masked_max", want, call("masked_max", masked_max, z.clone(), mask.clone()))


def check_normalised_pool(attention_pool) -> None:
    for seed in range(3):
        z, alpha, mask, lengths = _batch(seed)
        lam = torch.sigmoid(alpha)
        want = torch.stack([(lam[b, :n, None] * z[b, :n]).sum(0) / lam[b, :n].sum() for b, n in enumerate(lengths)])
        got = call("normalised_attention_pool", attention_pool, z.clone(), lam.clone(), mask.clone())
        _close("normalised_attention_pool", want, got)


def check_softmax_temperature(masked_softmax) -> None:
    for seed, temperature in [(0, 1.0), (1, 0.25), (2, 4.0), (3, 0.02)]:
        _, alpha, mask, lengths = _batch(seed)
        want = torch.zeros(mask.shape, dtype=torch.float64)
        for b, n in enumerate(lengths):
            a = alpha[b, :n].double() / temperature
            e = torch.exp(a - a.max())
            want[b, :n] = e / e.sum()
        got = call("masked_softmax", masked_softmax, alpha.clone(), mask.clone(), temperature)
        _close(f"masked_softmax (temperature {temperature})", want, got, atol=1e-6)


def _scores(module, z, mask=None):
    out = call("FCNAttention.forward", module, z) if mask is None else call("FCNAttention.forward", module, z, mask)
    assert isinstance(out, torch.Tensor), f"forward should return a tensor (B, N), got {type(out).__name__}"
    return out


def check_fcn(make_module, dim=16) -> None:
    torch.manual_seed(0)
    module = call("FCNAttention", make_module, dim)
    assert isinstance(module, torch.nn.Module), f"FCNAttention({dim}) should be an nn.Module"
    module.eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n in (1, 2, 3, 7, 16, 33):
            s = _scores(module, torch.randn(2, n, dim, generator=g))
            assert tuple(s.shape) == (2, n), f"scores for (2, {n}, {dim}) should be (2, {n}), got {tuple(s.shape)}"
            assert torch.isfinite(s).all() and s.min() >= 0 and s.max() <= 1, "scores must lie in [0, 1] (a sigmoid)"
        lengths = (21, 8)
        z = torch.randn(2, 21, dim, generator=g)
        z[1, 8:] = -50.0
        mask = torch.arange(21)[None] < torch.tensor(lengths)[:, None]
        s = _scores(module, z, mask)
        assert s[1, 8:].abs().max() == 0, "padded frames must score exactly 0"
        for b, n in enumerate(lengths):
            alone = _scores(module, z[b : b + 1, :n])[0]
            assert torch.allclose(alone, s[b, :n], atol=1e-5), (
                "a video must score the same alone and padded in a batch: zero the padding after every layer"
            )
        base = torch.randn(1, 400, dim, generator=g)
        a, b = _scores(module, base[:, :320]), _scores(module, base[:, 64:384])
        assert torch.allclose(a[0, 160:224], b[0, 96:160], atol=1e-5), (
            "shifting the input by 64 frames must shift the scores: only convolutions and pooling along time"
        )
        for j in (14, 18):
            changed = False
            for _ in range(4):
                z = torch.randn(1, 32, dim, generator=g)
                moved = z.clone()
                moved[0, j] += 3 * torch.randn(dim, generator=g)
                changed |= bool((_scores(module, z)[0, 16] - _scores(module, moved)[0, 16]).abs() > 1e-6)
            assert changed, f"the score of frame 16 never depends on frame {j}: the scores need temporal context"
        a, b = _scores(module, base[:, :128]), _scores(module, base[:, 1:129])
        assert (a[0, 33:97] - b[0, 32:96]).abs().max() > 1e-4, (
            "the scores follow a one-frame shift exactly: the encoder must downsample (max-pool 2)"
        )
        s = a[0, 8:120]
        for start in (0, 1):
            pairs = s[start : start + 2 * ((len(s) - start) // 2)].reshape(-1, 2)
            assert (pairs[:, 0] - pairs[:, 1]).abs().max() > 1e-7, (
                "neighbouring frames always share a score: upsample by interpolation, not by repeating"
            )
    module.train()
    call("FCNAttention.forward", module, torch.randn(2, 16, dim, generator=g)).sum().backward()
    dead = [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    assert not dead, f"parameters without a gradient (unused in forward): {dead}"
