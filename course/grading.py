"""What every hidden test of the course uses: clear verdicts for missing answers.

The time limits are set by the grading kernel's guard (course/guard.py).

This module ships inside the autograder zips only (``autograder_files`` of each master in
``course/``): it is neither in the book nor in the ``reidlib`` wheel, and nothing here imports
``reidlib.exercises``, which a student could change on their own machine.
"""

from __future__ import annotations

import builtins

TIMEOUTS = "_reid_grader_timeouts"  # the cells the guard stopped (course/guard.py), kept on builtins


def call(name: str, fn, *args, **kwargs):
    """Call the student's ``fn``; a missing answer fails the test with a message that says why."""
    if fn is None or fn is Ellipsis:
        stopped = getattr(builtins, TIMEOUTS, [])
        why = f" ({len(stopped)} cell(s) were stopped by the time limit)" if stopped else ""
        raise AssertionError(f"{name} is not defined: its cell did not run to the end{why}")
    if not callable(fn):
        raise AssertionError(f"{name} should be a function (or a class), found {type(fn).__name__}")
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError as e:
        raise AssertionError(f"{name} is not written yet ({e})") from None
    if out is None or out is Ellipsis:
        raise AssertionError(f"{name} returned {out!r}: write its body (it still holds the placeholder)")
    return out
