"""Moved to :mod:`reidlib._io`, the bottom layer (temporary names, atomic writes, folder locks); these
names stay importable from here."""

from .._io import (
    HOST,
    LOCK,
    FolderBusyError,
    atomic_file,
    folder_lock,
    is_stale,
    process_running,
    remove_stale,
    temp_file,
    temp_files,
    temp_folder,
    temp_tag,
    write_error,
)

__all__ = [
    "HOST",
    "LOCK",
    "FolderBusyError",
    "atomic_file",
    "folder_lock",
    "is_stale",
    "process_running",
    "remove_stale",
    "temp_file",
    "temp_files",
    "temp_folder",
    "temp_tag",
    "write_error",
]
