"""The sandbox (tools/grading/sandbox.py, run.py): what a notebook can reach, and limits that hold.

Each test runs a few code cells in a real sandbox (Debian's bubblewrap) and asks the notebook what it
saw through the channel, or watches from outside what happened to it. Without bwrap these tests skip
with a loud message (and fail under CI=true: CI installs it with `make sandbox`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tools.grading import libcopy, sandbox
from tools.grading.checks import call
from tools.grading.run import NotebookRun, RemoteFunction, SandboxGone

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast

ROOT = libcopy.ROOT
QUICK = sandbox.Limits(cell_s=5, test_s=5, wall_s=60, memory_mb=2048, processes=32, file_mb=1, scratch_mb=16)


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    why = sandbox.why_unavailable()
    if why:
        (pytest.fail if os.environ.get("CI", "").lower() == "true" else pytest.skip)(f"NO SANDBOX HERE: {why}")
    return libcopy.write(tmp_path_factory.mktemp("lib"), "a0_demo", ["reidlib.pick", "reidlib.profile"]).parent


def _run(lib, cells: list[str], limits=QUICK, slot=7) -> NotebookRun:
    run = NotebookRun(cells, lib, limits, slot)
    assert run.ready(), run.gone
    return run


def _ask(run: NotebookRun, name: str, *args):
    run.call_deadline = time.monotonic() + run.limits.test_s
    try:
        return call(name, RemoteFunction(run, name), *args)
    finally:
        run.call_deadline = None


def _sandbox_processes(uid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _owner(p) == uid]


def _owner(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


SEES = """
import os, socket

def sees(paths):
    out = {p: os.path.exists(p) for p in paths}
    out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    out["pid"] = os.getpid()
    out["uid"] = os.getuid()
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
        out["network"] = "connected"
    except OSError as e:
        out["network"] = type(e).__name__
    writes = {}
    for target in ["/usr/x", "/opt/x", "/grading/x", "/x", "/tmp/x", __import__("sys").prefix + "/x"]:
        try:
            open(target, "w").write("x")
            writes[target] = "written"
        except OSError as e:
            writes[target] = type(e).__name__
    out["writes"] = writes
    return out
"""


def test_the_notebook_sees_no_checkout_no_network_and_a_read_only_system(lib, tmp_path):
    hidden = [str(ROOT), str(ROOT / "course"), str(ROOT / "_build"), str(tmp_path), "/work", "/root/.ssh", "/home"]
    run = _run(lib, [SEES])
    try:
        seen = _ask(run, "sees", hidden)
    finally:
        run.close()
    assert not any(seen[p] for p in hidden), {p: seen[p] for p in hidden if seen[p]}
    assert seen["network"] in ("OSError", "ConnectionRefusedError", "TimeoutError") or "Unreachable" in seen["network"]
    assert seen["network"] != "connected"
    assert seen["writes"].pop("/tmp/x") == "written"  # its private scratch folder
    assert set(seen["writes"].values()) <= {"OSError", "PermissionError", "FileNotFoundError"}, seen["writes"]
    assert len(seen["pids"]) <= 3 and seen["pid"] <= 3, seen["pids"]  # its own process namespace
    if os.geteuid() == 0:
        assert seen["uid"] == sandbox.sandbox_uid(7)  # not root: the sandbox's own user id


def test_limits_are_the_kernels_with_hard_equal_to_soft(lib):
    probe = (
        "import resource\n\ndef limits():\n    names = ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_NPROC', 'RLIMIT_FSIZE')\n"
        "    return {n: resource.getrlimit(getattr(resource, n)) for n in names}"
    )
    run = _run(lib, [probe])
    try:
        got = {k: tuple(v) for k, v in _ask(run, "limits").items()}
    finally:
        run.close()
    assert got["RLIMIT_AS"] == (2048 << 20,) * 2
    assert got["RLIMIT_CPU"] == (61, 61)
    assert got["RLIMIT_FSIZE"] == (1 << 20,) * 2
    assert got["RLIMIT_NPROC"][0] == got["RLIMIT_NPROC"][1] and got["RLIMIT_NPROC"][0] >= 32


def test_torch_imports_under_the_default_memory_cap(lib):
    cells = [
        "import torch, numpy, cv2, scipy, IPython\n\n"
        "def matmul(n):\n    return float((torch.ones(n, n) @ torch.ones(n, n))[0, 0])"
    ]
    run = _run(lib, cells, sandbox.Limits())  # the defaults a teacher grades with
    try:
        assert run.errors == {} and _ask(run, "matmul", 64) == 64.0
    finally:
        run.close()


def test_a_cell_that_ignores_signals_is_stopped_and_the_rest_still_runs(lib):
    cells = [
        "import signal\nfor s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):\n"
        "    signal.signal(s, signal.SIG_IGN)\nsignal.alarm(0)",
        "while True:\n    pass",
        "def after():\n    return 'ran'",
    ]
    start = time.monotonic()
    run = _run(lib, cells)
    try:
        assert _ask(run, "after") == "ran"
    finally:
        run.close()
    assert run.stopped == {1: "this cell ran past the grader's time limit of 5 s"}
    assert time.monotonic() - start < 30


def test_a_daemon_dies_with_the_sandbox(lib):
    daemon = (
        "import os, signal, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        for s in (signal.SIGTERM, signal.SIGHUP): signal.signal(s, signal.SIG_IGN)\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        "def alive():\n    return len([p for p in os.listdir('/proc') if p.isdigit()])"
    )
    run = _run(lib, [daemon], slot=11)
    assert _ask(run, "alive") >= 3  # the worker, bwrap's init and the daemon
    uid = sandbox.sandbox_uid(11)
    if os.geteuid() == 0:
        assert len(_sandbox_processes(uid)) >= 2
    run.close()
    time.sleep(0.5)
    if os.geteuid() == 0:
        assert _sandbox_processes(uid) == []
    assert run.process.popen.poll() is not None


def test_a_memory_bomb_gets_a_memory_error_and_a_spread_one_is_killed(lib):
    bomb = (
        "def bomb():\n    try:\n        return len(bytearray(8 << 30))\n"
        "    except MemoryError:\n        return 'MemoryError'"
    )
    spread = (
        "import os, time\n"
        "def spread():\n"
        "    for _ in range(6):\n"
        "        if os.fork() == 0:\n"
        "            x = bytearray(600 << 20)\n"
        "            time.sleep(60)\n"
        "    time.sleep(60)\n"
    )
    run = _run(lib, [bomb, spread], sandbox.Limits(cell_s=5, test_s=20, wall_s=60, memory_mb=1024))
    try:
        assert _ask(run, "bomb") == "MemoryError"  # one process: RLIMIT_AS
        with pytest.raises(SandboxGone, match="used more than 1024 MB of memory together"):
            _ask(run, "spread")  # six processes under the per-process cap: the watchdog sums them
    finally:
        run.close()


def test_a_fork_bomb_hits_the_process_limit(lib):
    cells = [
        "import os, time\n"
        "def forks():\n"
        "    n = 0\n"
        "    try:\n"
        "        for _ in range(10_000):\n"
        "            if os.fork() == 0:\n"
        "                time.sleep(30)\n"
        "                os._exit(0)\n"
        "            n += 1\n"
        "    except OSError as e:\n"
        "        return n, type(e).__name__\n"
        "    return n, None"
    ]
    run = _run(lib, cells, slot=12)
    try:
        n, error = _ask(run, "forks")
    finally:
        run.close()
    assert error == "BlockingIOError" and n < QUICK.processes, (n, error)


def test_a_large_file_is_refused(lib):
    cells = [
        "def write():\n    try:\n        open('/tmp/big', 'wb').write(b'x' * (2 << 20))\n"
        "    except OSError as e:\n        return type(e).__name__"
    ]
    run = _run(lib, cells)
    try:
        assert _ask(run, "write") == "OSError"  # EFBIG: RLIMIT_FSIZE is 1 MB here
    finally:
        run.close()


def test_the_cpu_limit_kills_a_process_that_ignores_sigxcpu(lib, tmp_path):
    (tmp_path / "spin.py").write_text(
        "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n"
    )
    tmp_path.chmod(0o755)  # readable by the sandbox's user
    start = time.monotonic()
    proc = sandbox.Process("spin.py", [], tmp_path, sandbox.Limits(wall_s=2), slot=13)
    code = proc.popen.wait(timeout=60)
    assert code in (-9, 137) and time.monotonic() - start < 30, code
    assert "SIGKILL" in proc.ended()


def test_without_a_sandbox_grading_refuses_unless_asked(monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "why_unavailable", lambda: "bwrap not found: install Debian's bubblewrap")
    with pytest.raises(sandbox.SandboxUnavailable, match="refusing to run untrusted notebooks without a sandbox"):
        sandbox.require()
    assert sandbox.require(no_sandbox=True) is False
    assert "can then read the hidden tests and the solutions" in capsys.readouterr().err


def test_the_command_line_refuses_when_bwrap_is_missing(tmp_path):
    (tmp_path / "subs").mkdir()
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "course.py"), "grade", "a0_demo", str(tmp_path / "subs")],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path)},  # no bwrap, no prlimit
    )
    assert run.returncode == 2, run.stderr
    assert "refusing to run untrusted notebooks without a sandbox" in run.stderr and "--no-sandbox" in run.stderr
