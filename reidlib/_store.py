"""The frame store: named arrays of stacked frames in one folder, read back memory-mapped once they pass
their checks. Three caches keep their frames in it: the rendered synthetic frames (chapter 2), the
preprocessed inputs (chapter 3) and the lab's frozen features (chapter 11).

A store is a folder with one ``NAME.npy`` per array (every array holds one row per frame, all tracklets
stacked) and ``index.json``: the caller's metadata, and under ``files`` each array file's size and CRC-32
(:func:`reidlib._io.problem`). It is written into a temporary folder, made exclusively beside its
target and renamed into place when complete: a reader sees a whole store or none, a second writer that
finishes later keeps the first one's, and a failed write removes its temporary folder and says why
(:func:`reidlib._io.write_error`). The temporary folders of writers that were killed are removed by the
next writer or reader (:meth:`FrameStore.get`). A store that fails a check (a file truncated, zeroed,
replaced by a link, an index edited) is never served: :meth:`FrameStore.get` says what is wrong, warns,
and builds it again.

It imports nothing of reidlib but :mod:`reidlib._io`; each cache keeps its own knowledge (which arrays,
which metadata, how rows become tracklets or inputs).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._io import CacheRebuiltWarning, ChecksumWriter, problem, remove_stale, temp_folder, trust, write_error

INDEX = "index.json"


@dataclass(frozen=True)
class Stack:
    """An array written piece by piece, so that it never has to be in memory whole: its full ``shape``
    (rows first), its ``dtype``, and ``pieces`` (arrays of ``shape[1:]`` rows, stacked in order)."""

    shape: tuple[int, ...]
    dtype: np.dtype
    pieces: Iterable[np.ndarray]

    @classmethod
    def of(cls, array: np.ndarray) -> Stack:
        """A whole array as one piece."""
        return cls(array.shape, array.dtype, [array])


@dataclass(frozen=True)
class Stored:
    """A store that passed its checks: its ``index`` (the caller's metadata) and its ``arrays`` (name ->
    read-only memory map, (frames, ...) each)."""

    folder: Path
    index: dict
    arrays: dict[str, np.ndarray] = field(repr=False)

    @property
    def rows(self) -> int:
        return len(next(iter(self.arrays.values())))


def array_file(folder: str | os.PathLike, name: str) -> Path:
    """The file of array ``name`` in the store ``folder``."""
    return Path(folder) / f"{name}.npy"


class FrameStore:
    """The store in ``folder`` with the arrays ``names``; ``what`` names it in messages ("the preprocessing
    cache"); ``family`` is the glob of the names of its kind in its parent folder (:func:`remove_leftovers`)."""

    def __init__(self, folder: str | os.PathLike, names: Sequence[str], what: str, family: str = "*"):
        self.folder, self.names, self.what, self.family = Path(folder), tuple(names), what, family

    def get(
        self,
        build: Callable[[], tuple[Mapping[str, np.ndarray | Stack], dict]],
        check: Callable[[Stored], str | None] | None = None,
    ) -> Stored:
        """The stored arrays. When the folder is missing, ``build()`` -> (arrays, index) is written first; when
        it fails a check (the store's, then ``check``'s, which says what is wrong in words or returns None),
        a :class:`CacheRebuiltWarning` says what, and it is built again."""
        self.remove_leftovers()
        if self.folder.exists() or self.folder.is_symlink():
            stored = self._read(check)
            if not isinstance(stored, str):
                return stored
            warnings.warn(
                f"{self.what} {self.folder} is damaged: {stored}. Rebuilding it.", CacheRebuiltWarning, stacklevel=3
            )
            self.discard()
        self.write(*build())
        stored = self._read(check)
        if isinstance(stored, str):
            raise OSError(f"{self.what} {self.folder} was written but does not read back: {stored}.")
        return stored

    def _read(self, check: Callable[[Stored], str | None] | None) -> Stored | str:
        stored = self.read()
        why = None if isinstance(stored, str) or check is None else check(stored)
        return stored if why is None else why

    def read(self) -> Stored | str:
        """The store once every file matches its index, or what is wrong with it (in words)."""
        if self.folder.is_symlink():
            return "it is a symbolic link, not a folder reidlib wrote"
        index = self._index()
        if isinstance(index, str):
            return index
        for name in self.names:
            why = problem(array_file(self.folder, name), index["files"].get(f"{name}.npy"))
            if why is not None:
                return f"{name}.npy: {why}"
        try:
            arrays = {name: np.load(array_file(self.folder, name), mmap_mode="r") for name in self.names}
            rows = {name: len(array) for name, array in arrays.items()}
        except (OSError, ValueError, TypeError) as e:
            return f"its files do not read as the arrays reidlib wrote ({type(e).__name__})"
        if len(set(rows.values())) > 1:
            return f"its arrays hold different numbers of frames ({rows})"
        return Stored(self.folder, {k: v for k, v in index.items() if k != "files"}, arrays)

    def _index(self) -> dict | str:
        path = self.folder / INDEX
        if not self.folder.is_dir():
            return "it is not a folder"
        if path.is_symlink():
            return f"its {INDEX} is a symbolic link, not a file reidlib wrote"
        try:
            index = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            return f"its {INDEX} cannot be read ({type(e).__name__})"
        if not isinstance(index, dict) or not isinstance(index.get("files"), dict):
            return f"its {INDEX} records no sizes and checksums (written by an older reidlib, or edited)"
        return index

    def write(self, arrays: Mapping[str, np.ndarray | Stack], index: dict) -> bool:
        """Write ``arrays`` (name -> array or :class:`Stack`, one for each of the store's names) and ``index``
        (JSON-able metadata) -> True, or False when another writer's store was put in place first (then
        that one stays). A failed write removes its temporary folder and raises the OSError of
        :func:`reidlib._io.write_error`; an error of a Stack's pieces (the caller's code) passes as it is."""
        if sorted(arrays) != sorted(self.names) or "files" in index:
            raise ValueError(f"{self.what}: expected the arrays {list(self.names)} and an index without 'files'.")
        self.remove_leftovers()
        tmp, theirs = None, []  # theirs: errors raised while the caller made a piece
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_folder(self.folder)
            files = {}
            for name in self.names:
                stack = arrays[name] if isinstance(arrays[name], Stack) else Stack.of(np.asarray(arrays[name]))
                files[f"{name}.npy"] = _save(array_file(tmp, name), stack, theirs)
            with os.fdopen(_create(tmp / INDEX), "w", encoding="utf-8") as f:
                f.write(json.dumps({**index, "files": files}))
                _flush(f)
            os.chmod(tmp, 0o755)  # a cache may be shared; mkdtemp makes folders private
            return self._put(tmp)
        except BaseException as e:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(e, OSError) and e not in theirs:
                raise write_error(self.folder, e, self.what) from e
            raise

    def _put(self, tmp: Path) -> bool:
        """Rename the complete ``tmp`` into place -> True; False when another writer's came first."""
        try:
            tmp.rename(self.folder)
        except OSError:
            if not (self.folder.is_dir() and not self.folder.is_symlink()):
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another writer finished first: keep theirs
            return False
        for name in self.names:
            trust(array_file(self.folder, name))  # checksummed as it was written
        return True

    def discard(self) -> None:
        """Remove the store (or a link or file in its place, never what a link points to)."""
        if self.folder.is_symlink() or not self.folder.is_dir():
            self.folder.unlink(missing_ok=True)
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    def remove_leftovers(self) -> list[Path]:
        """Remove the temporary folders that killed writers of this family left beside the store."""
        return remove_leftovers(self.folder.parent, self.family)


def remove_leftovers(parent: str | os.PathLike, family: str = "*") -> list[Path]:
    """Remove the temporaries in ``parent`` of the stores named ``family`` (a glob; ``"*"`` where reidlib owns
    the whole folder) that writers left when they were killed, never those of a writer still running
    (:func:`reidlib._io.remove_stale`) -> the removed paths."""
    return remove_stale(Path(parent).glob(f"{family}.tmp[0-9]*"))


def _create(path: Path) -> int:
    """A new file, created exclusively (never through a link) -> its open descriptor."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.open(path, flags, 0o644)


def _flush(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _save(path: Path, stack: Stack, theirs: list) -> dict:
    """Write ``stack`` to ``path`` as an .npy file, front to back (the bytes of ``np.save``), checksummed as
    it goes -> its record. An error raised while a piece is made is added to ``theirs``."""
    shape, dtype = tuple(int(n) for n in stack.shape), np.dtype(stack.dtype)
    header = dict(descr=np.lib.format.dtype_to_descr(dtype), fortran_order=False, shape=shape)
    rows, pieces = 0, iter(stack.pieces)
    with os.fdopen(_create(path), "wb") as raw:
        out = ChecksumWriter(raw)
        np.lib.format.write_array_header_1_0(out, header)
        while True:
            try:
                piece = next(pieces, None)
            except BaseException as e:
                theirs.append(e)
                raise
            if piece is None:
                break
            if piece.dtype != dtype or piece.shape[1:] != shape[1:]:
                raise ValueError(f"{path.name}: a piece of {piece.dtype} {piece.shape} in a stack of {dtype} {shape}.")
            rows += len(piece)
            if piece.size:  # an empty piece writes nothing (and has no bytes to view)
                out.write(np.ascontiguousarray(piece))
        if rows != shape[0]:
            raise ValueError(f"{path.name}: the pieces hold {rows} rows; its shape {shape} says {shape[0]}.")
        _flush(raw)
    return out.record
