"""The GitHub workflows: valid against GitHub's workflow schema (check-jsonschema's vendored copy, no
network), and doing what the README says: CI runs .ci/run with the course secret and a working
bubblewrap; the book is built with cached execution, linked to its Colab edition, and deployed."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def schema_check(*paths: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def steps(workflow: dict) -> list[dict]:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_every_workflow_is_valid_against_githubs_schema():
    assert [p.name for p in WORKFLOWS] == ["book.yml", "ci.yml"]
    done = schema_check(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit",
    [
        lambda w: w["jobs"]["ci"].pop("runs-on"),  # a job with no machine
        lambda w: w["jobs"]["ci"]["steps"][0].update(uses=None, run=None),  # a step that does nothing
        lambda w: w.update({True: {"pusher": None}}),  # an event GitHub does not have (key `on`)
    ],
    ids=["no runs-on", "empty step", "unknown event"],
)
def test_the_schema_check_catches_a_broken_workflow(edit, tmp_path):
    def written(workflow: dict, name: str) -> Path:
        workflow = {("on" if k is True else k): v for k, v in workflow.items()}  # `on`, as GitHub reads it
        path = tmp_path / name
        path.write_text(yaml.safe_dump(workflow, sort_keys=False))
        return path

    workflow = load("ci.yml")
    assert schema_check(written(workflow, "same.yml")).returncode == 0  # rewritten unchanged: still valid
    edit(workflow)
    assert schema_check(written(workflow, "bad.yml")).returncode != 0


def test_ci_runs_ci_run_on_push_and_pull_request_with_the_secret_and_bubblewrap():
    ci = load("ci.yml")
    on = ci[True]  # YAML 1.1 reads the key `on` as true
    assert {"push", "pull_request"} <= set(on)
    runs = "\n".join(s.get("run", "") for s in steps(ci))
    assert "bash .ci/run" in runs
    assert "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in runs and "bwrap --ro-bind" in runs
    secret = next(s for s in steps(ci) if "COURSE_SECRET" in str(s.get("env", {})))
    assert secret["env"]["COURSE_SECRET"] == "${{ secrets.COURSE_SECRET }}"
    assert "REIDLIB_COURSE_SECRET_FILE=$RUNNER_TEMP/" in secret["run"] and 'echo "$COURSE_SECRET"' not in runs


def test_the_book_is_built_cached_pinned_and_deployed():
    book = load("book.yml")
    assert book[True]["push"]["branches"] == ["main"]
    assert {"pages": "write", "id-token": "write"}.items() <= book["permissions"].items()
    uses = [s.get("uses", "") for s in steps(book)]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    cache = next(s for s in steps(book) if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "_build/.jupyter_cache" and "reidlib/**" in cache["with"]["key"]
    runs = "\n".join(s.get("run", "") for s in steps(book))
    for needed in ("nbtools.py edition", "refs/tags/colab-$GITHUB_SHA", 'relink "colab-$GITHUB_SHA" "$GITHUB_SHA"'):
        assert needed in runs
    assert runs.index("nbtools.py relink") < runs.index("make book-strict")
