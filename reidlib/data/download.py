"""Fetch and unpack the real datasets: where each one comes from and where it must end up (chapters 2 and 12).

None of the datasets may be redistributed, so the book never ships them. :func:`prepare`
puts a dataset where :func:`reidlib.data.load_dataset` looks for it: it does nothing if the
data is already there, extracts the archive if you downloaded it by hand, and otherwise
downloads it (iLIDS-VID and PRID-2011 have direct links; SDU-VID and MARS are given out by
their authors on request). Without a network it fails with a message that says where to get
the archive and where to put it.

Layout under the data root (``root=``, else ``$REIDLIB_DATA``, else ``~/reid-data``)::

    <root>/i-LIDS-VID/sequences/...     <root>/train-test people splits/...   (iLIDS-VID.tar)
    <root>/prid_2011/multi_shot/...                                            (prid_2011.zip)
    <root>/SDU-VID/sequences/...                                               (from the authors)
    <root>/MARS/bbox_train/...  <root>/MARS/bbox_test/...  <root>/MARS/info/...  (from the authors)

Extraction is bounded: an archive is refused before anything is written when it declares more
bytes than its dataset can hold (:attr:`Source.max_bytes`), expands more than
:data:`MAX_RATIO` times its own size (images barely compress, so a dataset archive is near
1:1), or needs more space than the disk has. It unpacks into a temporary folder made
exclusively beside the data, which is removed whatever goes wrong.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .._io import remove_stale, temp_file, temp_folder, write_error

PathLike = str | os.PathLike
GiB = 1 << 30
MAX_RATIO = 20  # extracted bytes / archive bytes: images barely compress; a zip bomb reaches 1000
MAX_ENTRIES = 5_000_000  # MARS, the largest, holds about 1.2 million frames


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from and how it unpacks.

    ``folder/marker`` is the path that proves the dataset is in place (relative to the
    data root); ``md5`` and ``size`` are checked when known (None: not checked); ``max_bytes``
    bounds what its archive may unpack to: a limit well above the real size, not the size."""

    title: str
    page: str  # the official page, for a person to read
    url: str | None  # the archive itself (None: no public link)
    archive: str  # the archive's file name
    folder: str  # the top folder the loader looks for
    marker: str  # a sub-folder that must exist inside it
    md5: str | None = None
    size: int | None = None
    note: str = ""
    max_bytes: int = 8 * GiB


SOURCES = {
    "ilidsvid": Source(
        "iLIDS-VID",
        "http://www.eecs.qmul.ac.uk/~xiatian/downloads_qmul_iLIDS-VID_ReID_dataset.html",
        "http://www.eecs.qmul.ac.uk/~xiatian/iLIDS-VID/iLIDS-VID.tar",
        "iLIDS-VID.tar",
        "i-LIDS-VID",
        "sequences",
        md5="7752bd15b611558701bb0e2380ed8950",  # as recorded by the open-reid loader; check=False skips
        note="The tar also holds 'train-test people splits/' (the official splits); both go to the data root.",
        max_bytes=4 * GiB,
    ),
    "prid2011": Source(
        "PRID-2011",
        "https://www.tugraz.at/institute/icg/research/team-bischof/lrs/downloads/prid11",
        "https://files.icg.tugraz.at/f/6ab7e8ce8f/?raw=1",
        "prid_2011.zip",
        "prid_2011",
        "multi_shot",
        note="Only multi_shot/ is used (cam_a, cam_b).",
        max_bytes=4 * GiB,
    ),
    "sduvid": Source(
        "SDU-VID",
        "SDU-VID was introduced by Liu et al. (ICCV 2015, 'A spatio-temporal appearance "
        "representation for video-based pedestrian re-identification'); ask its authors for a copy",
        None,
        "SDU-VID.zip",
        "SDU-VID",
        "sequences",
        note="No public link is known; arrange the copy you receive as SDU-VID/sequences/<camera>/<person>/<frames>.",
    ),
    "mars": Source(
        "MARS",
        "MARS (Zheng et al., ECCV 2016, 'MARS: A Video Benchmark for Large-Scale Person Re-Identification') is "
        "given out on request: follow the instructions of its page, "
        "https://zheng-lab-anu.github.io/Project/project_mars.html (formerly on zheng-lab.cecs.anu.edu.au)",
        None,
        "MARS.zip",
        "MARS",
        "info",
        note="You receive bbox_train.zip and bbox_test.zip; the info/ folder (train_name.txt, test_name.txt, "
        "tracks_train_info.mat, tracks_test_info.mat, query_IDX.mat) is in the MARS-evaluation repository "
        "(https://github.com/liangzheng06/MARS-evaluation, folder info/). Arrange them as "
        "MARS/bbox_train/<pid>/<frames>, MARS/bbox_test/<pid>/<frames> and MARS/info/<files> (or pack those "
        "three folders as MARS.zip).",
        max_bytes=32 * GiB,
    ),
}


class DownloadError(ConnectionError):
    """A dataset could not be downloaded; the message says how to get it by hand."""


def data_root(root: PathLike | None = None) -> Path:
    """``root`` if given, else ``$REIDLIB_DATA``, else ``~/reid-data``."""
    return Path(root or os.environ.get("REIDLIB_DATA") or Path.home() / "reid-data").expanduser()


def source(name: str) -> Source:
    """The :class:`Source` of ``"ilidsvid" | "prid2011" | "sduvid" | "mars"``."""
    key = name.lower().replace("-", "").replace("_", "")
    if key not in SOURCES:
        raise ValueError(
            f"No download source for {name!r}; known: {', '.join(SOURCES)}. The synthetic benchmark needs no download."
        )
    return SOURCES[key]


def is_ready(name: str, root: PathLike | None = None) -> bool:
    """True when ``<root>/<folder>/<marker>`` exists, i.e. the loader will find the dataset."""
    s = source(name)
    return (data_root(root) / s.folder / s.marker).is_dir()


def manual_instructions(name: str, root: PathLike | None = None) -> str:
    """Where to get a dataset by hand and where to put it."""
    s, base = source(name), data_root(root)
    get = f"download {s.url} (page: {s.page})" if s.url else s.page
    return (
        f"To install {s.title} by hand: {get}; save it as {base / s.archive} and run "
        f"reidlib.data.download.prepare({name!r}, root={str(base)!r}), or extract it yourself so that "
        f"{base / s.folder / s.marker} exists. {s.note}"
    ).strip()


def md5sum(path: PathLike, chunk: int = 1 << 20) -> str:
    """The MD5 hex digest of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify(name: str, archive: PathLike, check: bool = True) -> None:
    """Raise ValueError if ``archive``'s size or MD5 differs from the known ones (``check=False`` skips)."""
    s, archive = source(name), Path(archive)
    if not check:
        return
    if s.size is not None and archive.stat().st_size != s.size:
        raise ValueError(
            f"{archive} has {archive.stat().st_size} bytes; the {s.title} archive has {s.size}. "
            "The download is incomplete: delete the file and download it again."
        )
    if s.md5 is not None and (found := md5sum(archive)) != s.md5:
        raise ValueError(
            f"{archive} has MD5 {found}; the {s.title} archive has {s.md5}. Delete the file and "
            "download it again (or pass check=False if you trust this copy, e.g. a newer release)."
        )


def download(
    name: str,
    root: PathLike | None = None,
    url: str | None = None,
    check: bool = True,
    timeout: float = 60.0,
    progress: bool = True,
    opener: Callable = urllib.request.urlopen,
) -> Path:
    """Download a dataset's archive to ``<root>/<archive>`` and verify it; returns its path.

    The file is written as ``<archive>.tmp<pid>-<host>.<random>.part`` (made exclusively) and renamed
    when complete, so an interrupted download never looks finished. ``url`` overrides the official
    link (e.g. a mirror or a ``file://`` URL); ``opener`` is the function that opens URLs (``urllib.request.urlopen``).
    Raises :class:`DownloadError` with the manual instructions when the network fails.
    """
    s, base = source(name), data_root(root)
    url = url or s.url
    if url is None:
        raise DownloadError(f"{s.title} has no public download link. {manual_instructions(name, root)}")
    target = base / s.archive
    base.mkdir(parents=True, exist_ok=True)
    remove_stale(base.glob(f"{s.archive}.tmp*.part"))  # downloads cut off by a kill
    fd, part = temp_file(target, ".part")
    try:
        with opener(url, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
            total = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
            with tqdm(
                total=int(total) if total else None, unit="B", unit_scale=True, desc=s.archive, disable=not progress
            ) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as e:
        part.unlink(missing_ok=True)
        raise DownloadError(f"Could not download {s.title} from {url}: {e}. {manual_instructions(name, root)}") from e
    os.chmod(part, 0o644)
    os.replace(part, target)
    verify(name, target, check)
    return target


def _safe_members(names: list[str], archive: Path) -> None:
    for n in names:
        p = Path(n)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(
                f"{archive} holds the entry {n!r}, which would be written outside the target folder. "
                "Refusing to extract it; get the archive from the official page."
            )


def _tar_member(member: tarfile.TarInfo, dest: Path, archive: Path) -> tarfile.TarInfo:
    """``member``, checked against what is already extracted under ``dest``: no absolute path or ``..``,
    no path through a link that leads out, no link that points out, no device or pipe."""
    root = os.path.realpath(dest)
    inside = lambda p: os.path.commonpath([root, os.path.realpath(p)]) == root
    name, target = member.name, member.linkname
    problem = None
    if os.path.isabs(name) or ".." in Path(name).parts:
        problem = "which would be written outside the target folder"
    elif not inside(os.path.join(root, name)):
        problem = "whose path goes through a link out of the target folder"
    elif member.issym() and (os.path.isabs(target) or not inside(os.path.join(root, os.path.dirname(name), target))):
        problem = f"a symbolic link to {target!r}, outside the target folder"
    elif member.islnk() and (os.path.isabs(target) or not inside(os.path.join(root, target))):
        problem = f"a hard link to {target!r}, outside the target folder"
    elif not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        problem = "a device or special file, which a dataset never holds"
    if problem:
        raise ValueError(
            f"{archive} holds the entry {name!r}, {problem}. Refusing to extract it (nothing was written "
            f"outside {dest}); get the archive from the official page."
        )
    return member


def _plain(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """A copy of ``member`` that extracts as an ordinary file of this user: no set-id bits, no foreign owner."""
    member = copy.copy(member)
    member.mode = 0o755 if member.isdir() or member.mode & 0o100 else 0o644
    member.uname = member.gname = ""
    if hasattr(os, "getuid"):
        member.uid, member.gid = os.getuid(), os.getgid()
    return member


def declared_size(archive: PathLike) -> tuple[int, int]:
    """(bytes the entries of a zip or tar declare once extracted, number of entries), read from the
    archive's index (a tar is read through) without extracting anything. Zip entries cannot yield more
    than they declare (Python's reader stops there and checks their CRC); tar entries are stored as is."""
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            return sum(i.file_size for i in infos), len(infos)
    if tarfile.is_tarfile(archive):
        total = count = 0
        with tarfile.open(archive) as t:
            for m in t:
                total, count = total + (m.size if m.isfile() else 0), count + 1
                if count > MAX_ENTRIES:
                    break
        return total, count
    raise ValueError(
        f"{archive} is neither a zip nor a tar archive (it may be an HTML error page saved by a "
        "browser, or a partial download). Download it again."
    )


def check_size(archive: PathLike, dest: PathLike, max_bytes: int, max_ratio: float = MAX_RATIO) -> int:
    """Refuse ``archive`` before extraction when it declares more than ``max_bytes``, more than
    ``max_ratio`` x its own size, more than :data:`MAX_ENTRIES` entries, or more than the free space at
    ``dest`` -> the declared bytes."""
    archive = Path(archive)
    try:
        total, count = declared_size(archive)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise ValueError(
            f"{archive} is damaged: its index could not be read ({type(e).__name__}: {str(e)[:150]}). "
            "Download it again."
        ) from None
    size = archive.stat().st_size
    gb = lambda n: f"{n / GiB:.2f} GiB" if n >= GiB / 10 else f"{n / 2**20:.1f} MiB"
    problem = None
    if count > MAX_ENTRIES:
        problem = f"more than {MAX_ENTRIES:,} entries, more than any re-ID dataset holds"
    elif total > max_bytes:
        problem = f"entries of {gb(total)} in all, more than this dataset can hold (at most {gb(max_bytes)})"
    elif total > max_ratio * max(size, 1):
        problem = (
            f"entries of {gb(total)} from {gb(size)} of archive, {total / max(size, 1):.0f} times its size; "
            f"images barely compress (a dataset archive expands at most {max_ratio}x)"
        )
    if problem:
        raise ValueError(
            f"{archive} declares {problem}. Refusing to extract it (nothing was written); it is not the "
            "dataset's archive, or is damaged: get the archive from the official page."
        )
    probe = Path(dest)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if total > free:
        raise OSError(
            28,  # ENOSPC
            f"{archive} unpacks to {gb(total)} but {probe} has {gb(free)} free; nothing was extracted. Free "
            f"{gb(total - free)} or more (or choose another data root), and run again.",
        )
    return total


def extract(archive: PathLike, dest: PathLike, max_bytes: int = 64 * GiB, max_ratio: float = MAX_RATIO) -> list[Path]:
    """Unpack a .zip or .tar(.gz/.bz2/.xz) archive into ``dest``; returns the top-level entries made.

    The archive's size is checked first (:func:`check_size`: ``max_bytes``, ``max_ratio``, the free
    space). Entries that would land outside ``dest`` are refused: absolute paths, ``..``, and in a tar
    links that lead out (each entry is checked against what is already on disk), and devices;
    on every Python version (Python's own "data" filter is applied on top where it exists). A failed
    write (a full disk, say) names ``dest`` and what to do; cleaning up is the caller's (``prepare``
    extracts into a temporary folder that it removes)."""
    archive, dest = Path(archive), Path(dest)
    check_size(archive, dest, max_bytes, max_ratio)
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.iterdir())
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                _safe_members(z.namelist(), archive)
                z.extractall(dest)
        else:
            with tarfile.open(archive) as t:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
                    t.extractall(dest, filter=lambda m, path: tarfile.data_filter(_tar_member(m, dest, archive), path))
                else:  # one entry at a time, so that each check sees the links extracted before it
                    for m in t:
                        t.extract(_plain(_tar_member(m, dest, archive)), dest)
    except OSError as e:
        raise write_error(dest, e, f"the contents of {archive.name} into the folder") from e
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise ValueError(
            f"{archive} is damaged: it could not be read to the end ({type(e).__name__}: {str(e)[:150]}). "
            "Download it again."
        ) from None
    return sorted(set(dest.iterdir()) - before)


def prepare(
    name: str,
    root: PathLike | None = None,
    url: str | None = None,
    check: bool = True,
    download_ok: bool = True,
    keep_archive: bool = True,
    progress: bool = True,
    opener: Callable = urllib.request.urlopen,
) -> Path:
    """Make sure ``<root>/<folder>/<marker>`` exists; returns ``<root>/<folder>``.

    In order: if the dataset is in place, nothing happens; if the archive is in the data
    root (downloaded by hand), it is verified and extracted; otherwise it is downloaded
    (``download_ok=False`` raises FileNotFoundError with the manual instructions instead).
    Archives that unpack without their top folder (e.g. ``multi_shot/`` at the top of
    ``prid_2011.zip``) are put into it.
    """
    s, base = source(name), data_root(root)
    if is_ready(name, root):
        return base / s.folder
    archive = base / s.archive
    if not archive.is_file():
        if not download_ok:
            raise FileNotFoundError(
                f"{s.title} is not in {base}: expected {base / s.folder / s.marker} or the "
                f"archive {archive}; found neither. {manual_instructions(name, root)}"
            )
        archive = download(name, root, url=url, check=check, progress=progress, opener=opener)
    else:
        verify(name, archive, check)
    stem = base / f".extract-{s.folder}"
    remove_stale(base.glob(f"{stem.name}.tmp*"))  # extractions cut off by a kill
    base.mkdir(parents=True, exist_ok=True)
    tmp = temp_folder(stem)
    try:
        extract(archive, tmp, max_bytes=s.max_bytes)
        if (tmp / s.folder / s.marker).is_dir():  # the usual case: the archive holds <folder>/ (and maybe more)
            entries = list(tmp.iterdir())
        elif (tmp / s.marker).is_dir():  # the archive holds <marker>/ at its top
            (tmp / s.folder).mkdir()
            for entry in list(tmp.iterdir()):
                if entry.name != s.folder:
                    entry.rename(tmp / s.folder / entry.name)
            entries = [tmp / s.folder]
        else:
            found = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_dir())[:8]
            raise ValueError(
                f"{archive} does not hold the {s.title} layout: expected {s.folder}/{s.marker}/ "
                f"(or {s.marker}/) inside; found folders {found}. Check that it is the right archive."
            )
        clash = [e.name for e in entries if (base / e.name).exists() or (base / e.name).is_symlink()]
        if clash:
            raise FileExistsError(
                f"Extracting {archive} would overwrite {[str(base / c) for c in clash]}, which exist "
                f"but do not hold {s.folder}/{s.marker}/. Move or delete them, then run prepare again."
            )
        for e in entries:
            e.rename(base / e.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # whatever happened, no partial extraction is left
    if not keep_archive:
        archive.unlink()
    return base / s.folder
