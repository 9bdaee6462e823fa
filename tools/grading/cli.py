"""The course's command line: ``python tools/course.py COMMAND`` (the Makefile's assignments, teacher
and grade targets call it).

    build                         masters -> student notebooks (book/assignments) + _build/teacher/<name>/
    check                         exit 1 when book/assignments is out of date with the masters
    unseal [--force]              sealed masters -> _build/teacher/masters (in clear, never tracked)
    seal [--new]                  _build/teacher/masters -> course/sealed (only what changed)
    grade ASSIGNMENT FOLDER       grade a class in sandboxes -> FOLDER-graded/ (grades.csv, feedback/ ...)
    merge OUT --manual FILE       add the manual scores of FILE to the sheet in OUT (no regrading)
    sandbox                       say whether submissions can be sandboxed on this machine
    drill ASSIGNMENT [--size N]   grade a made-up class of N (solutions, blanks, halves) and time it
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import build, drill, masters, report, sandbox, sealed, similarity
from .grade import find_submissions, grade_class, save


def _template(assignment: masters.Assignment) -> Path:
    """The blank student notebook (the similarity report leaves answers equal to it out)."""
    if not assignment.public:
        return build.STUDENT_DIR / f"{assignment.name}.ipynb"
    path = build.TEACHER_DIR / assignment.name / f"{assignment.name}.ipynb"
    return path if path.exists() else build.build(assignment)


def grade(
    name: str,
    submissions: Path,
    out: Path | None = None,
    jobs: int = 2,
    limits: sandbox.Limits | None = None,
    no_sandbox: bool = False,
    manual: Path | None = None,
    quiet: bool = False,
) -> Path:
    """Grade the class in ``submissions`` for assignment ``name``; write everything to ``out``; return the sheet."""
    submissions = Path(submissions).resolve()
    out = Path(out).resolve() if out else submissions.parent / f"{submissions.name}-graded"
    if out == submissions or submissions in out.parents:
        raise ValueError(f"the output folder {out} must lie outside the submissions folder {submissions}")
    sandboxed = sandbox.require(no_sandbox)
    assignment = masters.assignment(name)
    limits = limits or sandbox.Limits.from_env()
    start = time.monotonic()
    say = (lambda r: None) if quiet else (lambda r: print(f"  {r['student']}: {r['seconds']:.1f} s", flush=True))
    results = grade_class(assignment, submissions, limits, jobs, sandboxed, progress=say)
    save(results, assignment, out)
    paths = {s.student: s.notebook for s in find_submissions(submissions)}
    data = report.load(out)
    sheet = report.write(out, data, paths, report.read_manual(manual, data) if manual else None)
    parts = [q["name"] for q in data["questions"] if not q["manual"]]
    similarity.write(out, similarity.report(paths, _template(assignment), parts))
    if not quiet:
        print(f"{len(results)} submissions of {name} graded in {time.monotonic() - start:.0f} s -> {sheet}")
    return sheet


def merge(out: Path, manual: Path, submissions: Path | None = None) -> Path:
    """Rewrite the sheet and the feedback of ``out`` with the manual scores of ``manual``."""
    data = report.load(out)
    paths = {s.student: s.notebook for s in find_submissions(submissions)} if submissions else {}
    return report.write(out, data, paths, report.read_manual(manual, data))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tools/course.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="student notebooks and teacher material from the masters")
    b.add_argument("names", nargs="*", help="assignments (default: all)")
    sub.add_parser("check", help="exit 1 when book/assignments is out of date with the masters")
    u = sub.add_parser("unseal", help="sealed masters -> _build/teacher/masters")
    u.add_argument("--force", action="store_true", help="overwrite edits made there since the last unseal")
    s = sub.add_parser("seal", help="_build/teacher/masters -> course/sealed (what changed)")
    s.add_argument("--new", action="store_true", help="start a new vault (new salt) for the current secret")
    g = sub.add_parser("grade", help="grade a folder of submissions in sandboxes")
    g.add_argument("assignment", help=f"one of {', '.join(masters.names())}")
    g.add_argument("submissions", type=Path, help="<student>.ipynb files, or one folder per student")
    g.add_argument("--out", type=Path, help="output folder (default: SUBMISSIONS-graded beside it)")
    g.add_argument("--jobs", type=int, default=2, help="sandboxes at once")
    g.add_argument("--manual", type=Path, help="CSV of manual scores (student, one column per manual question)")
    g.add_argument("--no-sandbox", action="store_true", help="run notebooks unconfined (dangerous; see the warning)")
    for field, env in sandbox.Limits.ENV.items():
        g.add_argument(f"--{field.replace('_', '-')}", type=float, help=f"limit (default: ${env} or built in)")
    m = sub.add_parser("merge", help="add manual scores to a graded class's sheet")
    m.add_argument("out", type=Path, help="the folder grading wrote")
    m.add_argument("--manual", type=Path, required=True)
    m.add_argument("--submissions", type=Path, help="the submissions, to export the written answers again")
    sub.add_parser("sandbox", help="say whether submissions can be sandboxed here")
    d = sub.add_parser("drill", help="grade a made-up class and time it")
    d.add_argument("assignment")
    d.add_argument("--size", type=int, default=30)
    d.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    try:
        return _run(args)
    except (RuntimeError, ValueError, FileNotFoundError) as e:  # secret, sandbox, integrity, bad input
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.cmd == "sandbox":
        why = sandbox.why_unavailable()
        print(why or "the sandbox works here (bubblewrap)")
        return 1 if why else 0
    if args.cmd in ("unseal", "seal"):
        if args.cmd == "seal" and args.new:
            vault = sealed.Vault.create(sealed.SEALED, sealed.read_secret())
        else:
            vault = sealed.Vault()
        done = sealed.unseal(vault, force=args.force) if args.cmd == "unseal" else sealed.seal(vault)
        print(f"{args.cmd}ed {len(done)} file(s): {', '.join(done) or 'nothing changed'} ({sealed.OPENED})")
        return 0
    if args.cmd == "build":
        for name in args.names or masters.names():
            path = build.build(masters.assignment(name))
            print(f"{name}: {path.relative_to(build.ROOT)}; teacher: _build/teacher/{name}/")
        return 0
    if args.cmd == "check":
        stale = out_of_date()
        for name in stale:
            print(f"book/assignments/{name} is out of date with its master: run `make assignments`")
        return 1 if stale else 0
    if args.cmd == "drill":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            quiet = lambda n, s, o, j: grade(n, s, o, j, quiet=True)  # noqa: E731
            seconds, wrong = drill.run(args.assignment, args.size, args.jobs, quiet, Path(tmp))
        made_up = f"a made-up class of {args.size} {args.assignment} notebooks"
        print(f"{made_up} graded in {seconds:.0f} s, {args.jobs} at a time")
        for student in wrong:
            print(f"  {student} did not earn what its answers are worth")
        return 1 if wrong else 0
    if args.cmd == "merge":
        print(f"manual scores merged -> {merge(args.out, args.manual, args.submissions)}")
        return 0
    overrides = {f: getattr(args, f) for f in sandbox.Limits.ENV}
    limits = sandbox.Limits.from_env(**overrides)
    grade(args.assignment, args.submissions, args.out, args.jobs, limits, args.no_sandbox, args.manual)
    return 0


def out_of_date() -> list[str]:
    """The student notebooks in book/assignments/ that differ from what the masters make now."""
    import tempfile

    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in masters.names(public=False):
            made = build.build(masters.assignment(name), Path(tmp) / "student", Path(tmp) / "teacher")
            kept = build.STUDENT_DIR / made.name
            if not kept.exists() or not build.same_notebook(kept, made):
                stale.append(kept.name)
    return stale
