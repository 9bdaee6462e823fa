"""What the hidden tests (the teacher's ``truth_*.py``) use to call a student's code.

The same check runs on a submission (a :class:`~tools.grading.run.RemoteFunction`: the code runs in
the sandbox, only plain values come back) and, in the teacher's own tests, on local functions with
right and wrong answers. A missing answer fails with a message that says why.
"""

from __future__ import annotations

from .run import RemoteFunction, RemoteObject


def _state(fn) -> str:
    if isinstance(fn, RemoteFunction):
        return fn.run.describe(fn.name)
    if fn is None:
        return "none"
    if fn is Ellipsis:
        return "ellipsis"
    return "callable" if callable(fn) else f"type:{type(fn).__name__}"


def call(name: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or an AssertionError that says why there is no answer to check."""
    state = _state(fn)
    if state in ("missing", "none", "ellipsis"):
        stopped = fn.run.stopped if isinstance(fn, RemoteFunction) else {}
        why = f" ({len(stopped)} cell(s) were stopped: {next(iter(stopped.values()))})" if stopped else ""
        raise AssertionError(f"{name} is not defined: its cell did not run to the end{why}")
    if state != "callable":
        raise AssertionError(f"{name} should be a function (or a class), found {state.split(':', 1)[-1]}")
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError as e:
        raise AssertionError(f"{name} is not written yet ({e})") from None
    if out is None or out is Ellipsis:
        raise AssertionError(f"{name} returned {out!r}: write its body (it still holds the placeholder)")
    return out


def is_module(obj) -> bool:
    """Whether ``obj`` is a torch ``nn.Module`` (in the sandbox, or here)."""
    if isinstance(obj, RemoteObject):
        return obj.run.request({"op": "is_module", "target": obj.handle.ident}) is True
    import torch

    return isinstance(obj, torch.nn.Module)


def unused_parameters(module, *args) -> list[str]:
    """Names of the module's parameters that get no gradient from ``module(*args).sum()``."""
    if isinstance(module, RemoteObject):
        names = module.run.request({"op": "unused_parameters", "target": module.handle.ident}, args)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise AssertionError(f"could not list the module's parameters (got {type(names).__name__})")
        return names
    module.zero_grad(set_to_none=True)
    module(*args).sum().backward()
    return [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
