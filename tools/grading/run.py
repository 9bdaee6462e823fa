"""One submission in its sandbox, seen from the grader: its cells run there, its functions are called
through the channel, and every limit is enforced from outside.

A cell that runs past the cell limit (or ends the notebook's process, or is killed for memory) is
recorded and the notebook is started again without it, so it costs the parts that need it and no
more. A hidden test that runs past the test limit kills the sandbox; the next test starts it again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from . import channel
from .sandbox import Limits, Process

HERE = Path(__file__).resolve().parent
MAX_RESTARTS = 6  # cells stopped, at most, before the rest of the notebook is given up


class SandboxGone(BaseException):
    """The sandbox ended during a call (time limit, memory, a crash). A BaseException, so that a hidden
    test's ``except Exception`` cannot take it for the student's error."""


class NotebookRun:
    """The code cells of one submission, run in a sandbox on demand; restarted past stopped cells."""

    def __init__(self, cells: list[str], lib: Path, limits: Limits, slot: int = 0, sandboxed: bool = True):
        self.cells, self.limits, self.slot, self.sandboxed = cells, limits, slot, sandboxed
        self.stage = Path(tempfile.mkdtemp(prefix="reidlib-grading-"))  # removed by close()
        self.stage.chmod(0o755)  # readable by the sandbox's own user id
        for name in ("worker.py", "channel.py"):
            shutil.copy(HERE / name, self.stage / name)
        shutil.copytree(lib, self.stage / "lib")
        for path in (self.stage / "lib").rglob("*"):  # readable by the sandbox's own user id
            path.chmod(0o755 if path.is_dir() else 0o644)
        (self.stage / "lib").chmod(0o755)
        (self.stage / "job.json").write_text(json.dumps({"cells": cells}))
        self.stopped: dict[int, str] = {}  # cell -> why it was stopped (it is skipped from then on)
        self.errors: dict[int, dict] = {}  # cell -> the exception it raised (last start)
        self.process: Process | None = None
        self.starts = 0
        self.deadline = time.monotonic() + limits.wall_s  # the whole submission
        self.call_deadline: float | None = None  # set per hidden test
        self.gone: str | None = None  # why the notebook cannot answer any more (None while it can)

    # ------------------------------------------------------------ the notebook
    def _start(self) -> None:
        if self.process:
            self.process.close()
        skip = ",".join(str(i) for i in sorted(self.stopped))
        self.process = Process("worker.py", [skip], self.stage, self.limits, self.slot, self.sandboxed)
        self.reader = channel.DeadlineReader(self.process.popen.stdout.fileno())
        self.starts += 1
        self.errors = {}
        current = None
        while True:
            deadline = min(self.deadline, time.monotonic() + self.limits.cell_s)
            try:
                header, _ = self.reader.read(deadline)
            except TimeoutError:
                if time.monotonic() >= self.deadline:
                    self._give_up(f"the submission ran past the grader's time limit of {self.limits.wall_s:g} s")
                    return
                if current is None:
                    self._give_up(f"the notebook's sandbox did not start within {self.limits.cell_s:g} s")
                    return
                self.process.kill(f"this cell ran past the grader's time limit of {self.limits.cell_s:g} s")
                self._stop(current)
                return self._restart()
            except (EOFError, channel.ChannelError):
                why = self.process.ended()
                self.process.kill(why)
                if current is None:
                    self._give_up(why)
                    return
                self._stop(current)
                return self._restart()
            if header.get("ready"):
                return
            if isinstance(header.get("cell"), int):
                current = header["cell"]
                if header.get("error"):
                    self.errors[current] = header["error"]

    def _stop(self, cell: int) -> None:
        self.stopped[cell] = self.process.reason or "it was stopped"

    def _restart(self) -> None:
        if len(self.stopped) >= MAX_RESTARTS or time.monotonic() >= self.deadline:
            self._give_up(f"{len(self.stopped)} cells were stopped; the rest of the notebook was not run")
            return
        self._start()

    def _give_up(self, why: str) -> None:
        if self.process:
            self.process.kill(why)
        self.gone = why

    def ready(self) -> bool:
        """Start (or restart) the sandbox when it is not running; False when the notebook is given up."""
        if self.gone:
            return False
        if self.process is None or self.process.popen.poll() is not None:
            self._start()
        return not self.gone and self.process.popen.poll() is None

    # ------------------------------------------------------------ calls
    def request(self, header: dict, args=(), kwargs=None):
        """Send one request; return the decoded value, or raise the student's exception (a builtin type
        of the same name when there is one) or :class:`SandboxGone`."""
        if not self.ready():
            raise SandboxGone(self.gone)
        arrays: dict = {}
        keep = lambda obj: obj.handle if isinstance(obj, RemoteObject) else _refuse(obj)  # noqa: E731
        message = {
            **header,
            "args": channel.encode(tuple(args), arrays, keep),
            "kwargs": channel.encode(dict(kwargs or {}), arrays, keep),
        }
        self.process.send(channel.pack(message, arrays))
        deadline = min(self.deadline, self.call_deadline or self.deadline)
        try:
            reply, arrays = self.reader.read(deadline)
        except TimeoutError:
            what = "the test" if self.call_deadline and self.call_deadline <= self.deadline else "the submission"
            limit = self.limits.test_s if what == "the test" else self.limits.wall_s
            self.process.kill(f"{what} ran past the grader's time limit of {limit:g} s and was stopped")
            raise SandboxGone(self.process.reason) from None
        except (EOFError, channel.ChannelError) as e:
            why = self.process.ended() if isinstance(e, EOFError) else f"a broken reply ({e})"
            self.process.kill(why)
            raise SandboxGone(why) from None
        if "error" in reply:
            raise _student_error(reply["error"])
        try:
            return channel.decode(reply.get("value"), arrays, lookup=lambda h: RemoteObject(self, h))
        except (channel.ChannelError, KeyError, TypeError, ValueError) as e:
            raise TypeError(f"the answer could not be read: {e}") from None

    def describe(self, name: str) -> str:
        """'missing', 'none', 'ellipsis', 'callable' or 'type:<name>' for a name of the notebook."""
        states = self.request({"op": "describe", "names": [name]})
        return states[0] if isinstance(states, list) and states and isinstance(states[0], str) else "missing"

    def close(self) -> None:
        if self.process:
            self.process.close()
        shutil.rmtree(self.stage, ignore_errors=True)


def _refuse(obj):
    raise channel.ChannelError(f"cannot send a {type(obj).__name__} to the sandbox")


def _student_error(error) -> Exception:
    """The student's exception as the grader raises it: the builtin class of that name, else RuntimeError."""
    import builtins

    kind = str(error.get("type", "Exception")) if isinstance(error, dict) else "Exception"
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    cls = getattr(builtins, kind, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            return cls(message)
        except TypeError:  # builtins with other signatures (UnicodeError ...)
            pass
    return RuntimeError(f"{kind}: {message}")


class RemoteFunction:
    """A name of the submission's notebook (a function or a class), called in its sandbox."""

    def __init__(self, run: NotebookRun, name: str):
        self.run, self.name = run, name

    def __call__(self, *args, **kwargs):
        return self.run.request({"op": "call", "target": self.name}, args, kwargs)

    def __repr__(self):
        return f"<{self.name} of the submission>"


class RemoteObject:
    """An object that stays in the sandbox (an ``nn.Module`` the student's class made)."""

    def __init__(self, run: NotebookRun, handle: channel.Handle):
        self.run, self.handle = run, handle

    def __call__(self, *args, **kwargs):
        return self.method("__call__", *args, **kwargs)

    def method(self, name: str, *args, **kwargs):
        return self.run.request({"op": "call", "target": self.handle.ident, "method": name}, args, kwargs)

    def eval(self):
        self.method("eval")
        return self

    def train(self, mode: bool = True):
        self.method("train", mode)
        return self

    def __repr__(self):
        return repr(self.handle)
