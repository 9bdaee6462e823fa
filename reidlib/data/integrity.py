"""Moved to :mod:`reidlib._io`, the bottom layer (a size and a CRC-32 recorded when a cache file is
written, checked before it is served); these names stay importable from here."""

from .._io import CacheRebuiltWarning, ChecksumWriter, crc32_file, file_record, problem, trust

__all__ = ["CacheRebuiltWarning", "ChecksumWriter", "crc32_file", "file_record", "problem", "trust"]
