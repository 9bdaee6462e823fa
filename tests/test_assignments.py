"""tools/make_assignments.py: teacher -> student versions, and the student versions fail cleanly.

(a) the transformation on hand-written cells and on a small teacher notebook made here;
(b) every teacher notebook in book/assignments/: its student version runs up to its first
    check cell and stops there with a CheckFailed saying "not implemented yet". (The teacher
    versions themselves run under nbval in `make test`, since they live under book/.)
"""

import json
import shutil

import jupytext
import pytest

from tools import make_assignments as ma
from tools import nbtools

SOLUTION = '''# HINT: sort the gallery by its Euclidean distance to the query (np.argsort)
import numpy as np


def rank_gallery(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Gallery indices, nearest first: query (D,), gallery (G, D) -> (G,)."""
    distances = np.linalg.norm(gallery - query, axis=1)   # (G,)
    return np.argsort(distances)


print("solution ready")'''

TEACHER = (
    """# %% [markdown]
# # Assignment 0: rank a gallery

# %%
import numpy as np
from reidlib.exercises import check_rank_gallery

# %% [markdown] tags=["solution"]
# The answer sorts by the Euclidean distance.

# %% tags=["solution", "hide-input"]
"""
    + SOLUTION
    + """

# %%
check_rank_gallery(rank_gallery)

# %%
print("after the check")
"""
)

STUDENT_CELL = '''# HINT: sort the gallery by its Euclidean distance to the query (np.argsort)
import numpy as np

def rank_gallery(query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Gallery indices, nearest first: query (D,), gallery (G, D) -> (G,)."""
    raise NotImplementedError("sort the gallery by its Euclidean distance to the query (np.argsort)")'''


def test_stub_keeps_signatures_docstrings_and_methods():
    src = (
        '# HINT: use "the" mean\n'
        "K = 3\n"
        "@torch.no_grad()\n"
        "def pool(x,\n"
        "         mask=None):  # (B, D)\n"
        "    return x.mean(1)\n"
        "def one(x): return x\n"
        "class Head(nn.Module):\n"
        '    """A head."""\n'
        "    size = 4\n"
        "    def __init__(self, d: int = 128):\n"
        "        super().__init__()\n"
        "    def forward(self, x):\n"
        '        "Scores (B, N)."\n'
        "        return x\n"
        "class Bare: pass\n"
    )
    assert ma.stub_source(src) == (
        '# HINT: use "the" mean\n'
        "@torch.no_grad()\n"
        "def pool(x,\n"
        "         mask=None):  # (B, D)\n"
        '    raise NotImplementedError("use \\"the\\" mean")\n\n\n'
        "def one(x):\n"
        '    raise NotImplementedError("use \\"the\\" mean")\n\n\n'
        "class Head(nn.Module):\n"
        '    """A head."""\n\n'
        "    def __init__(self, d: int = 128):\n"
        '        raise NotImplementedError("use \\"the\\" mean")\n\n'
        "    def forward(self, x):\n"
        '        "Scores (B, N)."\n'
        '        raise NotImplementedError("use \\"the\\" mean")\n\n\n'
        "class Bare:\n"
        "    pass"
    )


def test_stub_of_a_solution_raises_its_hint():
    assert ma.stub_source(SOLUTION) == STUDENT_CELL
    ns = {}
    exec(ma.stub_source(SOLUTION), ns)
    with pytest.raises(NotImplementedError, match=r"^sort the gallery by its Euclidean distance .*\(np.argsort\)$"):
        ns["rank_gallery"](None, None)


@pytest.mark.parametrize(
    "src, message",
    [
        ("def f():\n    return 1\n", r"must start with '# HINT: <one-line hint>'; its first line is 'def f\(\):'"),
        ("# HINT:\ndef f():\n    return 1\n", r"must start with '# HINT: <one-line hint>'"),
        ("# HINT: add\nx = 1 + 1\n", r"must define the function\(s\) the student writes; found no def or class"),
        ("# HINT: add\ndef f(:\n", r"the solution does not parse"),
    ],
)
def test_bad_solution_cells_are_explained(src, message):
    with pytest.raises(ValueError, match=message):
        ma.stub_source(src, "a1.ipynb, cell 3")


@pytest.fixture
def teacher(tmp_path):
    """A teacher notebook built like a chapter (Colab link and setup cell included), with outputs."""
    shutil.copy(nbtools.ROOT / "_config.yml", tmp_path / "_config.yml")
    folder = tmp_path / "book" / "assignments"
    folder.mkdir(parents=True)
    path = folder / "a0_rank.ipynb"
    nb = nbtools._with_colab_cells(jupytext.reads(TEACHER, fmt="py:percent"), path, tmp_path)
    nb["metadata"] = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [{"output_type": "stream", "name": "stdout", "text": "x\n"}], 1
    path.write_text(json.dumps(nb))
    return path


def test_student_notebook_replaces_solutions_only(teacher):
    nb = json.loads(teacher.read_text())
    before = json.dumps(nb)
    student = ma.student_notebook(nb, teacher.name)
    assert json.dumps(nb) == before, "the teacher notebook must not be modified"
    kept = [
        c
        for c in nb["cells"]
        if c.get("id") != "colab-link"
        and not (c["cell_type"] == "markdown" and "solution" in c["metadata"].get("tags", []))
    ]
    assert [c["id"] for c in student["cells"]] == [c["id"] for c in kept]
    assert "colab.research.google.com" not in json.dumps(student)  # it opened the teacher's version
    assert "The answer sorts" not in json.dumps(student)
    solution = [c for c in student["cells"] if c["source"].startswith("# HINT:")]
    assert len(solution) == 1 and solution[0]["source"] == STUDENT_CELL
    assert solution[0]["metadata"]["tags"] == []  # no longer hidden
    for s, t in zip(student["cells"], kept):
        if s is not solution[0]:
            assert "".join(s["source"]) == "".join(t["source"])
        if s["cell_type"] == "code":
            assert s["outputs"] == [] and s["execution_count"] is None
    assert "widgets" not in student["metadata"]


def test_a_notebook_without_solutions_is_refused(teacher):
    nb = json.loads(teacher.read_text())
    for c in nb["cells"]:
        c["metadata"]["tags"] = []
    with pytest.raises(ValueError, match="a0_rank.ipynb: no code cell is tagged 'solution'"):
        ma.student_notebook(nb, teacher.name)


def test_cli_writes_student_versions(teacher, tmp_path, capsys):
    out = tmp_path / "student"
    assert ma.main([str(teacher.parent), "--out", str(out)]) == 0
    assert json.loads((out / teacher.name).read_text()) == ma.student_notebook(json.loads(teacher.read_text()))
    assert f"student version: {out / teacher.name}" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="expected teacher notebooks"):
        ma.make_all(tmp_path / "empty", out)


def _assert_stops_at_first_check(nb, cwd, name):
    executed, error = ma.execute(nb, cwd)
    assert error is not None, f"{name}: the student version ran to the end without failing a check"
    failed = [i for i, c in enumerate(executed.cells) if any(o.output_type == "error" for o in c.get("outputs", []))]
    first_check = next(
        i for i, c in enumerate(executed.cells) if c.cell_type == "code" and ma.CHECK_CALL.search(c.source)
    )
    assert failed == [first_check], f"{name}: stopped at cell {failed}, expected the first check cell {first_check}"
    assert error.ename == "CheckFailed", f"{name}: expected CheckFailed, got {error.ename}: {error.evalue}"
    assert "not implemented yet" in error.evalue, error.evalue
    return error


def test_teacher_passes_and_student_stops_at_the_check(teacher, monkeypatch):
    monkeypatch.setenv("REIDLIB_PROFILE", "quick")
    graded = ma.grade(teacher)
    assert [(ok, verdict.startswith("\u2705")) for _, ok, verdict in graded] == [(True, True)]
    student = ma.student_notebook(json.loads(teacher.read_text()))
    error = _assert_stops_at_first_check(student, teacher.parent, teacher.name)
    assert "sort the gallery by its Euclidean distance" in error.evalue


TEACHER_NOTEBOOKS = sorted((nbtools.ROOT / "book" / "assignments").glob("*.ipynb"))


@pytest.mark.skipif(not TEACHER_NOTEBOOKS, reason="no teacher notebooks in book/assignments/ yet")
@pytest.mark.parametrize("path", TEACHER_NOTEBOOKS, ids=lambda p: p.name)
def test_student_version_fails_its_first_check_cleanly(path, monkeypatch):
    monkeypatch.setenv("REIDLIB_PROFILE", "quick")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    student = ma.student_notebook(json.loads(path.read_text()), path.name)
    _assert_stops_at_first_check(student, path.parent, path.name)
