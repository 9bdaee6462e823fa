"""Chapter 12's real-data reproduction in chunks, on fabricated archives: a tar in the official
iLIDS-VID layout (synthetic persons), prepared as a reader's download would be, trained in chunks
over two "sessions" and compared with an uninterrupted run; where the runs go on Colab."""

import io
import json
import tarfile
import warnings

import pytest
import torch

from reidlib.data import SyntheticReID
from reidlib.data import download as dl
from reidlib.experiments import collect
from reidlib.experiments import reproduce as rp
from reidlib.training import read_checkpoint

EXTRA = ["--train.window", "4", "--train.seed", "0", "--device", "cpu"]


@pytest.fixture(scope="module")
def archive_root(tmp_path_factory):
    """A data root holding only iLIDS-VID.tar (6 synthetic persons in the official layout), then prepared."""
    base = tmp_path_factory.mktemp("fabricated")
    src = SyntheticReID(num_ids=6, seq_len=(8, 10), seed=0).export_ilidsvid(base / "src", num_splits=2)
    root = base / "data"
    root.mkdir()
    with tarfile.open(root / "iLIDS-VID.tar", "w") as t:
        for part in sorted(src.parent.iterdir()):
            t.add(part, arcname=part.name)
    assert dl.prepare("ilidsvid", root=root, check=False, download_ok=False) == root / "i-LIDS-VID"
    return root


def test_plan_cuts_each_split_into_chunks_of_epochs():
    chunks = rp.plan(rp.TABLES[:2], [0, 3], epochs=250, every=100)
    assert [(c.table.slug, c.split, c.start, c.epochs) for c in chunks[:4]] == [
        ("ilidsvid", 0, 0, 100),
        ("ilidsvid", 0, 100, 200),
        ("ilidsvid", 0, 200, 250),
        ("ilidsvid", 3, 0, 100),
    ]
    assert len(chunks) == 2 * 2 * 3 and {c.total for c in chunks} == {250}
    paper = rp.plan(rp.TABLES[1:2], [0], every=100)  # the schedule's own epochs: PRID-2011's 1400
    assert len(paper) == 14 and paper[-1].epochs == 1400
    with pytest.raises(ValueError, match="every must be >= 1"):
        rp.plan(rp.TABLES, [0], every=0)


@pytest.mark.slow
def test_chunks_resume_across_sessions_and_end_as_one_run(archive_root, tmp_path):
    runs, cache = tmp_path / "runs", tmp_path / "cache"
    extra = [*EXTRA, "--data.cache_dir", str(cache)]
    chunks = rp.plan(rp.TABLES[:1], [0], epochs=2, every=1)

    def session(todo):
        out = io.StringIO()
        finished = list(rp.run_chunks(todo, lambda c: rp.command(c, archive_root, runs, extra), lambda c: 6, out=out))
        return finished, out.getvalue()

    # session 1 runs one chunk and ends (the Colab session is recycled)
    first, shown = session(rp.pending(chunks, runs)[:1])
    assert first == chunks[:1] and rp.reached(chunks[0].folder(runs)) == 1
    assert "[1/1] iLIDS-VID, split 0, epochs up to 1 of 2 (0% of these steps done)" in shown
    assert "training" in shown  # the command's own progress bar came through
    # session 2 sees what is left, and says how much
    left = rp.pending(chunks, runs)
    assert left == chunks[1:] and rp.chunk_steps(left[0], runs, persons=3) == 6  # 1 epoch x 2 x 3 persons
    session(left)
    assert rp.pending(chunks, runs) == [] and rp.reached(chunks[0].folder(runs)) == 2

    # the same two epochs in one go: the same weights, the same test
    whole = tmp_path / "whole"
    one = rp.Chunk(rp.TABLES[0], 0, 0, 2, 2)
    session_out = io.StringIO()
    list(rp.run_chunks([one], lambda c: rp.command(c, archive_root, whole, extra), lambda c: 12, out=session_out))
    a = read_checkpoint(chunks[0].folder(runs) / "checkpoint.pt")["model"]
    b = read_checkpoint(one.folder(whole) / "checkpoint.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ra, rb = (json.loads((f / "results.json").read_text()) for f in (chunks[0].folder(runs), one.folder(whole)))
    assert (ra["rank1"], ra["mAP"]) == (rb["rank1"], rb["mAP"])
    assert collect(runs / "ilidsvid")["n"] == 1


@pytest.mark.slow
def test_a_chunk_cut_before_its_test_runs_again(archive_root, tmp_path):
    runs = tmp_path / "runs"
    chunk = rp.plan(rp.TABLES[:1], [1], epochs=1, every=1)[0]
    run = lambda todo: list(rp.run_chunks(todo, lambda c: rp.command(c, archive_root, runs, EXTRA), lambda c: 6))
    run([chunk])
    (chunk.folder(runs) / "results.json").unlink()  # killed after training, before testing
    assert rp.pending([chunk], runs) == [chunk] and rp.chunk_steps(chunk, runs, persons=3) == 0
    run([chunk])  # resumes at its end: only the test runs
    assert rp.pending([chunk], runs) == []


@pytest.mark.slow
def test_a_failed_chunk_says_how_to_go_on(archive_root, tmp_path):
    chunk = rp.plan(rp.TABLES[1:2], [0], epochs=1, every=1)[0]  # PRID-2011 is not in this data root
    with pytest.raises(RuntimeError, match=r"(?s)PRID-2011, split 0.* failed.*run the same cell again"):
        list(rp.run_chunks([chunk], lambda c: rp.command(c, archive_root, tmp_path, EXTRA), lambda c: 1))


def test_runs_go_to_drive_with_consent_else_to_the_runtime_with_a_warning(tmp_path, monkeypatch):
    drive = tmp_path / "drive"
    monkeypatch.setattr(rp, "DRIVE", drive)
    monkeypatch.setattr(rp, "DRIVE_RUNS", drive / "MyDrive" / "reid-runs")

    def allowed(path):
        (drive / "MyDrive").mkdir(parents=True)

    def declined(path):
        raise ValueError("mount failed: the user declined access")

    folder, said = rp.runs_folder(colab=True, mount=allowed, environ={})
    assert folder == drive / "MyDrive" / "reid-runs" and "Google Drive" in said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder, said = rp.runs_folder(colab=True, mount=declined, environ={})
    assert folder == rp.COLAB_RUNS and "recycled runtime loses" in said
    assert len(caught) == 1 and "the user declined access" in str(caught[0].message)
    assert "lost" in str(caught[0].message)
    assert rp.runs_folder(colab=True, mount=declined, environ={"REIDLIB_RUNS": str(tmp_path)})[0] == tmp_path
    assert rp.runs_folder(colab=False, environ={})[0].name == "runs"


def test_the_cost_sentence_follows_from_steps_and_rate():
    said = rp.cost_sentence(1_500_000, 0.0086, "cuda (NVIDIA H100)")
    hours = 1_500_000 * 0.0086 / 3600
    assert f"{hours:.1f} GPU-hours" in said and "1,500,000 steps" in said and "8.6 ms per step" in said
    assert f"about {-(-hours // 3):.0f} session(s)" in said
