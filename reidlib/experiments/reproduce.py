"""The paper's tables on real data in chunks that survive a lost session (chapter 12).

The paper's protocol is long: 1400 epochs per split, 10 splits per table, about 1.5 million
one-pair steps for the four tables, hours on any GPU. A free Colab session ends before that, and
takes its disk with it. So the protocol is cut into chunks (:func:`plan`): one table, one split,
``every`` more epochs; each chunk is one ``python -m reidlib experiment --split I --train.epochs E``
command, which resumes that split's run from its checkpoint and leaves it at epoch E (a run resumed
this way ends with the weights of an uninterrupted one). :func:`pending` reads the run folders to
see which chunks are done, so that running the same cell again, in a new session, goes on where the
last one stopped; :func:`run_chunks` runs the rest with the command's progress shown as it comes.
The run folders go where a new session finds them (:func:`runs_folder`: Google Drive on Colab, with
the reader's consent).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from ..training import HISTORY, SCHEDULES

DRIVE = Path("/content/drive")
DRIVE_RUNS = DRIVE / "MyDrive" / "reid-runs"
COLAB_RUNS = Path("/content/runs")


@dataclass(frozen=True)
class Table:
    """A table of the paper: the datasets it needs, its run folder's name and its `experiment` options."""

    name: str
    slug: str
    needs: tuple[str, ...]
    args: tuple[str, ...]

    @property
    def schedule(self) -> str:
        return self.args[self.args.index("--schedule") + 1]


TABLES = (
    Table("iLIDS-VID", "ilidsvid", ("ilidsvid",), ("--data.dataset", "ilidsvid", "--schedule", "ilidsvid")),
    Table("PRID-2011", "prid2011", ("prid2011",), ("--data.dataset", "prid2011", "--schedule", "prid2011")),
    Table("SDU-VID", "sduvid", ("sduvid",), ("--data.dataset", "sduvid", "--schedule", "sduvid")),
    Table(
        "iLIDS-VID -> PRID-2011",
        "ilidsvid-to-prid2011",
        ("ilidsvid", "prid2011"),
        ("--data.dataset", "ilidsvid", "--test_data.dataset", "prid2011", "--schedule", "ilidsvid"),
    ),
)


@dataclass(frozen=True)
class Chunk:
    """Train split ``split`` of ``table`` from epoch ``start`` up to epoch ``epochs`` (of ``total``)."""

    table: Table
    split: int
    start: int
    epochs: int
    total: int

    def folder(self, runs: Path) -> Path:
        """The split's run folder under the runs folder ``runs``."""
        return Path(runs) / self.table.slug / f"split{self.split}"

    def __str__(self) -> str:
        return f"{self.table.name}, split {self.split}, epochs up to {self.epochs} of {self.total}"


def plan(tables: Iterable[Table], splits: Iterable[int], epochs: int | None = None, every: int = 100) -> list[Chunk]:
    """Every chunk of the protocol, in the order to run them: table by table, split by split, ``every``
    epochs at a time up to ``epochs`` (None: each table's schedule, 1400 for the paper's)."""
    if every < 1:
        raise ValueError(f"every must be >= 1 epoch; found {every}.")
    out = []
    for table in tables:
        total = epochs or SCHEDULES[table.schedule].epochs
        for split in splits:
            ends = [min(e, total) for e in range(every, total + every, every)]
            out += [Chunk(table, int(split), a, b, total) for a, b in pairwise([0, *ends])]
    return out


def reached(folder: Path) -> int:
    """The epochs a split's run folder has trained (0 when it holds no run yet), from its history.json,
    which each checkpoint writes after itself."""
    try:
        history = json.loads((Path(folder) / HISTORY).read_text())
        return len(history["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def done(chunk: Chunk, runs: Path) -> bool:
    """Whether ``chunk`` has run: its split reached its epochs and was tested there (results.json)."""
    folder = chunk.folder(runs)
    if reached(folder) > chunk.epochs:
        return True
    try:
        result = json.loads((folder / "results.json").read_text())
        return reached(folder) == chunk.epochs and result["config"]["train"]["epochs"] == chunk.epochs
    except (OSError, ValueError, KeyError, TypeError):
        return False


def pending(chunks: list[Chunk], runs: Path) -> list[Chunk]:
    """The chunks still to run, in order (a chunk after a done one of the same split is never skipped)."""
    return [c for c in chunks if not done(c, runs)]


def command(chunk: Chunk, root: Path, runs: Path, extra: Iterable[str] = ()) -> list[str]:
    """The `experiment` command of one chunk: data under ``root``, runs under ``runs``."""
    roots = ["--data.root", str(root)]
    if "--test_data.dataset" in chunk.table.args:  # cross-dataset: the test data's root too
        roots += ["--test_data.root", str(root)]
    split = ["--split", str(chunk.split), "--train.epochs", str(chunk.epochs)]
    out = ["--out", str(Path(runs) / chunk.table.slug)]
    return [sys.executable, "-m", "reidlib", "experiment", *chunk.table.args, *roots, *split, *extra, *out]


def run_chunks(
    chunks: list[Chunk],
    command_of: Callable[[Chunk], list[str]],
    steps_of: Callable[[Chunk], int],
    seconds_per_step: float | None = None,
    out=None,
) -> list[Chunk]:
    """Run ``chunks`` one after another, each as its own process whose output (its progress bars
    included) goes to ``out`` (default: this process's stdout) as it comes -> the chunks run.

    Before each chunk a line says where the protocol stands: chunks and steps done, and the time left
    at ``seconds_per_step`` (measured on the chunks run so far when None). A failed chunk raises
    RuntimeError with the end of its output; running the same chunks again resumes."""
    out = out or sys.stdout
    total = sum(steps_of(c) for c in chunks)
    steps, ran = 0, []
    started = time.perf_counter()
    for i, chunk in enumerate(chunks):
        rate = seconds_per_step or ((time.perf_counter() - started) / steps if steps else None)
        left = f", about {_duration((total - steps) * rate)} left" if rate else ""
        print(
            f"[{i + 1}/{len(chunks)}] {chunk} ({100 * steps / max(total, 1):.0f}% of these steps done{left})", file=out
        )
        out.flush()
        tail = _stream(command_of(chunk), out)
        if tail is not None:
            raise RuntimeError(
                f"chunk {chunk} failed; the end of its output:\n{tail}\nFix the cause, then run the same cell again: "
                "finished chunks are kept, and this one resumes from its last checkpoint."
            )
        steps += steps_of(chunk)
        ran.append(chunk)
    return ran


def _stream(cmd: list[str], out, redraw_every: float = 5.0) -> str | None:
    """Run ``cmd``, copying its output to ``out`` as it comes -> None on success, else the end of its
    output. Lines are copied as they end; a progress bar's redraws (text ended by a carriage return)
    at most every ``redraw_every`` seconds, and its last state before its line ends."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "default"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    tail, pending, last = "", "", 0.0
    try:
        for block in iter(lambda: proc.stdout.read1(4096), b""):
            text = pending + block.decode(errors="replace")
            tail = (tail + block.decode(errors="replace"))[-3000:]
            *pieces, pending = re.split(r"(?<=[\r\n])", text)  # each piece ends with \r or \n
            for piece in pieces:
                now = time.monotonic()
                if piece.endswith("\n") or now - last >= redraw_every:
                    out.write(piece)
                    last = now if piece.endswith("\r") else last
            out.flush()
    finally:
        code = proc.wait()
    if pending:
        out.write(pending)
    return None if code == 0 else tail


def chunk_steps(chunk: Chunk, runs: Path, persons: int, batch_size: int | None = None) -> int:
    """The training steps ``chunk`` has left: its epochs not yet trained (its run folder says how far it
    got) x ceil(2 x training persons / batch size) steps per epoch (the schedule's batch size by default)."""
    batch = batch_size or SCHEDULES[chunk.table.schedule].batch_size
    start = max(chunk.start, min(reached(chunk.folder(runs)), chunk.epochs))
    return (chunk.epochs - start) * math.ceil(2 * persons / batch)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cost_sentence(steps: int, seconds_per_step: float, device: str, session_hours: float = 3.0) -> str:
    """Time and cost of ``steps`` training steps at ``seconds_per_step`` on ``device``, in a sentence."""
    hours = steps * seconds_per_step / 3600
    sessions = max(1, math.ceil(hours / session_hours))
    return (
        f"The chunks left train {steps:,} steps: about {_duration(hours * 3600)} at the {seconds_per_step * 1e3:.1f} "
        f"ms per step measured here ({device}), so about {hours:.1f} GPU-hours. On Colab's free tier that costs "
        f"nothing but about {sessions} session(s) of up to {session_hours:g} hours (rerun this cell in each: it "
        f"resumes); on a paid GPU, {hours:.1f} times its hourly price."
    )


def runs_folder(
    colab: bool, mount: Callable[[str], object] | None = None, environ: dict | None = None
) -> tuple[Path, str]:
    """Where the runs go, and a sentence that says so: ``$REIDLIB_RUNS`` when set; on Colab, your Google
    Drive (``mount`` asks for your consent: ``google.colab.drive.mount``), so that a new session resumes
    them, or ``/content/runs`` with a warning when the Drive is not mounted; elsewhere ``runs/``."""
    environ = os.environ if environ is None else environ
    if environ.get("REIDLIB_RUNS"):
        folder = Path(environ["REIDLIB_RUNS"]).expanduser()
        return folder, f"Runs go to {folder} ($REIDLIB_RUNS); a new session resumes them there."
    if not colab:
        return Path("runs"), "Runs go to runs/ beside the notebook; running this cell again resumes them."
    try:
        if mount is None:
            from google.colab import drive  # only on Colab

            mount = drive.mount
        mount(str(DRIVE))  # Colab asks the reader to allow access to their Drive
        if not (DRIVE / "MyDrive").is_dir():
            raise OSError(f"{DRIVE / 'MyDrive'} is not there after mounting")
    except Exception as e:  # declined, timed out, or no Drive: fall back, and say what that costs
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        warnings.warn(
            f"Google Drive was not mounted ({reason}). The runs go to {COLAB_RUNS}, on this runtime's disk: when "
            "Colab recycles the runtime (after a few idle minutes, or at the end of the session) they are lost, and "
            "a new session starts them over. Run this cell again and allow access to keep them on your Drive.",
            stacklevel=2,
        )
        return COLAB_RUNS, f"Runs go to {COLAB_RUNS}, which a recycled runtime loses (see the warning)."
    return DRIVE_RUNS, f"Runs go to your Google Drive, {DRIVE_RUNS}; a new session resumes them there."
