"""The grading copy of reidlib (tools/grading/libcopy.py): per assignment, only the allowed names keep
their code; the graded parts' library versions and everything equivalent raise, at source level."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.grading import libcopy, masters

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

# What an answer could borrow from reidlib instead of being written (the class of issue 25 used these).
SHORTCUTS = [
    "reidlib.evaluation.cmc",
    "reidlib.evaluation.mean_average_precision",
    "reidlib.evaluation.rank_metrics",
    "reidlib.evaluation.first_match_rank",
    "reidlib.evaluation.distance_matrix",
    "reidlib.evaluation.metrics._rank_metrics",
    "reidlib.models.MaxPool",
    "reidlib.models.MeanPool",
    "reidlib.models.AttentionPool",
    "reidlib.models.FCNTemporalAttention",
    "reidlib.models.masked_activation",
    "reidlib.models.pooling.weighted_mean",
    "reidlib.models.pooling.masked_mean",
    "reidlib.stats.paired_t",
    "reidlib.stats.person_bootstrap",
    "reidlib.experiments.compare.difference",
    "reidlib.book.exercises.ch09._paired_truth",
    "reidlib.preprocess.lucas_kanade",
    "reidlib.preprocess.compute_flow",
]

PROBE = textwrap.dedent(
    """
    import importlib, inspect, json, pkgutil, sys
    import reidlib
    out = {"file": reidlib.__file__, "refused": {}, "bases": [], "pick": reidlib.pick(1, 2, 3)}
    for dotted in json.loads(sys.argv[1]):
        module, _, name = dotted.rpartition(".")
        obj = getattr(importlib.import_module(module), name)
        try:
            obj(None)
            out["refused"][dotted] = "ran"
        except RuntimeError as e:
            out["refused"][dotted] = str(e)
    reloaded = importlib.reload(importlib.import_module("reidlib.evaluation.metrics"))
    try:
        reloaded.rank_metrics(None, None, None)
    except RuntimeError as e:
        out["after_reload"] = str(e)
    for info in pkgutil.walk_packages(reidlib.__path__, "reidlib."):
        for value in vars(importlib.import_module(info.name)).values():
            if inspect.isclass(value) and value.__module__.startswith("reidlib"):
                out["bases"] += [b.__module__ for b in value.__mro__[1:] if b.__module__ != "builtins"]
    print(json.dumps(out))
    """
)


def _probe(lib: Path, names: list[str]) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(names)],
        cwd=lib,
        env={"PYTHONPATH": str(lib), "REIDLIB_PROFILE": "quick", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.mark.parametrize("name", masters.names())
def test_only_the_allowed_names_keep_their_code(name, tmp_path):
    allowed = masters.registry()[name]["allow"]
    libcopy.write(tmp_path, name, allowed)
    out = _probe(tmp_path, SHORTCUTS)
    assert out["file"].startswith(str(tmp_path)), "the copy, not the installed reidlib, was imported"
    assert out["pick"] == 1, "an allowed name (reidlib.pick) keeps its code"
    for dotted, why in out["refused"].items():
        assert f"is not available while {name} is graded" in why, f"{dotted}: {why}"
    assert "rank_metrics is not available" in out["after_reload"]  # reloading reads the copy's source again
    assert out["bases"] == [], f"a stand-in derives from something: {out['bases'][:5]}"


def test_no_code_of_the_unlisted_names_is_in_the_copy(tmp_path):
    lib = libcopy.write(tmp_path, "a3_cmc_ablation", ["reidlib.pick", "reidlib.profile"])
    text = "\n".join(p.read_text() for p in lib.rglob("*.py"))
    for line in ("torch.searchsorted(right_d", "d.std(ddof=1) / math.sqrt(d.size)", "cv2.calcOpticalFlowFarneback"):
        source = "".join(p.read_text() for p in libcopy.PACKAGE.rglob("*.py"))
        assert line.split("(")[0] in source, f"the test's marker {line!r} is no longer in reidlib"
        assert line.split("(")[0] not in text, f"the grading copy still holds {line!r}"


def test_a_listed_name_that_calls_an_unlisted_one_is_an_error(tmp_path):
    with pytest.raises(libcopy.AllowListError, match="calls reidlib.profile: allow it too"):
        libcopy.write(tmp_path, "x", ["reidlib.pick"])
    with pytest.raises(libcopy.AllowListError, match="allowed code of reidlib.evaluation.protocol .* allow it too"):
        libcopy.write(tmp_path, "x", ["reidlib.evaluation.protocol.evaluate"])  # it computes CMC itself
    with pytest.raises(libcopy.AllowListError, match="uses SkippedDataWarning, from .*tracklet.SkippedDataWarning"):
        libcopy.write(tmp_path, "x", ["reidlib.evaluation.metrics.rank_metrics"])  # it warns with reidlib.data's
    with pytest.raises(libcopy.AllowListError, match="reidlib.nothing is not a name of reidlib"):
        libcopy.write(tmp_path, "x", ["reidlib.nothing"])


def test_a_re_exported_name_may_be_listed_where_it_is_used(tmp_path):
    lib = libcopy.write(tmp_path, "x", ["reidlib.pick", "reidlib.profile", "reidlib.evaluation.distance_matrix"])
    assert "def distance_matrix(a: ArrayLike" in (lib / "evaluation" / "metrics.py").read_text()
    assert "def cmc(*args, **kwargs)" in (lib / "evaluation" / "metrics.py").read_text()
