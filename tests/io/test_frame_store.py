"""The frame store (reidlib._store): what it writes reads back the same, memory-mapped; a damaged store is
never served (a flipped byte, a truncated or missing file, a link, an edited index), it is rebuilt with a
warning; a second writer keeps the first one's store; failed and killed writers leave nothing behind."""

import errno
import io
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from reidlib._io import HOST, CacheRebuiltWarning, ChecksumWriter
from reidlib._store import FrameStore, Stack

NAMES = ("frames", "flags")


def contents(seed: int = 0) -> tuple[dict, dict]:
    """Two arrays of 7 rows (a frame each) and an index, different for each seed."""
    rng = np.random.default_rng(seed)
    arrays = dict(
        frames=rng.integers(0, 256, (7, 4, 3, 3), dtype=np.uint8),
        flags=rng.standard_normal(7).astype(np.float32),
    )
    return arrays, dict(seed=seed, tracklets=[3, 4])


def store(tmp_path, name: str = "store-a") -> FrameStore:
    return FrameStore(tmp_path / name, NAMES, "the test cache", family="store-*")


def npy_bytes(array: np.ndarray) -> bytes:
    """What ``np.save`` writes for ``array``: the independent reference for the store's files."""
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def rewrite(path, edit) -> None:
    """Edit a file's bytes into a new file put in its place (a new inode), as a faulty copy or an editor would."""
    data = bytearray(path.read_bytes())
    edit(data)
    new = path.with_name(path.name + ".edited")
    new.write_bytes(bytes(data))
    os.replace(new, path)


def says(pattern: str, read) -> bool:
    """Whether a store's read said what is wrong (in words, never the data) and ``pattern`` is in it."""
    assert isinstance(read, str), f"a damaged store was read back: {read!r}"
    return re.search(pattern, read) is not None


def test_a_round_trip_gives_back_the_arrays_and_index_memory_mapped(tmp_path):
    arrays, index = contents()
    s = store(tmp_path)
    assert s.write(arrays, index) is True
    assert sorted(p.name for p in s.folder.iterdir()) == ["flags.npy", "frames.npy", "index.json"]
    for name, array in arrays.items():
        assert (s.folder / f"{name}.npy").read_bytes() == npy_bytes(array)  # the bytes of np.save
    stored = s.read()
    assert stored.index == index and stored.rows == 7
    for name, array in arrays.items():
        got = stored.arrays[name]
        assert isinstance(got, np.memmap) and not got.flags.writeable
        assert got.dtype == array.dtype and np.array_equal(got, array)
    files = json.loads((s.folder / "index.json").read_text())["files"]
    assert files["frames.npy"]["bytes"] == len(npy_bytes(arrays["frames"]))


def test_a_stack_written_in_pieces_is_the_array_it_stacks(tmp_path):
    arrays, index = contents()
    frames = arrays["frames"]
    pieces = (frames[a:b] for a, b in [(0, 3), (3, 3), (3, 7)])  # one piece is empty
    s = store(tmp_path)
    s.write(dict(frames=Stack(frames.shape, frames.dtype, pieces), flags=arrays["flags"]), index)
    assert (s.folder / "frames.npy").read_bytes() == npy_bytes(frames)
    assert np.array_equal(s.read().arrays["frames"], frames)


def test_a_stack_whose_pieces_do_not_fit_is_refused_and_leaves_nothing(tmp_path):
    arrays, index = contents()
    frames = arrays["frames"]
    s = store(tmp_path)
    with pytest.raises(ValueError, match=r"the pieces hold 3 rows; its shape .* says 7"):
        s.write(dict(frames=Stack(frames.shape, frames.dtype, [frames[:3]]), flags=arrays["flags"]), index)
    with pytest.raises(ValueError, match=r"a piece of float64"):
        s.write(dict(frames=Stack(frames.shape, frames.dtype, [frames.astype(float)]), flags=arrays["flags"]), index)
    assert list(tmp_path.iterdir()) == []


def damage(s: FrameStore, how: str) -> None:
    path = s.folder / "frames.npy"
    if how == "flipped byte":
        rewrite(path, lambda b: b.__setitem__(-5, b[-5] ^ 0x01))
    elif how == "truncated":
        rewrite(path, lambda b: b.__delitem__(slice(-10, None)))
    elif how == "missing":
        path.unlink()
    elif how == "a link":
        other = s.folder.parent / "elsewhere.npy"
        other.write_bytes(path.read_bytes())  # the same bytes, but not a file the store wrote
        path.unlink()
        path.symlink_to(other)


EXPECTED = {
    "flipped byte": r"frames\.npy: its CRC-32 is [0-9a-f]{8} where its index records [0-9a-f]{8}",
    "truncated": r"frames\.npy: it has \d+ bytes where its index records \d+ \(truncated or replaced\)",
    "missing": r"frames\.npy: it is missing",
    "a link": r"frames\.npy: it is a symbolic link",
}


@pytest.mark.parametrize("how", list(EXPECTED))
def test_a_damaged_file_is_named_and_rebuilt_with_a_warning(tmp_path, how):
    arrays, index = contents()
    s = store(tmp_path)
    s.write(arrays, index)
    damage(s, how)
    assert says(EXPECTED[how], s.read())
    builds = []

    def build():
        builds.append(1)
        return contents()

    with pytest.warns(
        CacheRebuiltWarning, match=rf"the test cache .*store-a is damaged: {EXPECTED[how]}.*\. Rebuilding it\.$"
    ):
        stored = s.get(build)
    assert builds == [1] and np.array_equal(stored.arrays["frames"], arrays["frames"])
    assert not (s.folder / "frames.npy").is_symlink()


def test_an_edited_index_or_a_link_in_place_of_the_folder_is_never_served(tmp_path):
    arrays, index = contents()
    s = store(tmp_path)
    s.write(arrays, index)
    kept = json.loads((s.folder / "index.json").read_text())
    (s.folder / "index.json").write_text(json.dumps({k: v for k, v in kept.items() if k != "files"}))
    assert says(r"index\.json records no sizes and checksums", s.read())
    (s.folder / "index.json").write_text("{not json")
    assert says(r"index\.json cannot be read \(JSONDecodeError\)", s.read())
    kept["files"]["flags.npy"] = kept["files"]["frames.npy"]  # one file's record given to another
    (s.folder / "index.json").write_text(json.dumps(kept))
    assert says(r"flags\.npy: it has \d+ bytes where its index records", s.read())

    target = tmp_path / "target"
    s.folder.rename(target)
    s.folder.symlink_to(target, target_is_directory=True)
    assert says(r"it is a symbolic link, not a folder", s.read())
    with pytest.warns(CacheRebuiltWarning, match="symbolic link"):
        s.get(contents)
    assert not s.folder.is_symlink() and sorted(p.name for p in target.iterdir()) == sorted(
        ["flags.npy", "frames.npy", "index.json"]
    )  # the link was removed, not what it pointed to


def test_arrays_of_different_lengths_and_the_callers_own_check(tmp_path):
    arrays, index = contents()
    s = store(tmp_path)
    s.write({**arrays, "flags": arrays["flags"][:5]}, index)
    assert says(r"its arrays hold different numbers of frames \(\{'frames': 7, 'flags': 5\}\)", s.read())
    s.discard()
    s.write(arrays, index)
    with pytest.warns(CacheRebuiltWarning, match=r"is damaged: seed 0, where 1 is needed\. Rebuilding"):
        stored = s.get(lambda: contents(1), lambda st: None if st.index["seed"] == 1 else "seed 0, where 1 is needed")
    assert stored.index["seed"] == 1 and np.array_equal(stored.arrays["flags"], contents(1)[0]["flags"])


def test_a_writer_that_finishes_second_keeps_the_other_ones_store(tmp_path):
    """Two writers of one store: the one that started first finishes second. The store of the one that finished
    first stays, the other's temporary folder goes, and reading serves the first finisher's arrays."""
    first, second = contents(1), contents(2)
    s = store(tmp_path)
    outcome = {}

    def pieces():
        outcome["first"] = store(tmp_path).write(*first)  # another process, done while this one writes
        yield second[0]["frames"]

    frames = second[0]["frames"]
    outcome["second"] = s.write(
        dict(frames=Stack(frames.shape, frames.dtype, pieces()), flags=second[0]["flags"]), second[1]
    )
    assert outcome == {"first": True, "second": False}
    assert [p.name for p in tmp_path.iterdir()] == ["store-a"]  # no temporary folder left
    stored = s.read()
    assert stored.index == first[1] and np.array_equal(stored.arrays["frames"], first[0]["frames"])


def test_get_serves_the_store_of_a_writer_that_finished_first(tmp_path):
    first = contents(1)

    def build():
        store(tmp_path).write(*first)  # another process finishes while this one builds
        return contents(2)

    stored = store(tmp_path).get(build)
    assert stored.index == first[1] and np.array_equal(stored.arrays["flags"], first[0]["flags"])


def test_a_failed_write_removes_its_temporary_folder_and_says_why(tmp_path, monkeypatch):
    real, calls = ChecksumWriter.write, []

    def fills_up(self, data):
        calls.append(1)
        if len(calls) == 2:  # the frames, after their header
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(ChecksumWriter, "write", fills_up)
    with pytest.raises(OSError, match=r"could not write the test cache .*store-a: no room to write: the disk is full"):
        store(tmp_path).write(*contents())
    assert list(tmp_path.iterdir()) == []


def test_an_error_of_the_callers_pieces_passes_as_it_is(tmp_path):
    arrays, index = contents()
    frames = arrays["frames"]

    def pieces():
        yield frames[:2]
        raise FileNotFoundError(errno.ENOENT, "a frame of the dataset is gone", "frame0007.png")

    with pytest.raises(FileNotFoundError, match="a frame of the dataset is gone") as caught:
        store(tmp_path).write(dict(frames=Stack(frames.shape, frames.dtype, pieces()), flags=arrays["flags"]), index)
    assert "could not write" not in str(caught.value)  # a reading error, not the store's failed write
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_made_gives_the_write_error(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    s = FrameStore(tmp_path / "afile" / "store-a", NAMES, "the test cache")
    with pytest.raises(OSError, match=r"afile is a file where a folder is needed"):
        s.write(*contents())


def test_the_leftovers_of_ended_writers_are_removed_those_of_running_ones_kept(tmp_path, ended_pid, running_pid):
    names = {
        "dead": f"store-a.tmp{ended_pid}-{HOST}.abcd1234",
        "legacy": f"store-b.tmp{ended_pid}",  # no host: written before tags named it
        "alive": f"store-c.tmp{running_pid}-{HOST}.abcd1234",
        "elsewhere": f"store-d.tmp{ended_pid}-someothermachine.abcd1234",
        "not ours": f"notes.tmp{ended_pid}-{HOST}.abcd1234",  # outside the family store-*
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "frames.npy").write_bytes(b"partial")
    store(tmp_path).get(contents)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted([names["alive"], names["elsewhere"], names["not ours"], "store-a"])


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9 is POSIX")
def test_a_writer_killed_mid_write_leaves_a_folder_that_the_next_one_removes(tmp_path):
    script = f"""
import time, numpy as np
from reidlib._store import FrameStore, Stack
def pieces():
    time.sleep(120)
    yield np.zeros((1, 2), np.uint8)
arrays = dict(frames=Stack((1, 2), np.uint8, pieces()), flags=np.zeros(1, np.float32))
FrameStore({str(tmp_path / "store-a")!r}, {NAMES!r}, "the test cache", "store-*").write(arrays, {{}})
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 120
        while not list(tmp_path.glob("store-a.tmp*/frames.npy")) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    (left,) = tmp_path.glob("store-a.tmp*")
    assert left.name.startswith(f"store-a.tmp{proc.pid}-{HOST}.")
    stored = store(tmp_path).get(contents)
    assert not left.exists() and [p.name for p in tmp_path.iterdir()] == ["store-a"]
    assert stored.index == contents()[1]
