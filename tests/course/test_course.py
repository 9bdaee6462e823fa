"""The course's sealed assignments (course/sealed, tools/grading): built, graded, kept private.

The masters, hidden tests and the teacher's tests of those are sealed; these tests open them with the
course secret (REIDLIB_COURSE_SECRET_FILE, or ../shared/course-secret.txt beside the checkout).
Without it they skip with a loud message, and fail under CI=true. They check that:

* the student notebooks in the book are what the masters make, and every master is in the toc;
* every hidden test passes right answers (written in another style than the master's) and fails
  plausible wrong ones and the solutions of the earlier versions, which git history keeps public;
* a class of each assignment graded in sandboxes: the teacher's solutions earn every automatic point,
  blank notebooks, the earlier solutions and reidlib shortcuts earn nothing;
* no solution line and no hidden test is in HEAD's tree, the wheel, the sdist, the student notebooks
  or the built book.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from tools import nbtools
from tools.grading import build, cli, masters, sandbox, sealed

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

ROOT = masters.ROOT
SEALED = masters.names(public=False)


@pytest.fixture(scope="module")
def secret():
    """The sealed masters: without the secret, a loud skip (a failure under CI=true)."""
    why = sealed.secret_problem()
    if why:
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(why)
    return {name: masters.assignment(name) for name in SEALED}


def _module(path: Path, name: str | None = None):
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _truth_and_answers(assignment):
    tag = assignment.name.split("_")[0]
    return _module(assignment.folder / f"truth_{tag}.py"), _module(assignment.folder / f"answers_{tag}.py")


# ---------------------------------------------------------------- the notebooks
@pytest.fixture(scope="module")
def built(secret, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    return {name: build.build(a, tmp / "student", tmp / "teacher") for name, a in secret.items()}


def test_student_notebooks_in_the_book_are_up_to_date(built):
    for made in built.values():
        kept = build.STUDENT_DIR / made.name
        assert kept.exists(), f"{kept} is missing: run `make assignments`"
        assert build.same_notebook(kept, made), f"{kept.name} is out of date with its master: run `make assignments`"


def test_every_sealed_assignment_is_in_the_book_and_sealed():
    assert {f"book/assignments/{n}" for n in SEALED} <= nbtools.toc_files()
    assert set(SEALED) == {p.stem for p in build.STUDENT_DIR.glob("a*.ipynb")}
    stored = {p.name for p in sealed.SEALED.glob("*.sealed")}
    for name in SEALED:
        tag = name.split("_")[0]
        assert {f"{name}.md.sealed", f"truth_{tag}.py.sealed", f"answers_{tag}.py.sealed"} <= stored


def test_points_and_manual_parts_follow_the_masters(secret):
    qs = {q["name"]: (q["points"], q["manual"]) for q in secret["a3_cmc_ablation"].questions()}
    assert qs == {"p1_cmc": (1, False), "p2_minp": (1, False), "p3_paired": (1, False), "p5_analysis": (3, True)}
    rubric = secret["a3_cmc_ablation"].rubric()
    assert "## p5_analysis (3 points, graded by hand)" in rubric and "Model answer" in rubric


@pytest.mark.parametrize("name", SEALED)
def test_every_automatic_question_has_a_hidden_test_the_truth_defines(secret, name):
    assignment = secret[name]
    truth, _ = _truth_and_answers(assignment)
    tests = assignment.hidden_tests()
    assert {t.question for t in tests} == {q["name"] for q in assignment.questions() if not q["manual"]}
    for t in tests:
        for check in re.findall(r"truth_a\d\.(check_\w+)\(", t.source):
            assert callable(getattr(truth, check, None)), f"{t.name} calls {check}, which {truth.__name__} lacks"


def test_the_masters_type_no_verdict_and_a3_computes_it(secret):
    """As tests/book/test_one_story.py asks of the chapters, for the sealed text too (model answers included)."""
    # by path, under a name of its own: the test runs alone too, without tests/book on sys.path
    typed = _module(ROOT / "tests" / "book" / "test_one_story.py", "one_story_patterns").TYPED_VERDICTS
    for name, assignment in secret.items():
        prose = "\n".join(c.source for c in assignment.notebook.cells if c.cell_type == "markdown")
        for pattern in typed:
            found = re.search(pattern, prose, re.IGNORECASE)
            assert not found, f"{name} types a verdict by hand: {found.group(0)!r}"
    code = "\n".join(c.source for c in secret["a3_cmc_ablation"].notebook.cells if c.cell_type == "code")
    assert re.search(r"verdicts\.verdict\(", code)


# ---------------------------------------------------------------- the hidden tests against answers
@pytest.mark.parametrize("name", SEALED)
def test_right_answers_pass_every_hidden_test(secret, name):
    truth, answers = _truth_and_answers(secret[name])
    checks = sorted(n for n in vars(truth) if n.startswith("check_"))
    assert sorted(answers.RIGHT) == checks
    for check, args in answers.RIGHT.items():
        getattr(truth, check)(*args)


@pytest.mark.parametrize("name", SEALED)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # unguarded wrong answers divide by zero on purpose
def test_wrong_answers_fail_every_hidden_test(secret, name):
    truth, answers = _truth_and_answers(secret[name])
    assert sorted(answers.WRONG) == sorted(answers.RIGHT)
    passed = []
    for check, wrong in answers.WRONG.items():
        assert len(wrong) >= 3, f"{check}: {len(wrong)} wrong answers, at least 3 wanted"
        for label, fn in wrong.items():
            try:
                getattr(truth, check)(*(fn if isinstance(fn, tuple) else (fn,)))
            except AssertionError:
                continue
            passed.append(f"{check}: {label}")
    assert not passed, f"wrong answers that pass: {passed}"
    print(f"\n{name}: " + ", ".join(f"{c} {len(w)} wrong answers" for c, w in answers.WRONG.items()))


@pytest.mark.parametrize("name", SEALED)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_earlier_solutions_in_git_history_fail_every_hidden_test(secret, name):
    truth, answers = _truth_and_answers(secret[name])
    assert sorted(answers.HISTORY) == sorted(answers.RIGHT)
    passed = []
    for check, fn in answers.HISTORY.items():
        try:
            getattr(truth, check)(*(fn if isinstance(fn, tuple) else (fn,)))
        except (AssertionError, TypeError):  # a wrong result, or the earlier signature
            continue
        passed.append(check)
    assert not passed, f"earlier solutions that still pass: {passed}"


# ---------------------------------------------------------------- a class of each assignment, graded
SHORTCUTS = {  # reidlib standing in for an answer: the grading copy refuses every one
    "a1_lucas_kanade": {
        "p4_dense": "def dense_lucas_kanade(prev, next, window=9, ridge=1e-6):\n"
        "    return P.lucas_kanade(prev, next, window, levels=0, weights='box')",
        "p5_pyramid": "def pyramid_lucas_kanade(prev, next, window=9, levels=2, iterations=3, factor=0.5, init=None):\n"
        "    return P.compute_flow(prev, next, 'lk', window=window, levels=levels)",
    },
    "a2_fcn_attention": {
        "p1_topk": "from reidlib.models import MaxPool\n\ndef masked_topk_mean(features, mask, k):\n"
        "    return MaxPool()(features, mask)",
        "p2_stats": "from reidlib.models.pooling import weighted_mean\n\ndef attentive_stats_pool(f, s, m):\n"
        "    return torch.cat([weighted_mean(f, s * m), weighted_mean(f, s * m)], -1)",
        "p3_sparsemax": "from reidlib.models import masked_activation\n\ndef masked_sparsemax(a, m, t=1.0):\n"
        "    return masked_activation(a / t, m, 'softmax')",
        "p4_fcn": "import reidlib.models\nFCNAttention = reidlib.models.FCNTemporalAttention.__bases__[0]",
    },
    "a3_cmc_ablation": {
        "p1_cmc": "from reidlib.evaluation import rank_metrics\n\n"
        "def cmc(d, qp, gp, max_rank=20, query_camids=None, gallery_camids=None, junk_pid=-1):\n"
        "    return rank_metrics(d, qp, gp, query_camids, gallery_camids, max_rank)['cmc']",
        "p2_minp": "import importlib, reidlib.evaluation.metrics as M\nimportlib.reload(M)\n\n"
        "def mean_inp(d, qp, gp, query_camids=None, gallery_camids=None, junk_pid=-1):\n"
        "    return M.mean_average_precision(d, qp, gp, query_camids, gallery_camids)",
        "p3_paired": "from reidlib.stats import paired_t\n\ndef paired_difference(a, b, confidence=0.95):\n"
        "    d = paired_t(a, b, confidence)\n    return d.diff, d.low, d.high",
    },
}


def _filled(student, answers: dict[str, str]):
    nb = nbformat.from_dict(student)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    for cell in nb.cells:
        q = cell.metadata.get("course", {}).get("question")
        if q in answers and cell.cell_type == "code":
            cell.source = answers[q]
    return nb


def _history_answers(assignment, answers) -> dict[str, str]:
    """The earlier version's solutions, as a student copying them from git history would paste them."""
    out = {}
    for q in (q for q in assignment.questions() if not q["manual"]):
        test = next(t for t in assignment.hidden_tests() if t.question == q["name"])
        check = re.search(r"\.(check_\w+)\(", test.source).group(1)
        fn = answers.HISTORY[check]
        fn = fn[0] if isinstance(fn, tuple) else fn
        out[q["name"]] = inspect.getsource(fn).replace("old_", "").replace("Old", "")
    return out


@pytest.fixture(scope="module")
def graded_classes(secret, built, tmp_path_factory):
    why = sandbox.why_unavailable()
    if why:
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(f"NO SANDBOX HERE: {why}")
    sheets = {}
    for name, assignment in secret.items():
        student = nbformat.read(built[name], as_version=4)
        _, answers = _truth_and_answers(assignment)
        subs = tmp_path_factory.mktemp(name) / "subs"
        subs.mkdir()
        nbformat.write(build.solved(student, assignment), subs / "teacher.ipynb")
        nbformat.write(student, subs / "blank.ipynb")
        nbformat.write(_filled(student, _history_answers(assignment, answers)), subs / "history.ipynb")
        nbformat.write(_filled(build.solved(student, assignment), SHORTCUTS[name]), subs / "shortcut.ipynb")
        limits = sandbox.Limits(cell_s=60, test_s=60, wall_s=300)
        sheets[name] = cli.grade(name, subs, jobs=2, limits=limits, quiet=True)
    return sheets


@pytest.mark.parametrize("name", SEALED)
def test_a_class_earns_what_its_answers_are_worth(secret, graded_classes, name):
    import csv

    with open(graded_classes[name], newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assignment = secret[name]
    auto = [q for q in assignment.questions() if not q["manual"]]
    col = {q["name"]: f"{q['name']} ({q['points']:g})" for q in auto}
    assert float(rows["teacher"]["auto"]) == assignment.auto_points(), rows["teacher"]["notes"]
    assert rows["blank"]["auto"] == "0" and rows["history"]["auto"] == "0", rows["history"]["notes"]
    notes = rows["shortcut"]["notes"]
    for q in SHORTCUTS[name]:
        assert rows["shortcut"][col[q]] == "0" and f"{q}: " in notes, f"{q}: {notes}"
        why = notes.split(f"{q}: ", 1)[1].split(" | ")[0]
        # the stand-in of a class derives from nothing: __bases__[0] is object
        assert "is not available while" in why or why == "TypeError: object() takes no arguments", f"{q}: {why}"


# ---------------------------------------------------------------- privacy
def _chapters_tests() -> set[str]:
    """Lines of the chapters' own tests (chapter 3's 2 x 2 solve, a pyramid's pixel grid): the book's public
    code, which a course solution may share without anything leaking."""
    course = Path(__file__).resolve().parent  # the course's own tests: the others are the book's public code
    return {
        ln.strip() for p in course.parent.rglob("test_*.py") if p.parent != course for ln in p.read_text().splitlines()
    }


@pytest.fixture(scope="module")
def secrets_by_name(secret) -> dict[str, set[str]]:
    public = _chapters_tests()
    lines = {name: a.solution_lines() - public for name, a in secret.items()}
    for name, found in lines.items():
        assert len(found) >= 20, f"{name}: only {len(found)} solution lines found, too few to test anything"
    return lines


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


def test_student_notebooks_hold_no_solution(secrets_by_name):
    for name, secrets in secrets_by_name.items():
        for path in (build.STUDENT_DIR / f"{name}.ipynb", build.STUDENT_DIR / f"{name}.md"):
            text = path.read_text()
            assert not _leaks(text, secrets), f"{path.name} shows solution lines: {_leaks(text, secrets)[:3]}"
            assert "truth_" not in text and "Model answer" not in text


def test_heads_tree_holds_no_solution(secrets_by_name):
    """Every file git keeps at HEAD (the new masters' lines; git history keeps the earlier ones)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(["git", "ls-tree", "-r", "-z", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    blobs = [entry.split(b"\t", 1) for entry in listing.split(b"\0") if entry]
    ids = b"".join(meta.split()[2] + b"\n" for meta, _ in blobs if meta.split()[1] == b"blob")
    batch = subprocess.run(["git", "cat-file", "--batch"], cwd=ROOT, input=ids, capture_output=True, check=True).stdout
    secrets = set().union(*secrets_by_name.values())
    pos, checked = 0, 0
    while pos < len(batch):
        header_end = batch.index(b"\n", pos)
        size = int(batch[pos:header_end].split()[2])
        body = batch[header_end + 1 : header_end + 1 + size]
        pos = header_end + 2 + size
        if b"\0" not in body:
            checked += 1
            leaks = _leaks(body.decode(errors="ignore"), secrets)
            assert not leaks, f"a file at HEAD shows solution lines: {leaks[:3]}"
    assert checked > 100


@pytest.mark.browser
def test_no_solution_in_the_built_book(secrets_by_name):
    html = ROOT / "_build" / "html"
    if not (html / "index.html").exists():
        pytest.skip("no built book in _build/html (make book)")
    secrets = set().union(*secrets_by_name.values())
    for page in html.rglob("*"):
        if page.suffix in (".html", ".ipynb", ".md", ".txt", ".js") and page.is_file():
            leaks = _leaks(page.read_text(errors="ignore"), secrets)
            assert not leaks, f"{page.relative_to(html)} shows solution lines: {leaks[:3]}"
    assert not list(html.rglob("*autograder*")) and not list(html.rglob("*solution.ipynb"))


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    wheel = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    run = subprocess.run(wheel, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    sdist = f"from setuptools import build_meta; print(build_meta.build_sdist({str(out)!r}))"
    run = subprocess.run([sys.executable, "-c", sdist], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return {"wheel": next(out.glob("reidlib-*.whl")), "sdist": next(out.glob("reidlib-*.tar.gz"))}


def _members(path: Path):
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            yield from ((n, z.read(n)) for n in z.namelist())
    else:
        with tarfile.open(path) as t:
            yield from ((m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile())


def test_the_wheel_packs_only_the_library(packages):
    names = [n for n, _ in _members(packages["wheel"])]
    assert all(n.startswith(("reidlib/", "reidlib-")) for n in names), [n for n in names if "reidlib" not in n]
    assert not [n for n in names if "course" in n or "truth_" in n or "answers_" in n]


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_the_packages_hold_no_solution_and_no_hidden_test(packages, secrets_by_name, kind):
    secrets = set().union(*secrets_by_name.values())
    for name, data in _members(packages[kind]):
        if b"\0" not in data:
            leaks = _leaks(data.decode(errors="ignore"), secrets)
            assert not leaks, f"{name} in the {kind} holds solution lines: {leaks[:3]}"
