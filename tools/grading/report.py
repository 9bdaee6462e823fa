"""What grading writes for the teacher (``OUT`` is the output folder, outside the submissions):

* ``grades.csv``: one row per student: the notebook graded, the points of every question (headed
  ``name (points)``, ``manual`` for those graded by hand), ``auto``, ``manual``, ``total``, ``max``, a
  note per failure and the files not graded (older resubmissions);
* ``feedback/<student>.md``: the same for one student, with every failure in full;
* ``answers/<question>.html``: the written answers of the class, one page per manual question;
* ``manual-template.csv``: a sheet to fill in for the manual questions (``student``, one column per
  question, ``comment``), merged with ``python tools/course.py merge OUT --manual FILE``.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt


def _fmt(x: float) -> str:
    return f"{x:g}"


def load(out: Path) -> dict:
    path = out / "results.json"
    if not path.exists():
        raise FileNotFoundError(f"no results.json in {out}: grade the class first (python tools/course.py grade)")
    return json.loads(path.read_text())


def read_manual(path: Path, data: dict) -> dict[str, dict]:
    """A teacher's CSV of manual scores -> {student: {question: points, "comment": text}}, checked: every
    student and question must exist, every score lie within its points."""
    manual = {q["name"]: q["points"] for q in data["questions"] if q["manual"]}
    students = {r["student"] for r in data["results"]}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        student = (row.get("student") or "").strip()
        if student not in students:
            raise ValueError(
                f"{path}, line {line}: no graded student called {student!r} (found {sorted(students)[:5]}...)"
            )
        scores = {}
        for key, value in row.items():
            name = re.sub(r"\s*\(.*\)$", "", key or "").strip()
            if name in ("student", "comment") or not (value or "").strip():
                continue
            if name not in manual:
                raise ValueError(f"{path}: column {key!r} is not a manual question ({', '.join(manual)})")
            try:
                points = float(value)
            except ValueError:
                raise ValueError(f"{path}, line {line}, {name}: expected a number of points, found {value!r}") from None
            if not 0 <= points <= manual[name]:
                raise ValueError(f"{path}, line {line}, {name}: {points:g} is outside 0 to {manual[name]:g}")
            scores[name] = points
        out[student] = {**scores, "comment": (row.get("comment") or "").strip()}
    return out


def rows(data: dict, manual: dict[str, dict] | None = None) -> tuple[list[str], list[dict]]:
    """The grade sheet's header and rows."""
    manual = manual or {}
    qs = data["questions"]
    header = ["student", "notebook"]
    header += [f"{q['name']} ({_fmt(q['points'])}{', manual' if q['manual'] else ''})" for q in qs]
    header += ["auto", "manual", "total", "max", "notes", "not graded"]
    out = []
    for r in data["results"]:
        given = manual.get(r["student"], {})
        row = {"student": r["student"], "notebook": r["notebook"]}
        auto = man = 0.0
        pending = []
        for q, col in zip(qs, header[2:], strict=False):
            if q["manual"]:
                score = given.get(q["name"])
                row[col] = "" if score is None else _fmt(score)
                man += score or 0.0
                if score is None:
                    pending.append(q["name"])
            else:
                score = r["scores"].get(q["name"], 0.0)
                row[col] = _fmt(score)
                auto += score
        row.update(auto=_fmt(auto), manual=_fmt(man), total=_fmt(auto + man), max=_fmt(sum(q["points"] for q in qs)))
        notes = list(r["notes"])
        notes += [f"{name}: {why[0][:300]}" for name, why in r["failures"].items()]
        if pending:
            notes.append(f"not graded by hand yet: {', '.join(pending)}")
        row["notes"] = " | ".join(notes)
        row["not graded"] = "; ".join(r["others"])
        out.append(row)
    return header, out


def feedback(data: dict, r: dict, manual: dict) -> str:
    """One student's feedback, in Markdown."""
    lines = [f"# {data['assignment']}: feedback for {r['student']}", ""]
    lines.append(f"Graded notebook: `{r['notebook']}`" if r["notebook"] else "No notebook was graded.")
    if r["others"]:
        lines.append(f"Not graded (only the newest notebook counts): {', '.join(f'`{o}`' for o in r['others'])}")
    lines += ["", "| question | points | out of |", "|---|---|---|"]
    given = manual.get(r["student"], {})
    total = 0.0
    for q in data["questions"]:
        score = given.get(q["name"]) if q["manual"] else r["scores"].get(q["name"], 0.0)
        total += score or 0.0
        shown = "to be graded by hand" if score is None else _fmt(score)
        lines.append(f"| {q['name']} | {shown} | {_fmt(q['points'])} |")
    lines += [f"| **total** | **{_fmt(total)}** | {_fmt(sum(q['points'] for q in data['questions']))} |", ""]
    for note in r["notes"]:
        lines.append(f"- {note}")
    for name, why in r["failures"].items():
        lines += [f"## {name}: what failed", ""] + [f"    {w}".replace("\n", "\n    ") for w in why] + [""]
    stopped = r.get("cells", {}).get("stopped", {})
    for cell, why in stopped.items():
        lines.append(f"- Code cell {int(cell) + 1} was stopped: {why}; the notebook was run again without it.")
    errors = r.get("cells", {}).get("errors", {})
    for cell, err in errors.items():
        lines.append(f"- Code cell {int(cell) + 1} raised {err['type']}: {err['message'][:300]}")
    if given.get("comment"):
        lines += ["", "## Your teacher's comment", "", given["comment"]]
    return "\n".join(lines).rstrip() + "\n"


def written_answers(data: dict, submissions: dict[str, Path | None]) -> dict[str, str]:
    """One HTML page per manual question: its answer by every student (Markdown rendered without raw HTML)."""
    md = MarkdownIt("commonmark", {"html": False})
    pages = {}
    manual = [q for q in data["questions"] if q["manual"]]
    names = [q["name"] for q in manual]
    answers = {student: answer_cells(path, names, "markdown") for student, path in submissions.items()}
    for q in manual:
        body = [f"<h1>{html.escape(data['assignment'])}: {html.escape(q['name'])} ({_fmt(q['points'])} points)</h1>"]
        for student, by_question in sorted(answers.items()):
            text = by_question.get(q["name"], "")
            body.append(f'<h2 id="{html.escape(student)}">{html.escape(student)}</h2>')
            body.append(md.render(text) if text.strip() else "<p><em>no answer</em></p>")
        pages[q["name"]] = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(q['name'])}</title></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )
    return pages


PLACEHOLDER = "_Type your answer here, replacing this text._"


def answer_cells(path: Path | None, names: list[str], cell_type: str) -> dict[str, str]:
    """A notebook's answer cells of one kind ("code" or "markdown"), joined per question
    (``metadata.course.question``); the written answers' placeholder is left out."""
    if path is None:
        return {}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # unreadable: the sheet already says so
        return {}
    out: dict[str, list[str]] = {}
    for cell in nb.cells:
        name = cell.get("metadata", {}).get("course", {}).get("question")
        if name in names and cell.cell_type == cell_type and cell.source.strip() != PLACEHOLDER:
            out.setdefault(name, []).append(cell.source)
    return {k: "\n\n".join(v) for k, v in out.items()}


def write(out: Path, data: dict, submissions: dict[str, Path | None], manual: dict | None = None) -> Path:
    """Write grades.csv, the feedback files, the written answers and the manual template; return the sheet."""
    manual = manual or {}
    header, table = rows(data, manual)
    sheet = out / "grades.csv"
    with open(sheet, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(table)
    (out / "feedback").mkdir(exist_ok=True)
    for r in data["results"]:
        (out / "feedback" / f"{r['student']}.md").write_text(feedback(data, r, manual))
    (out / "answers").mkdir(exist_ok=True)
    for name, page in written_answers(data, submissions).items():
        (out / "answers" / f"{name}.html").write_text(page)
    manual_qs = [q for q in data["questions"] if q["manual"]]
    if manual_qs:
        with open(out / "manual-template.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["student", *[f"{q['name']} ({_fmt(q['points'])})" for q in manual_qs], "comment"])
            for r in data["results"]:
                w.writerow([r["student"], *[manual.get(r["student"], {}).get(q["name"], "") for q in manual_qs], ""])
    return sheet
