"""The sandbox a submission runs in: Debian's bubblewrap (``bwrap``) with kernel limits.

Inside, the notebook sees a read-only system (``/usr``, the Python installation, its site-packages
with any installed ``reidlib`` hidden), the staged grading folder (``/grading``: the worker, the
grading copy of reidlib, the submission's code cells) and a private, size-capped ``/tmp``. It does not
see the checkout, the other submissions, the teacher's folder or the hidden tests: they are not mounted.
It has no network (its own empty network namespace) and its own process namespace, so killing the
sandbox kills every process the notebook started, daemons included.

Limits are the kernel's, with hard = soft so that no signal handler can outlive them: ``RLIMIT_AS``
(memory of each process), ``RLIMIT_CPU`` (a hard limit is SIGKILL), ``RLIMIT_NPROC`` (processes and
threads of the sandbox's own user id), ``RLIMIT_FSIZE`` (one file). The grader adds what the kernel
cannot give without cgroups: wall time (it kills the sandbox's process namespace) and the sum of the
resident memory of all its processes (a watchdog that polls ``/proc``).

As root, bwrap builds the sandbox and ``setpriv`` then drops to an unprivileged user id of its own
(one per concurrent sandbox, so ``RLIMIT_NPROC`` counts that sandbox alone), with no capabilities and
``no_new_privs``. As another user, bwrap makes an unprivileged user namespace.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import site
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
UID_BASE = 61000  # the sandboxes' user ids as root: see sandbox_uid
SLOTS = 16  # sandboxes at once, at most, per grading process


def sandbox_uid(slot: int) -> int:
    """The user id of a sandbox run as root: one per slot, and a range per grading process, so that
    RLIMIT_NPROC counts that sandbox alone, even beside another grader (or test worker) on the machine."""
    return UID_BASE + (os.getpid() % 1000) * SLOTS + slot % SLOTS


NO_SANDBOX_RISK = (
    "--no-sandbox: the submissions will run as YOU, with your files, your network and no limits but time. "
    "A notebook can then read the hidden tests and the solutions, change other submissions and the grade "
    "sheet, and keep running after grading. Grade this way only code you trust."
)


class SandboxUnavailable(RuntimeError):
    """No working bwrap here: grading untrusted notebooks is refused (see ``--no-sandbox``)."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use. The environment variables of the same names override the defaults."""

    cell_s: float = 120.0  # REIDLIB_GRADE_CELL_LIMIT: one notebook cell
    test_s: float = 60.0  # REIDLIB_GRADE_TEST_LIMIT: one hidden test, all its calls together
    wall_s: float = 900.0  # REIDLIB_GRADE_WALL_LIMIT: the whole submission (cells, restarts, tests)
    memory_mb: int = 4096  # REIDLIB_GRADE_MEMORY_MB: RLIMIT_AS of a process, and the sandbox's resident sum
    processes: int = 64  # REIDLIB_GRADE_PROCESSES: RLIMIT_NPROC (threads count too)
    file_mb: int = 64  # REIDLIB_GRADE_FILE_MB: RLIMIT_FSIZE, the largest file it may write
    scratch_mb: int = 256  # REIDLIB_GRADE_SCRATCH_MB: size of its private /tmp

    ENV = {
        "cell_s": "REIDLIB_GRADE_CELL_LIMIT",
        "test_s": "REIDLIB_GRADE_TEST_LIMIT",
        "wall_s": "REIDLIB_GRADE_WALL_LIMIT",
        "memory_mb": "REIDLIB_GRADE_MEMORY_MB",
        "processes": "REIDLIB_GRADE_PROCESSES",
        "file_mb": "REIDLIB_GRADE_FILE_MB",
        "scratch_mb": "REIDLIB_GRADE_SCRATCH_MB",
    }

    @classmethod
    def from_env(cls, env=None, **overrides) -> Limits:
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(cls.ENV[f.name])
            if raw is not None:
                try:
                    values[f.name] = type(f.default)(float(raw))
                except ValueError:
                    raise ValueError(f"{cls.ENV[f.name]} must be a number; found {raw!r}") from None
        return cls(**{**values, **{k: v for k, v in overrides.items() if v is not None}})


def _python() -> tuple[Path, Path]:
    """(the interpreter to run, its installation prefix) of this Python, outside any virtual environment."""
    exe = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    return exe, Path(os.path.realpath(sys.base_prefix))


def site_dirs() -> list[Path]:
    """Where this Python's packages are (torch, numpy, IPython ...), as the sandbox mounts them."""
    dirs = [Path(p) for p in site.getsitepackages()]
    if site.ENABLE_USER_SITE and Path(site.getusersitepackages()).is_dir():
        dirs.append(Path(site.getusersitepackages()))
    out = []
    for d in dirs:
        d = Path(os.path.realpath(d))
        if d.is_dir() and d not in out:
            out.append(d)
    return out


def _ancestors(path: Path) -> list[str]:
    return [str(p) for p in reversed(path.parents) if str(p) != "/"]


def _user_processes() -> int:
    uid, n = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                n += entry.stat().st_uid == uid
            except OSError:
                pass
    return n


def command(stage: Path, args: list[str], limits: Limits, slot: int = 0) -> list[str]:
    """The full command line: prlimit, bwrap with its mounts, then (as root) setpriv, then this Python
    with ``args`` (``stage`` is mounted at ``/grading``)."""
    exe, prefix = _python()
    root = os.geteuid() == 0
    nproc = limits.processes if root else _user_processes() + limits.processes
    mem = limits.memory_mb << 20
    cmd = [
        "prlimit",
        f"--as={mem}:{mem}",
        f"--cpu={int(limits.wall_s) + 1}:{int(limits.wall_s) + 1}",
        f"--nproc={nproc}:{nproc}",
        f"--fsize={limits.file_mb << 20}:{limits.file_mb << 20}",
        "--core=0:0",
        "--",
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
    ]
    if root:  # bwrap builds the sandbox as root; setpriv below drops every privilege
        cmd += ["--cap-drop", "ALL"] + [x for c in ("SETUID", "SETGID", "SETPCAP") for x in ("--cap-add", f"CAP_{c}")]
    else:
        cmd += ["--unshare-user", "--disable-userns"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "lib", "lib64", "sbin", "lib32"):
        p = Path("/") / top
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            cmd += ["--ro-bind", str(p), str(p)]
    if not str(prefix).startswith("/usr/"):
        for d in _ancestors(prefix):
            cmd += ["--perms", "0755", "--dir", d]
        cmd += ["--ro-bind", str(prefix), str(prefix)]
    pythonpath = ["/grading/lib"]
    cmd += ["--perms", "0755", "--dir", "/opt"]
    for i, d in enumerate(site_dirs()):
        cmd += ["--ro-bind", str(d), f"/opt/site{i}"]
        if (d / "reidlib").exists():  # an installed reidlib is hidden: the grading copy is the only one
            cmd += ["--tmpfs", f"/opt/site{i}/reidlib", "--remount-ro", f"/opt/site{i}/reidlib"]
        pythonpath.append(f"/opt/site{i}")
    cmd += ["--ro-bind", str(stage), "/grading", "--proc", "/proc", "--dev", "/dev"]
    cmd += ["--perms", "1777", "--size", str(16 << 20), "--tmpfs", "/dev/shm"]
    cmd += ["--perms", "1777", "--size", str(limits.scratch_mb << 20), "--tmpfs", "/tmp"]
    cmd += ["--remount-ro", "/", "--clearenv", "--chdir", "/tmp"]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONPATH": ":".join(pythonpath),
        "PYTHONDONTWRITEBYTECODE": "1",
        "REIDLIB_PROFILE": "quick",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
    }
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    cmd.append("--")
    if root:
        uid = str(sandbox_uid(slot))
        cmd += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        cmd += ["--no-new-privs", "--bounding-set=-all", "--inh-caps=-all"]
    return cmd + [str(exe), "-S", "-B", *args]


@functools.lru_cache(maxsize=1)
def why_unavailable() -> str | None:
    """None when the sandbox works on this machine; otherwise what is missing and how to get it."""
    if sys.platform != "linux":
        return f"the sandbox needs Linux and bubblewrap; this is {sys.platform} (grade on Linux, or in a Linux VM)"
    missing = [t for t in ("bwrap", "prlimit") if not shutil.which(t)]
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        missing.append("setpriv")
    if missing:
        return (
            f"{', '.join(missing)} not found: install Debian's bubblewrap and util-linux "
            "(`sudo apt-get install bubblewrap util-linux`, or `make sandbox`)"
        )
    stage = Path(__file__).resolve().parent
    probe = command(stage, ["-c", "print('ok')"], Limits(wall_s=30), slot=999)
    try:
        run = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "bwrap did not start a sandbox within 60 s"
    if run.returncode or run.stdout.strip() != "ok":
        return f"bwrap is installed but cannot make a sandbox here: {(run.stderr or run.stdout).strip()[-300:]}"
    return None


def require(no_sandbox: bool = False) -> bool:
    """True when the sandbox is used; False when the teacher chose ``--no-sandbox`` (the risk is printed).
    Raises :class:`SandboxUnavailable` when there is no sandbox and no such choice."""
    if no_sandbox:
        print("WARNING " + NO_SANDBOX_RISK, file=sys.stderr)
        return False
    why = why_unavailable()
    if why:
        raise SandboxUnavailable(
            f"refusing to run untrusted notebooks without a sandbox: {why}. To grade anyway, knowing the "
            f"risk, pass --no-sandbox. {NO_SANDBOX_RISK}"
        )
    return True


class Process:
    """One sandboxed process tree: started with pipes, watched for memory, killed as a whole."""

    def __init__(self, script: str, args: list[str], stage: Path, limits: Limits, slot: int, sandboxed: bool = True):
        """Run ``stage/script`` with ``args`` (paths in them relative to ``stage``)."""
        self.limits, self.reason = limits, None
        if sandboxed:
            cmd = command(stage, [f"/grading/{script}", *args], limits, slot)
            env = None
        else:  # the teacher's explicit choice: the worker runs as the teacher, in the staging folder
            cmd = [sys.executable, "-B", str(stage / script), *args]
            env = {**os.environ, "PYTHONPATH": str(stage / "lib"), "REIDLIB_PROFILE": "quick", "MPLBACKEND": "Agg"}
        self.popen = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
            cwd=None if sandboxed else stage,
        )
        self.stderr = bytearray()
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _drain(self):
        """Keep the last 20 kB the notebook printed (its stdout and stderr)."""
        for chunk in iter(lambda: self.popen.stderr.read1(1 << 14), b""):
            self.stderr += chunk
            del self.stderr[:-20_000]

    def _tree(self) -> list[int]:
        """Every process below ours (from /proc), ours included."""
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    stat = Path(f"/proc/{entry.name}/stat").read_text()
                    ppid = int(stat.rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [self.popen.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def resident_mb(self) -> float:
        total = 0
        for pid in self._tree():
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            except (OSError, ValueError, IndexError):
                pass
        return total / (1 << 20)

    def _watch(self):
        while self.popen.poll() is None:
            if self.resident_mb() > self.limits.memory_mb:
                self.kill(f"its processes used more than {self.limits.memory_mb} MB of memory together")
                return
            time.sleep(0.2)

    def send(self, data: bytes) -> None:
        try:
            self.popen.stdin.write(data)
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the sandbox has ended; the next read says so

    def kill(self, reason: str) -> None:
        """End the sandbox: SIGKILL to bwrap's process group; its process namespace dies with it."""
        if self.reason is None:
            self.reason = reason
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()  # the pipes stay open: a reader in another thread sees their end, then close()

    def close(self) -> None:
        """Kill the sandbox (if it still runs) and release its pipes."""
        self.kill("grading is over")
        self.drain.join(timeout=5)  # it ends at the pipe's end, now that every writer is dead
        for f in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            try:
                f.close()
            except OSError:
                pass

    def ended(self) -> str:
        """Why the process ended, in words (after a read found the channel closed)."""
        if self.reason:
            return self.reason
        code = self.popen.wait()
        if code < 0 or code == 137:
            sig = -code if code < 0 else 9
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            more = " (the CPU limit, or the memory limit of one process)" if sig in (9, 24) else ""
            return f"the notebook's process was killed by {name}{more}"
        tail = self.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"the notebook's process ended with exit code {code} {tail[0][:200]}".strip()
