"""A class that tries to cheat, graded end to end (tools/course.py grade) on the public demo assignment.

Besides right, wrong and blank notebooks, the class holds the submissions of issue 25: one that
patches the test runner, one that hunts for the hidden tests and the teacher's files, one that
imports the truth, one that writes into the other submissions, the sheet and the teacher's folder,
one that leaves a daemon behind to rewrite the sheet, one that ignores signals in an endless loop,
a memory bomb, library stand-ins, a resubmission, a broken file and a link. Each must score what its
answers earn, leave everything else untouched, and finish within the short limits set here.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tools.grading import build, cli, grade, masters, report, sandbox, similarity

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

ROOT = masters.ROOT
LIMITS = sandbox.Limits(cell_s=4, test_s=5, wall_s=60, memory_mb=1536, processes=48)
RIGHT_P1 = """def euclidean_distances(query, gallery):
    d = query[:, None, :] - gallery[None, :, :]
    return np.sqrt((d**2).sum(-1))"""
RIGHT_P2 = """def rank1(distmat, query_pids, gallery_pids):
    hits = 0
    for row, pid in zip(distmat, query_pids):
        right = row[gallery_pids == pid].min()
        wrong = row[gallery_pids != pid].min() if (gallery_pids != pid).any() else np.inf
        hits += right < wrong
    return hits / len(query_pids)"""
WRONG_P2 = """def rank1(distmat, query_pids, gallery_pids):
    return float(np.mean(gallery_pids[distmat.argmin(1)] == query_pids))"""


def hostile(subs: Path, out: Path) -> dict[str, tuple[dict, list[str], float]]:
    """name -> (answers by question, extra cells placed before part 1, the points they earn)."""
    hunt = f"""
import glob, os, sys
found = []
for top in ["/grading", "/tmp", "/work", "/root", "/home", "/srv", "/mnt", "/"]:
    for name in ["truth_*.py", "a0_demo.md", "answers_*.py", "*-solution.ipynb", "*.sealed"]:
        found += glob.glob(f"{{top}}/**/{{name}}", recursive=top != "/")
for d in os.environ.get("PYTHONPATH", "").split(":") + sys.path:
    found += glob.glob(os.path.join(d, "truth_*.py"))
for p in ["{ROOT}", "{ROOT}/course", "{ROOT}/_build/teacher", "{subs}", "{out}"]:
    found += [p] if os.path.exists(p) else []
try:
    found += [open("/proc/1/cmdline").read()] if "{subs}" in open("/proc/1/cmdline").read() else []
except OSError:
    pass
"""
    steal = """
def rank1(distmat, query_pids, gallery_pids):
    import importlib.util
    for path in found:
        if path.endswith("truth_a0.py"):
            spec = importlib.util.spec_from_file_location("t", path)
            t = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(t)
            return t.rank1_truth(distmat, query_pids, gallery_pids)
    return -1.0"""
    writes = f"""
import os, pathlib
for target in ["{subs}/right.ipynb", "{subs}/zz_victim.ipynb", "{out}/grades.csv", "{ROOT}/course/assignments.toml",
               "{ROOT}/_build/teacher/masters/truth_a1.py", "/tmp/../{subs}/right.ipynb"]:
    try:
        pathlib.Path(target).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(target).write_text("overwritten by a classmate")
    except OSError:
        pass
"""
    daemon = f"""
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        for _ in range(600):
            try:
                with open("{out}/grades.csv", "a") as f:
                    f.write("daemon,5,5\\n")
            except OSError:
                pass
            time.sleep(0.1)
    os._exit(0)
"""
    ignore = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.alarm(0)\nwhile True:\n    pass"
    bomb = "hoard = []\ntry:\n    while True:\n        hoard.append(bytearray(256 << 20))\n"
    bomb += "except MemoryError:\n    hoard = []"
    patch = "import otter.test_files.exception_test as t\nt.test_case.call_func = lambda self, env: None\n"
    stand_ins = {
        "p1_distances": "import importlib, reidlib.evaluation.metrics\nimportlib.reload(reidlib.evaluation.metrics)\n"
        "def euclidean_distances(query, gallery):\n"
        "    return reidlib.evaluation.metrics.distance_matrix(query, gallery).numpy()",
        "p2_rank1": "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('m', '{ROOT}/reidlib/evaluation/metrics.py')\n"
        "def rank1(distmat, query_pids, gallery_pids):\n"
        "    try:\n"
        "        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "        return float(m.cmc(distmat, query_pids, gallery_pids, max_rank=1)[0])\n"
        "    except Exception:\n"
        "        return float(cmc(distmat, query_pids, gallery_pids, max_rank=1)[0])",
    }
    return {
        "right": ({"p1_distances": RIGHT_P1, "p2_rank1": RIGHT_P2}, [], 2),
        "wrong": ({"p1_distances": RIGHT_P1.replace("np.sqrt", ""), "p2_rank1": WRONG_P2}, [], 0),
        "blank": ({}, [], 0),
        "patcher": ({"p1_distances": RIGHT_P1}, [patch, "grader.check = lambda *a, **k: True"], 1),
        "hunter": ({"p1_distances": RIGHT_P1, "p2_rank1": steal}, [hunt], 1),
        "importer": (
            {"p2_rank1": "import truth_a0\nrank1 = truth_a0.rank1_truth"},
            ["from tools.grading import grade"],
            0,
        ),
        "vandal": ({"p1_distances": RIGHT_P1}, [writes], 1),
        "daemon": ({"p1_distances": RIGHT_P1, "p2_rank1": RIGHT_P2}, [daemon], 2),
        "stubborn": ({"p1_distances": RIGHT_P1, "p2_rank1": RIGHT_P2}, [ignore], 2),
        "bomber": ({"p1_distances": RIGHT_P1, "p2_rank1": RIGHT_P2}, [bomb], 2),
        "borrower": (stand_ins, [], 0),
    }


def _notebook(student, answers: dict[str, str], extra: list[str], written: str = "No: squaring keeps the order."):
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for cell in nb.cells:
        q = cell.metadata.get("course", {}).get("question")
        if q in answers and cell.cell_type == "code":
            cell.source = answers[q]
        elif q and cell.cell_type == "markdown":
            cell.source = written
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("course"))
    nb.cells[first:first] = [nbformat.v4.new_code_cell(src) for src in extra]
    return nb


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    why = sandbox.why_unavailable()
    if why:
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(f"NO SANDBOX HERE: {why}")
    assignment = masters.assignment("a0_demo")
    path = build.build(assignment, teacher_dir=tmp_path_factory.mktemp("teacher"))
    return assignment, nbformat.read(path, as_version=4)


@pytest.fixture(scope="module")
def graded(demo, tmp_path_factory):
    assignment, student = demo
    top = tmp_path_factory.mktemp("class")
    subs, out = top / "subs", top / "subs-graded"
    subs.mkdir()
    expected = {}
    for name, (answers, extra, points) in hostile(subs, out).items():
        nbformat.write(_notebook(student, answers, extra), subs / f"{name}.ipynb")
        expected[name] = points
    (subs / "carol").mkdir()  # a resubmission: the newest notebook counts
    nbformat.write(_notebook(student, {}, []), subs / "carol" / "first try.ipynb")
    os.utime(subs / "carol" / "first try.ipynb", (time.time() - 3600,) * 2)
    nbformat.write(_notebook(student, {"p1_distances": RIGHT_P1}, []), subs / "carol" / "final.ipynb")
    expected["carol"] = 1
    (subs / "dave.ipynb").write_text("{ not a notebook")
    expected["dave"] = 0
    (subs / "eve.ipynb").symlink_to("/etc/hostname")
    expected["eve"] = 0
    xss = _notebook(student, {"p1_distances": RIGHT_P1}, [], written="<script>alert('x')</script> *fine*")
    nbformat.write(xss, subs / "zz_victim.ipynb")
    expected["zz_victim"] = 1
    before = grade.digests([subs])
    start = time.monotonic()
    sheet = cli.grade("a0_demo", subs, out, jobs=2, limits=LIMITS, quiet=True)
    seconds = time.monotonic() - start
    time.sleep(1.0)  # a daemon, had it survived, would write again by now
    return {"subs": subs, "out": out, "sheet": sheet, "seconds": seconds, "before": before, "expected": expected}


def _rows(sheet: Path) -> dict[str, dict]:
    with open(sheet, newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_every_submission_scores_what_its_answers_earn(graded):
    rows = _rows(graded["sheet"])
    got = {name: float(r["auto"]) for name, r in rows.items()}
    assert got == {k: float(v) for k, v in graded["expected"].items()}


def test_the_sheet_carries_points_maxima_totals_and_notes(graded):
    rows = _rows(graded["sheet"])
    header = list(next(iter(rows.values())))
    assert header == [
        "student",
        "notebook",
        "p1_distances (1)",
        "p2_rank1 (1)",
        "p3_squared (1, manual)",
        "auto",
        "manual",
        "total",
        "max",
        "notes",
        "not graded",
    ]
    assert all(r["max"] == "3" for r in rows.values())
    assert rows["right"]["total"] == "2" and "not graded by hand yet: p3_squared" in rows["right"]["notes"]
    assert "rank1 returned None: write its body" in rows["blank"]["notes"]
    assert "p2_rank1: rank1: expected 0.000, got 1.000" in rows["wrong"]["notes"]
    assert "p2_rank1: rank1: expected" in rows["hunter"]["notes"] and "got -1.000" in rows["hunter"]["notes"]
    assert "rank1 is not defined" in rows["importer"]["notes"]
    assert "distance_matrix is not available while a0_demo is graded" in rows["borrower"]["notes"]
    assert "cmc is not available while a0_demo is graded" in rows["borrower"]["notes"]
    assert rows["carol"]["notebook"] == "final.ipynb" and rows["carol"]["not graded"] == "first try.ipynb"
    assert "not a readable notebook" in rows["dave"]["notes"]
    assert "a link, not a notebook file" in rows["eve"]["notes"]


def test_the_class_left_every_file_as_it_was(graded):
    assert grade.digests([graded["subs"]]) == graded["before"]
    text = graded["sheet"].read_text()
    assert "daemon,5,5" not in text and "overwritten" not in text
    assert (
        not (ROOT / "_build" / "teacher" / "masters" / "truth_a1.py").exists()
        or "overwritten" not in (ROOT / "_build" / "teacher" / "masters" / "truth_a1.py").read_text()
    )
    assert "overwritten" not in (ROOT / "course" / "assignments.toml").read_text()


def test_nothing_of_the_class_runs_after_grading(graded):
    if os.geteuid() != 0:
        pytest.skip("the sandboxes' user ids are the grader's own when it is not root")
    leftovers = [
        p for p in os.listdir("/proc") if p.isdigit() and _uid(p) in {sandbox.sandbox_uid(s) for s in range(8)}
    ]
    assert leftovers == []


def _uid(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_limits_stop_the_endless_cell_and_the_class_grades_quickly(graded):
    feedback = (graded["out"] / "feedback" / "stubborn.md").read_text()
    assert "was stopped: this cell ran past the grader's time limit of 4 s" in feedback
    assert graded["seconds"] < 120, f"the hostile class took {graded['seconds']:.0f} s"


def test_each_student_gets_a_feedback_file(graded):
    names = {p.stem for p in (graded["out"] / "feedback").glob("*.md")}
    assert names == set(graded["expected"])
    wrong = (graded["out"] / "feedback" / "wrong.md").read_text()
    assert "| p2_rank1 | 0 | 1 |" in wrong and "## p2_rank1: what failed" in wrong
    assert (
        "Not graded (only the newest notebook counts): `first try.ipynb`"
        in (graded["out"] / "feedback" / "carol.md").read_text()
    )


def test_written_answers_are_exported_escaped(graded):
    page = (graded["out"] / "answers" / "p3_squared.html").read_text()
    assert "No: squaring keeps the order." in page and "<em>fine</em>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_manual_scores_are_merged_from_a_csv(graded, tmp_path):
    manual = tmp_path / "manual.csv"
    manual.write_text("student,p3_squared (1),comment\nright,1,Well argued.\nwrong,0.5,\n")
    out = tmp_path / "graded"
    shutil.copytree(graded["out"], out)
    cli.merge(out, manual, graded["subs"])
    rows = _rows(out / "grades.csv")
    assert (rows["right"]["manual"], rows["right"]["total"]) == ("1", "3")
    assert (rows["wrong"]["p3_squared (1, manual)"], rows["wrong"]["total"]) == ("0.5", "0.5")
    assert rows["blank"]["p3_squared (1, manual)"] == "" and "not graded by hand yet" in rows["blank"]["notes"]
    assert "Well argued." in (out / "feedback" / "right.md").read_text()
    for bad, why in [
        ("right,2,\n", "outside 0 to 1"),
        ("nobody,1,\n", "no graded student"),
        ("right,x,\n", "a number"),
    ]:
        manual.write_text("student,p3_squared,comment\n" + bad)
        with pytest.raises(ValueError, match=why):
            report.read_manual(manual, report.load(out))


def test_the_similarity_report_finds_a_renamed_copy(demo, tmp_path):
    _, student = demo
    copied = RIGHT_P2.replace("hits", "count").replace("row", "r").replace("pid", "p") + "  # my own work"
    files = {"a": (RIGHT_P2,), "b": (copied,), "c": (WRONG_P2,), "d": ()}
    paths = {}
    for name, p2 in files.items():
        paths[name] = tmp_path / f"{name}.ipynb"
        nbformat.write(_notebook(student, {"p2_rank1": p2[0]} if p2 else {}, []), paths[name])
    template = tmp_path / "template.ipynb"
    nbformat.write(student, template)
    pairs = similarity.report(paths, template, ["p1_distances", "p2_rank1"])
    score = {(p["a"], p["b"]): p["similarity"] for p in pairs if p["part"] == "p2_rank1"}
    assert score[("a", "b")] == 1.0 and score[("a", "c")] < 0.6
    assert not [p for p in pairs if "d" in (p["a"], p["b"])]  # a blank answer is not compared
    similarity.write(tmp_path, pairs)
    assert "| p2_rank1 | a | b | 100% |" in (tmp_path / "similarity.md").read_text()


def test_a_file_changed_during_grading_is_a_loud_error(demo, tmp_path):
    assignment, student = demo
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("a", "b"):
        nbformat.write(_notebook(student, {}, []), subs / f"{name}.ipynb")

    def tamper(result):
        (subs / "b.ipynb").write_text((subs / "b.ipynb").read_text() + " ")

    with pytest.raises(grade.IntegrityError, match=r"changed while the class was graded.*b\.ipynb"):
        grade.grade_class(assignment, subs, LIMITS, jobs=1, progress=tamper)


def test_the_assignment_is_named_on_the_command_line(demo, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(demo[1], subs / "x.ipynb")
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "course.py"), "grade", str(subs)], capture_output=True, text=True
    )
    assert run.returncode == 2 and "the following arguments are required: submissions" in run.stderr
    other = nbformat.read(build.STUDENT_DIR / "a3_cmc_ablation.ipynb", as_version=4)  # a student's wrong notebook
    nbformat.write(other, subs / "x.ipynb")
    results = grade.grade_class(demo[0], subs, LIMITS, jobs=1)
    assert "the notebook says it is a3_cmc_ablation, not a0_demo" in results[0]["notes"]
    assert results[0]["scores"] == {"p1_distances": 0.0, "p2_rank1": 0.0}
