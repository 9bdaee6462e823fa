"""An otter-grader plugin: the grading kernel runs under time limits, in the quick profile, and
without the library's own implementation of the graded parts.

Named in each master's ``generate: plugins`` (``guard.Guard``) with the names to block; ``make
grade`` puts ``course/`` on the path of the grading process. Before the submission runs, the
plugin puts one cell at its top that

* sets ``REIDLIB_PROFILE=quick``;
* stops any cell that runs longer than ``REIDLIB_GRADE_CELL_LIMIT`` seconds (default 120), and
  any test that runs longer than ``REIDLIB_GRADE_TEST_LIMIT`` seconds (default 60), with a
  TimeoutError, so an endless loop costs the parts it breaks, not the whole grade;
* replaces every name in ``block`` (e.g. ``reidlib.evaluation.cmc``) by a stand-in that raises,
  everywhere in the loaded ``reidlib`` modules, so a submission that calls the library's version
  of the part being graded earns nothing for it.
"""

from __future__ import annotations

import json

import nbformat
from otter.plugins import AbstractOtterPlugin

GUARD_SOURCE = '''\
import builtins as _b, importlib as _il, os as _os, signal as _sg, sys as _sys
_os.environ["REIDLIB_PROFILE"] = "quick"
_b._reid_grader_timeouts = []
_LIMIT = int(_os.environ.get("REIDLIB_GRADE_CELL_LIMIT", "120"))


def _reid_stop(signum, frame):
    raise TimeoutError(f"this cell ran past the grader's time limit of {_LIMIT} s and was stopped")


def _reid_arm(info):
    _sg.signal(_sg.SIGALRM, _reid_stop)
    if "Checker.check_if_not_already_checked" not in (info.raw_cell or ""):  # otter's last cell
        _sg.alarm(_LIMIT)


def _reid_disarm(result):
    _sg.alarm(0)
    if isinstance(result.error_in_exec, TimeoutError):
        _b._reid_grader_timeouts.append(result.info.raw_cell[:80])


def _reid_limit_tests():
    """Every otter test case (public or hidden) gets its own limit, in whichever cell it runs."""
    from otter.test_files import exception_test

    run_case, limit = exception_test.test_case.call_func, float(_os.environ.get("REIDLIB_GRADE_TEST_LIMIT", "60"))

    def limited(self, global_environment):
        def stop(signum, frame):
            raise TimeoutError(f"the test ran past the grader's time limit of {limit:.0f} s and was stopped")

        old = _sg.signal(_sg.SIGALRM, stop)
        _sg.setitimer(_sg.ITIMER_REAL, limit)
        try:
            return run_case(self, global_environment)
        finally:
            _sg.setitimer(_sg.ITIMER_REAL, 0)
            _sg.signal(_sg.SIGALRM, old)

    exception_test.test_case.call_func = limited


_reid_limit_tests()
get_ipython().events.register("pre_run_cell", _reid_arm)
get_ipython().events.register("post_run_cell", _reid_disarm)


def _reid_block(dotted):
    module, name = dotted.rsplit(".", 1)
    original = getattr(_il.import_module(module), name)
    message = (f"{dotted} is not available while this assignment is graded: "
               "the graded part asks for your own implementation")
    if isinstance(original, type):
        def _refuse(self, *args, **kwargs):
            raise RuntimeError(message)
        stand_in = type(original.__name__, (original,), {"__init__": _refuse})
    else:
        def stand_in(*args, **kwargs):
            raise RuntimeError(message)
    for mod in list(_sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("reidlib"):
            for key, value in list(vars(mod).items()):
                if value is original:
                    setattr(mod, key, stand_in)


for _reid_name in BLOCKED:
    _reid_block(_reid_name)
'''


class Guard(AbstractOtterPlugin):
    """Config: ``block``, a list of dotted names (functions or classes) the submission may not use."""

    def before_execution(self, submission):
        block = list((self.plugin_config or {}).get("block", []))
        source = GUARD_SOURCE.replace("BLOCKED", json.dumps(block))
        submission.cells.insert(0, nbformat.v4.new_code_cell(source))
        return submission
