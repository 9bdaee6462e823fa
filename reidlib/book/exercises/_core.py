"""The machinery behind every ``check_*``: call the student's code, compare, give a verdict (every chapter's exercises).

A check prints one friendly line when the answer is right and raises
:class:`CheckFailed` when it is not. The message says what was expected, what the
student's code returned and what to look at; in a notebook it is shown without a
Python traceback, so it reads like a teacher's comment, not a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """A wrong (or missing) answer to an exercise."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return ["\u274c " + str(self)]


def passed(title: str, detail: str = "") -> bool:
    """Print the verdict for a right answer and return True."""
    print(f"\u2705 {title}: correct." + (f" {detail}" if detail else ""))
    return True


def fail(title: str, expected: Any, got: Any, hint: str = "") -> None:
    """Raise :class:`CheckFailed` with what was expected, what came back and a hint."""
    msg = f"{title}: not yet.\n    expected: {_short(expected)}\n    your code returned: {_short(got)}"
    if hint:
        msg += f"\n    hint: {hint}"
    raise CheckFailed(msg)


def call(title: str, fn: Callable, *args, **kwargs):
    """Call the student's ``fn``; turn a stub or a crash into a clear :class:`CheckFailed`."""
    if not callable(fn):
        raise CheckFailed(
            f"{title}: expected a function, got {type(fn).__name__}. Pass the function itself, without calling it."
        )
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as e:
        raise CheckFailed(f"{title}: not implemented yet. {e}".rstrip()) from None
    except CheckFailed:
        raise
    except Exception as e:  # the student's bug: report it plainly
        raise CheckFailed(f"{title}: your function raised {type(e).__name__}: {e}") from None


def as_numpy(x) -> np.ndarray:
    """A tensor (moved to the cpu), list or array -> a numpy array of the same values and dtype (a float32
    tensor stays float32; :func:`close` compares within tolerances that allow for it)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def close(title: str, expected, got, atol: float = 1e-5, rtol: float = 1e-4, hint: str = "") -> None:
    """Fail unless ``got`` has the shape of ``expected`` and matches it within tolerance."""
    e, g = as_numpy(expected), as_numpy(got)
    if e.shape != g.shape:
        fail(
            title,
            f"an array of shape {e.shape}",
            f"an array of shape {g.shape}",
            hint or "check the shape of what you return",
        )
    if not np.all(np.isfinite(g[np.isfinite(e)])):
        fail(title, "finite values", "NaN or inf", hint or "look for a division by zero or a log of zero")
    if not np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        worst = np.unravel_index(np.argmax(np.abs(g - e)), e.shape) if e.ndim else ()
        fail(
            title,
            f"{e[worst].item()!r} at index {tuple(int(i) for i in worst)} (and {e.size - 1} other values)",
            f"{g[worst].item()!r} there",
            hint,
        )


def _short(x: Any, limit: int = 200) -> str:
    s = repr(x) if not isinstance(x, str) else x
    return s if len(s) <= limit else s[: limit - 3] + "..."
