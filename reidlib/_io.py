"""Files, the bottom layer of reidlib: writes that never leave half a file nor follow a planted link,
folders that one process holds, and files that vouch for themselves.

Every temporary file or folder that reidlib writes is created exclusively with an unpredictable
name (``tempfile.mkstemp``/``mkdtemp``: ``O_CREAT | O_EXCL | O_NOFOLLOW``, a random part) in the
folder of its target, so that a link planted in a shared cache cannot redirect the write. Its
name also carries a tag, ``tmp<pid>-<host>`` (:func:`temp_tag`), and it is renamed into place
only when complete (:func:`atomic_file`, :func:`atomic_save`, :func:`atomic_write_text`). A process
killed mid-write leaves its temporary behind; the next start removes the ones whose process has
ended (:func:`remove_stale`), and never those of a process still writing, here or on another
machine that shares the folder. :func:`folder_lock` keeps a second process out of a run folder
that one is using.

A cache file records its size and CRC-32 when it is written (:class:`ChecksumWriter`,
:func:`file_record`) and is checked before it is served (:func:`problem`): a cache that was
truncated, zeroed, filled with NaN by a faulty disk or edited by hand fails its check, and the
caller warns (:class:`CacheRebuiltWarning`) and rebuilds it, so corrupt data is never handed to
training. CRC-32 detects accidental damage; it does not stop someone who can write the cache
folder and its index alike. A file is hashed once per process for as long as its size, inode
and modification time stay the same. Shipped files are named by their SHA-256 (:func:`file_sha256`).

Nothing here imports the rest of reidlib: every layer above may use it (chapters 2, 3 and 8 do).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch

HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host"
_TAG = re.compile(r"\.tmp(?P<pid>\d+)(?:-(?P<host>[A-Za-z0-9]+))?(?=\.|$)")
_TEMP_FILE = re.compile(r"\.(?P<name>.+?)\.(?P<tag>tmp\d+-[A-Za-z0-9]+\.)?[a-z0-9_]{8}\.tmp")  # mkstemp: 8 random


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


def temp_files(folder: str | os.PathLike, legacy_names: Iterable[str] = ()) -> list[Path]:
    """The temporary files of :func:`atomic_file` in ``folder`` (``.NAME.tmp<pid>-<host>.<random>.tmp``),
    whatever their state; untagged ones (``.NAME.<random>.tmp``, from older reidlib) only for the
    ``legacy_names`` that reidlib writes there, so that a user's own ``.notes.abcdefgh.tmp`` stays."""
    folder, legacy = Path(folder), set(legacy_names)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob(".*.tmp"):
        m = _TEMP_FILE.fullmatch(p.name)
        if m and (m["tag"] or m["name"] in legacy):
            found.append(p)
    return sorted(found)


def temp_file(target: str | os.PathLike, suffix: str = "") -> tuple[int, Path]:
    """Create an empty temporary file for ``target`` in its folder, exclusively (``O_EXCL | O_NOFOLLOW``),
    named ``NAME.tmp<pid>-<host>.<random>SUFFIX`` and readable by this user only -> (open descriptor, path)."""
    target = Path(target)
    fd, name = tempfile.mkstemp(prefix=f"{target.name}.{temp_tag()}.", suffix=suffix, dir=target.parent)
    return fd, Path(name)


def temp_folder(target: str | os.PathLike) -> Path:
    """Create an empty temporary folder for ``target`` beside it, exclusively (``mkdir`` never follows a
    link), named ``NAME.tmp<pid>-<host>.<random>`` -> its path."""
    target = Path(target)
    return Path(tempfile.mkdtemp(prefix=f"{target.name}.{temp_tag()}.", dir=target.parent))


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
    """An OSError that says which write failed, why (a full disk, a folder that cannot be written, a
    path through a file, each named as such), and what to do."""
    folder = Path(path).parent
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:.0f} MB free there"
    except OSError:
        free = "free space unknown"
    code = getattr(error, "errno", None) or errno.EIO
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, OSError) and error.strerror:  # "[Errno 20] Not a directory: 'path'" -> its words
        reason = error.strerror
    short = re.search(r"\d+ requested and \d+ written|inline_container|PytorchStreamWriter", reason)
    kept = "Nothing was replaced: an older copy, if any, is unchanged, and the partial write was removed."
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        advice = (
            f"{reason}: this user may not write there (a read-only folder or file system). {kept} "
            "Write to a folder you own."
        )
    elif code in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        blocker = next((str(p) for p in [Path(path), *Path(path).parents] if p.exists() and not p.is_dir()), None)
        advice = (
            f"{reason}: {blocker or 'part of the path'} is a file where a folder is needed (or the reverse). {kept} "
            "Choose another path, or move that file away."
        )
    elif code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or short:  # short: numpy's, torch's words for it
        advice = (
            f"no room to write: the disk is full, or a quota or size limit is reached ({reason}); {free}. {kept} "
            "Free some disk space (or write to another folder) and run again."
        )
    else:
        advice = f"{reason}; {free}. {kept} Check the path and the disk, and run again."
    return OSError(code, f"could not write {what} {path}: {advice}")


class FolderBusyError(OSError):
    """Another process holds the folder (:func:`folder_lock`)."""


LOCK = ".reidlib.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str = "the run folder") -> Iterator[Path]:
    """Hold ``folder`` (created if needed) for this process while the block runs: a second process that
    asks for it gets a :class:`FolderBusyError` that names the holder. The lock (``flock`` on
    ``folder/.reidlib.lock``, not inherited by child processes) ends with the block, or with the
    process, even a killed one; the empty lock file stays."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    try:
        if not _try_lock(fd):
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() if hasattr(os, "pread") else ""
            raise FolderBusyError(
                errno.EBUSY,
                f"{what} {folder} is in use by another reidlib process ({holder or 'unknown'}); two runs in one "
                "folder would mix their files. Wait for that one to finish (or stop it), or choose another folder.",
            )
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {HOST}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        yield path
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting -> whether it was free."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


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


def atomic_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file beside ``path``, flushed to disk, then renamed onto ``path``.

    A failed write (a full disk: ``OSError`` or torch's "enforce fail at inline_container.cc")
    removes its temporary file, leaves ``path`` as it was and raises an OSError that says so.
    """
    path = Path(path)
    try:
        with atomic_file(path) as f:
            torch.save(obj, f)
    except OSError as e:
        raise write_error(path, e, "the checkpoint") from e
    except RuntimeError as e:  # torch's zip writer reports failed writes this way
        if "inline_container" not in str(e) and "PytorchStreamWriter" not in str(e):
            raise
        raise write_error(path, e, "the checkpoint") from e
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (a run file: history.json, results.json) atomically: a temporary file beside
    ``path``, flushed to disk, renamed onto ``path``; a failed write removes it and keeps the old file."""
    path = Path(path)
    try:
        with atomic_file(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise write_error(path, e) from e
    return path


_VERIFIED: set[tuple] = set()  # (path, inode, size, mtime) of files whose checksum matched


class CacheRebuiltWarning(UserWarning):
    """A cache file failed its check and is being rebuilt."""


def crc32_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """The CRC-32 of a file's bytes, as 8 hex digits."""
    crc = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            crc = zlib.crc32(block, crc)
    return f"{crc:08x}"


class ChecksumWriter:
    """A binary file wrapper that counts the bytes written through it and their CRC-32, so that a cache
    is checksummed as it is written (no second read): ``.record`` is what :func:`problem` checks."""

    def __init__(self, file):
        self.file, self.bytes, self.crc = file, 0, 0

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        self.crc = zlib.crc32(data, self.crc)
        self.bytes += len(data)
        return self.file.write(data)

    @property
    def record(self) -> dict:
        return {"bytes": self.bytes, "crc32": f"{self.crc:08x}"}


def file_record(path: str | os.PathLike) -> dict:
    """What :func:`problem` checks later: ``{"bytes": size, "crc32": ...}`` of the file as it is now."""
    return {"bytes": os.stat(path).st_size, "crc32": crc32_file(path)}


def trust(path: str | os.PathLike) -> None:
    """Remember that ``path`` (just written by this process, its record taken as it was written) is intact."""
    _VERIFIED.add(_identity(path))


def problem(path: str | os.PathLike, record) -> str | None:
    """Why ``path`` does not match ``record`` (from :func:`file_record`), in words; None when it does.

    A link in place of the file, a missing record, another size or another checksum are problems."""
    path = Path(path)
    if not isinstance(record, dict) or not {"bytes", "crc32"} <= set(record):
        return "its index records no size and checksum (written by an older reidlib, or edited)"
    if path.is_symlink():
        return "it is a symbolic link, not a file reidlib wrote"
    if not path.is_file():
        return "it is missing"
    size = path.stat().st_size
    if size != record["bytes"]:
        return f"it has {size} bytes where its index records {record['bytes']} (truncated or replaced)"
    if _identity(path) in _VERIFIED:
        return None
    found = crc32_file(path)
    if found != record["crc32"]:
        return f"its CRC-32 is {found} where its index records {record['crc32']} (the bytes changed on disk)"
    _VERIFIED.add(_identity(path))
    return None


def _identity(path: str | os.PathLike) -> tuple:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_ino, st.st_size, st.st_mtime_ns)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
