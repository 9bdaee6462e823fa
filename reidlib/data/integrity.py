"""Files that vouch for themselves: a size and a CRC-32 recorded when a cache file is written, checked
before it is served (chapter 3's caches, chapter 2's rendered frames).

A cache that was truncated, zeroed, filled with NaN by a faulty disk or edited by hand fails its
check; the caller then warns (:class:`CacheRebuiltWarning`, naming the file and what was wrong)
and rebuilds it, so corrupt data is never handed to training. CRC-32 detects accidental damage;
it does not stop someone who can write the cache folder and its index alike. A file is hashed
once per process for as long as its size, inode and modification time stay the same.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

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
