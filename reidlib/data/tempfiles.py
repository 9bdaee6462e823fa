"""Writes that never leave half a file: temporary names that say who wrote them, and cleaning up after kills.

Every temporary file or folder that reidlib writes carries a tag, ``tmp<pid>-<host>``
(:func:`temp_tag`), and is renamed into place only when complete. A process killed
mid-write leaves its temporary behind; the next start removes the ones whose process
has ended (:func:`remove_stale`), and never those of a process still writing, here or
on another machine that shares the folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host"
_TAG = re.compile(r"\.tmp(?P<pid>\d+)(?:-(?P<host>[A-Za-z0-9]+))?(?=\.|$)")
_TEMP_FILE = re.compile(r"\..+?\.(tmp\d+-[A-Za-z0-9]+\.)?[a-z0-9_]{8}\.tmp")  # mkstemp's 8 random characters


def temp_tag() -> str:
    """``tmp<pid>-<host>``: the mark of this process in a temporary name."""
    return f"tmp{os.getpid()}-{HOST}"


def process_running(pid: int) -> bool:
    """True when process ``pid`` exists on this machine (True also when that cannot be told)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        try:
            import psutil
        except ImportError:
            return True
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def is_stale(path: str | os.PathLike) -> bool:
    """True for a temporary whose writer has ended: its tag names a process of this machine that
    is not running, or it has no tag (written by an older reidlib, which put none)."""
    m = _TAG.search(Path(path).name)
    if m is None:
        return True
    if m["host"] is not None and m["host"] != HOST:
        return False  # another machine's process: cannot be checked from here
    return not process_running(int(m["pid"]))


def temp_files(folder: str | os.PathLike) -> list[Path]:
    """The temporary files of :func:`atomic_file` in ``folder`` (``.NAME.tmp<pid>-<host>.<random>.tmp``,
    or ``.NAME.<random>.tmp`` from older reidlib), whatever their state."""
    folder = Path(folder)
    return sorted(p for p in folder.glob(".*.tmp") if _TEMP_FILE.fullmatch(p.name)) if folder.is_dir() else []


def remove_stale(paths: Iterable[Path]) -> list[Path]:
    """Remove the stale temporaries (files or folders) among ``paths`` -> the removed paths."""
    removed = []
    for p in paths:
        if not is_stale(p):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def write_error(path: str | os.PathLike, error: BaseException, what: str = "the file") -> OSError:
    """An OSError that says which write failed, why (a full disk named as such), and what to do."""
    folder = Path(path).parent
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:.0f} MB free there"
    except OSError:
        free = "free space unknown"
    code = getattr(error, "errno", None) or errno.EIO
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    short = re.search(r"\d+ requested and \d+ written|inline_container|PytorchStreamWriter", reason)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or short:  # short: numpy's, torch's words for it
        reason = f"no room to write: the disk is full, or a quota or size limit is reached ({reason})"
    return OSError(
        code,
        f"could not write {what} {path}: {reason}; {free}. Nothing was replaced: an older copy, "
        "if any, is unchanged, and the partial write was removed. Free some disk space (or write "
        "to another folder) and run again.",
    )


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path`` (``.NAME.tmp<pid>-<host>.<random>.tmp``); when the block ends,
    flush it to disk and rename it onto ``path``. On any failure the temporary is removed and
    ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{temp_tag()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
