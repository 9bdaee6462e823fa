"""The on-disk caches (rendered synthetic frames, preprocessed inputs): leftovers of killed or failed
writes are removed, those of running writers kept, and a failed write explains itself."""

import errno
import pathlib
import subprocess
import sys
import time

import pytest

from reidlib._io import HOST, ChecksumWriter
from reidlib.data import SyntheticReID
from reidlib.preprocess import preprocess_dataset

GEN = "SyntheticReID(num_ids=2, seq_len=(3, 4), size=(32, 16), seed=1)"


def small_gen():
    return SyntheticReID(num_ids=2, seq_len=(3, 4), size=(32, 16), seed=1)


def kill_mid_write(script: str, folder: pathlib.Path, pattern: str) -> pathlib.Path:
    """Run ``script`` until a temporary matching ``pattern`` appears in ``folder``, kill -9 it -> that temporary."""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 120
        while not list(folder.glob(pattern)) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    (left,) = folder.glob(pattern)
    assert f".tmp{proc.pid}-" in left.name
    return left


# ------------------------------------------------------------------ rendered synthetic frames
def test_synthetic_cache_removes_the_folders_of_ended_writers_only(tmp_path, ended_pid, running_pid):
    names = {
        "legacy": f"synthetic-aaa.tmp{ended_pid}",  # the name reidlib used before tags
        "dead": f"synthetic-bbb.tmp{ended_pid}-{HOST}",
        "alive": f"synthetic-ccc.tmp{running_pid}-{HOST}",
        "elsewhere": f"synthetic-ddd.tmp{ended_pid}-someothermachine",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "frames.npy").write_bytes(b"partial")
    tracklets = small_gen().tracklets(cache_dir=tmp_path)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted([names["alive"], names["elsewhere"], f"synthetic-{small_gen().cache_key()}"])
    assert len(tracklets) == 4


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_a_synthetic_cache_writer_killed_mid_write_is_cleaned_up_next_time(tmp_path):
    script = f"""
import time
from reidlib._io import ChecksumWriter
from reidlib.data import SyntheticReID
def slow(self, data):
    self.file.write(b"half"); time.sleep(120)
ChecksumWriter.write = slow  # every array file of a store is written through it
{GEN}.tracklets(cache_dir={str(tmp_path)!r})
"""
    left = kill_mid_write(script, tmp_path, "synthetic-*.tmp*")
    small_gen().tracklets(cache_dir=tmp_path)
    assert not left.exists() and [p.name for p in tmp_path.iterdir()] == [f"synthetic-{small_gen().cache_key()}"]


def test_a_full_disk_while_caching_synthetic_frames_removes_the_partial_folder(tmp_path, monkeypatch):
    calls = []
    real = ChecksumWriter.write

    def fills_up(self, data):
        calls.append(len(data))
        if len(calls) == 2:  # the frames, after their .npy header
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(ChecksumWriter, "write", fills_up)
    with pytest.raises(
        OSError, match=r"could not write the synthetic frames cache .*synthetic-\w+: no room to write: the disk is full"
    ):
        small_gen().tracklets(cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ preprocessed inputs
def test_preprocess_cache_removes_the_parts_of_ended_writers_only(tmp_path, ended_pid, running_pid):
    root = tmp_path / "preprocess"
    root.mkdir()
    names = {
        "legacy": f"synthetic-0123456789abcdef.tmp{ended_pid}.npy",  # the name reidlib used before tags
        "dead": f"tracklets-0123456789abcdef.tmp{ended_pid}-{HOST}.json",
        "alive": f"tracklets-fedcba9876543210.tmp{running_pid}-{HOST}.npy",
    }
    for name in names.values():
        (root / name).write_bytes(b"partial")
    preprocess_dataset(small_gen().tracklets(), cache_dir=tmp_path, progress=False)
    left = sorted(p.name for p in root.iterdir() if ".tmp" in p.name)
    assert left == [names["alive"]]


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_a_preprocess_writer_killed_mid_build_is_cleaned_up_next_time(tmp_path):
    script = f"""
import time
from reidlib.data import SyntheticReID
from reidlib.preprocess import cache, preprocess_dataset
real = cache.prepare_sequence
def slow(*a, **kw):
    time.sleep(120)
cache.prepare_sequence = slow
preprocess_dataset({GEN}.tracklets(), cache_dir={str(tmp_path)!r}, progress=False)
"""
    left = kill_mid_write(script, tmp_path / "preprocess", "*.tmp*")
    preprocess_dataset(small_gen().tracklets(), cache_dir=tmp_path, progress=False)
    assert not left.exists() and not [p for p in (tmp_path / "preprocess").iterdir() if ".tmp" in p.name]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="file size limits are POSIX")
def test_a_real_write_limit_while_preprocessing_gives_a_clear_error_and_no_leftovers(tmp_path):
    script = f"""
import resource, signal
from reidlib.data import SyntheticReID
from reidlib.preprocess import preprocess_dataset
tracklets = {GEN}.tracklets()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
try:
    preprocess_dataset(tracklets, cache_dir={str(tmp_path)!r}, progress=False)
except OSError as e:
    print("OSError:", e)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "could not write the preprocessing cache" in out.stdout and "disk is full" in out.stdout, out
    assert list((tmp_path / "preprocess").iterdir()) == []


def test_a_failed_index_write_removes_the_temporary_folder(tmp_path, monkeypatch):
    import os

    real = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            self.f.write(text[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    def fails_on_the_index(fd, mode="r", *a, **kw):
        f = real(fd, mode, *a, **kw)
        return Full(f) if mode == "w" else f  # the index is the one file written as text

    monkeypatch.setattr("reidlib._store.os.fdopen", fails_on_the_index)
    with pytest.raises(OSError, match="could not write the preprocessing cache .*: no room to write: the disk is full"):
        preprocess_dataset(small_gen().tracklets(), cache_dir=tmp_path, progress=False)
    assert list((tmp_path / "preprocess").iterdir()) == []  # neither a temporary folder nor a half store
