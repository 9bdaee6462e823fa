"""Extracting a dataset archive never writes outside its folder: crafted tars, on both code paths
(Python's "data" filter, and the entry-by-entry checks used where Python lacks it)."""

import io
import tarfile

import pytest

from reidlib.data import download as dl


@pytest.fixture(params=["data_filter", "fallback"])
def code_path(request, monkeypatch):
    """Run with Python's tarfile.data_filter (3.10.12+, 3.11.4+), and as on older Pythons without it."""
    if request.param == "fallback":
        monkeypatch.delattr(tarfile, "data_filter")
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile.data_filter")
    return request.param


def entry(name, kind=tarfile.REGTYPE, data=b"", link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data), 0o644
    return info, io.BytesIO(data) if data else None


def make_tar(path, entries):
    with tarfile.open(path, "w") as t:
        for name, kind, data, link in entries:
            t.addfile(*entry(name, kind, data, link))
    return path


SYM, HARD, DEV = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE
REG = tarfile.REGTYPE


def attacks(outside):
    """name -> (entries, what the error names): each tries to write into ``outside``."""
    return {
        "absolute symlink + file through it": (
            [("escape", SYM, b"", str(outside)), ("escape/pwned.txt", REG, b"pwned", "")],
            r"'escape', a symbolic link to .*outside",
        ),
        "relative symlink up + file through it": (
            [("escape", SYM, b"", "../outside"), ("escape/pwned.txt", REG, b"pwned", "")],
            r"'escape', a symbolic link to '\.\./outside'",
        ),
        # every link target looks inside on its own; only resolving the first link shows where the second leads
        "chained symlinks": (
            [
                ("a/b/up", SYM, b"", "../.."),
                ("hop", SYM, b"", "a/b/up/../outside"),
                ("hop/pwned.txt", REG, b"pwned", ""),
            ],
            r"'hop', a symbolic link to 'a/b/up/\.\./outside'",
        ),
        "dot-dot path": (
            [("../outside/pwned.txt", REG, b"pwned", "")],
            r"'[^']*pwned.txt', which would be written outside the target folder",
        ),
        "absolute path": (
            [(f"{outside}/pwned.txt", REG, b"pwned", "")],
            r"'[^']*pwned.txt', which would be written outside the target folder",
        ),
        "hard link out": (
            [("victim", HARD, b"", str(outside / "keep.txt"))],
            r"'victim', a hard link to .*keep\.txt'",
        ),
        "device": ([("dev/null", DEV, b"", "")], r"'dev/null', a device or special file"),
    }


@pytest.mark.parametrize(
    "attack",
    [
        "absolute symlink + file through it",
        "relative symlink up + file through it",
        "chained symlinks",
        "dot-dot path",
        "absolute path",
        "hard link out",
        "device",
    ],
)
def test_a_crafted_tar_writes_nothing_outside(tmp_path, code_path, attack):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched")
    entries, error = attacks(outside)[attack]
    archive = make_tar(tmp_path / "evil.tar", entries)
    dest = tmp_path / "data" / "dest"
    with pytest.raises(ValueError, match=rf"evil\.tar holds the entry {error}.*Refusing to extract"):
        dl.extract(archive, dest)
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "untouched"
    assert not list(tmp_path.rglob("pwned.txt"))


def test_an_honest_tar_with_links_inside_extracts_on_both_paths(tmp_path, code_path):
    archive = make_tar(
        tmp_path / "ok.tar",
        [
            ("ds/seq/0001.png", REG, b"frame one", ""),
            ("ds/latest", SYM, b"", "seq/0001.png"),
            ("ds/copy.png", HARD, b"", "ds/seq/0001.png"),
        ],
    )
    made = dl.extract(archive, tmp_path / "dest")
    assert [p.name for p in made] == ["ds"]
    ds = tmp_path / "dest" / "ds"
    assert (ds / "latest").is_symlink() and (ds / "latest").read_bytes() == b"frame one"
    assert (ds / "copy.png").read_bytes() == b"frame one"
    assert oct((ds / "seq" / "0001.png").stat().st_mode & 0o7777) == "0o644"
