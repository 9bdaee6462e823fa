"""Chapter 8: the paper's learning-rate schedule, and checkpoints that resume exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from ._core import CheckFailed, call, fail, passed


def _torch_schedule(base_lr: float, milestones: list[int], gamma: float, epochs: int) -> list[float]:
    """The truth: what torch's MultiStepLR gives at epochs 0..epochs-1."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=gamma)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def check_lr_schedule(lr_at) -> bool:
    """Check ``lr_at(epoch, base_lr, milestones, gamma) -> float`` (epochs counted from 0).

    The rate is ``base_lr`` times ``gamma`` for every milestone already reached (``epoch >= m``).
    """
    title = "lr_at"
    # (base_lr, milestones, gamma, epochs): iLIDS-VID, PRID-2011 and SDU-VID schedules of the paper, shortened x1/100
    for base, milestones, gamma, epochs in [
        (1e-4, [13], 0.1, 15),
        (1e-4, [8, 11], 0.1, 14),
        (1e-3, [12], 0.5, 14),
        (0.1, [1, 2, 3], 0.1, 5),
    ]:
        want = _torch_schedule(base, milestones, gamma, epochs)
        got = [call(title, lr_at, e, base, list(milestones), gamma) for e in range(epochs)]
        try:
            got = [float(g) for g in got]
        except (TypeError, ValueError):
            fail(title, "a number per epoch", repr(got[0]), "return a float such as base_lr * gamma ** k")
        bad = [e for e in range(epochs) if abs(got[e] - want[e]) > 1e-9 * max(1.0, want[e]) + 1e-15]
        if bad:
            e = bad[0]
            hint = "multiply base_lr by gamma once for every milestone m with epoch >= m"
            late = _torch_schedule(base, [m + 1 for m in milestones], gamma, epochs)
            if all(abs(g - w) <= 1e-9 * max(1.0, w) + 1e-15 for g, w in zip(got, late, strict=True)):
                hint = "an off-by-one: at epoch == milestone the rate has already dropped (epoch >= m, not epoch > m)"
            fail(
                title,
                f"{want[e]:.3g} at epoch {e} (milestones {milestones}, gamma {gamma}, base {base:g})",
                f"{got[e]:.3g}",
                hint,
            )
    return passed(title, "Your schedule equals torch.optim.lr_scheduler.MultiStepLR.")


def _tiny_setup(seed: int):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(8, 6, generator=g), torch.randint(3, (8,), generator=g)
    return model, opt, x, y


def _step(model, opt, x, y) -> None:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def check_checkpoint(save_checkpoint, load_checkpoint) -> bool:
    """Check ``save_checkpoint(path, model, optimizer, epoch)`` and
    ``load_checkpoint(path, model, optimizer) -> epoch``.

    A run interrupted after a checkpoint and resumed from it must continue exactly like
    the run that was never interrupted: weights and optimizer state (momentum) both count.
    """
    title = "checkpoint"
    model, opt, x, y = _tiny_setup(0)
    for _ in range(3):
        _step(model, opt, x, y)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ckpt.pt"
        call(title + " (save)", save_checkpoint, path, model, opt, 3)
        if not path.exists():
            fail(title, f"a file at {path}", "no file", "write the checkpoint with torch.save(..., path)")
        _step(model, opt, x, y)  # the uninterrupted run goes on
        want = [p.detach().clone() for p in model.parameters()]
        fresh, fresh_opt, _, _ = _tiny_setup(1)  # a new process: other weights, no momentum
        epoch = call(title + " (load)", load_checkpoint, path, fresh, fresh_opt)
        momentum_restored = any("momentum_buffer" in s for s in fresh_opt.state.values())
    if epoch != 3:
        fail(
            title, "load_checkpoint to return the saved epoch, 3", repr(epoch), "store the epoch in the checkpoint dict"
        )
    _step(fresh, fresh_opt, x, y)
    got = list(fresh.parameters())
    if not all(torch.allclose(w, g, atol=1e-6) for w, g in zip(want, got, strict=True)):
        raise CheckFailed(
            f"{title}: not yet. The resumed run drifted from the uninterrupted one after one step.\n    hint: "
            + (
                "the optimizer's momentum was not restored: save optimizer.state_dict() and load it back"
                if not momentum_restored
                else "save model.state_dict() and optimizer.state_dict(), and load both with load_state_dict()"
            )
        )
    return passed(title, "The resumed run continues exactly where the interrupted one stopped.")
