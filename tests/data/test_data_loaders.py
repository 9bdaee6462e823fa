"""reidlib.data on disk: the real layouts (on small fabricated archives), bad input, export, download.

Nothing here touches the network: downloads read file:// URLs of archives the tests build,
or go through an opener that fails like a machine without network.
"""

import dataclasses
import json
import tarfile
import urllib.error
import warnings
import zipfile

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from reidlib.data import (
    SkippedDataWarning,
    SyntheticReID,
    export_ilidsvid,
    frame_number,
    load_dataset,
    load_frames,
    make_splits,
    save_splits,
)
from reidlib.data import download as dl


def _write_frames(folder, frames, names):
    folder.mkdir(parents=True, exist_ok=True)
    for f, n in zip(frames, names, strict=True):
        assert cv2.imwrite(str(folder / n), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))


def _random_frames(rng, n):
    return rng.integers(0, 256, (n, 8, 4, 3), dtype=np.uint8)


def _fake_ilidsvid(root, persons=(1, 3, 10, 42), seed=0):
    """iLIDS-VID layout with random PNGs whose frame numbers are gappy and written in shuffled order.
    Returns {(pid, camid): frames in temporal order}."""
    rng, truth = np.random.default_rng(seed), {}
    for cam in (1, 2):
        for p in persons:
            n = 3 + (p + cam) % 4
            numbers = np.sort(rng.choice(np.arange(90, 1200), n, replace=False))  # crosses 99 -> 100 -> 1000
            frames = _random_frames(rng, n)
            order = rng.permutation(n)  # written in shuffled order
            _write_frames(
                root / "i-LIDS-VID" / "sequences" / f"cam{cam}" / f"person{p:03d}",
                frames[order],
                [f"cam{cam}_person{p:03d}_{numbers[i]:05d}.png" for i in order],
            )
            truth[(p, cam - 1)] = frames
    return truth


# ----------------------------------------------------------------------------- the three layouts


def test_ilidsvid_reads_frames_in_number_order_and_official_splits(tmp_path):
    truth = _fake_ilidsvid(tmp_path)
    with pytest.warns(UserWarning, match="official splits file was not found"):
        ds = load_dataset("ilidsvid", root=tmp_path)
    assert ds.pids == [1, 3, 10, 42] and len(ds) == 8 and "random" in ds.meta["protocol"]
    for t in ds.tracklets:
        numbers = [int(p.stem.split("_")[-1]) for p in t.frames]
        assert numbers == sorted(numbers)
        np.testing.assert_array_equal(load_frames(t), truth[(t.pid, t.camid)])
    ls_set = np.array([[2, 4, 1, 3], [1, 3, 2, 4]])  # one-based into the sorted persons; first half = test
    (tmp_path / "train-test people splits").mkdir()
    savemat(tmp_path / "train-test people splits" / "train_test_splits_ilidsvid.mat", {"ls_set": ls_set})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_dataset("ilidsvid", root=tmp_path)
    assert ds.splits == [{"train": [1, 10], "test": [3, 42]}, {"train": [3, 42], "test": [1, 10]}]
    train, query, gallery = ds.split(0)
    assert {t.pid for t in train} == {1, 10} and [(t.pid, t.camid) for t in query] == [(3, 0), (42, 0)]
    assert [(t.pid, t.camid) for t in gallery] == [(3, 1), (42, 1)]


def test_random_splits_are_saved_next_to_the_data_and_read_back(tmp_path):
    _fake_ilidsvid(tmp_path, persons=range(1, 11))
    with pytest.warns(UserWarning, match="official splits"):
        first = load_dataset("ilidsvid", root=tmp_path, seed=3)
    saved = tmp_path / "i-LIDS-VID" / "splits_ilidsvid_10persons_10x_seed3.json"
    assert saved.is_file() and str(saved) in first.meta["protocol"]
    assert first.splits == make_splits(range(1, 11), num_splits=10, seed=3)
    for s in first.splits:  # disjoint halves covering everyone
        assert len(s["train"]) == len(s["test"]) == 5 and sorted(s["train"] + s["test"]) == list(range(1, 11))
    edited = [{"train": [1, 2, 3, 4, 5], "test": [6, 7, 8, 9, 10]}] * 10
    saved.write_text(json.dumps(edited))  # the file, not the seed, decides from now on
    with pytest.warns(UserWarning, match="official splits"):
        again = load_dataset("ilidsvid", root=tmp_path, seed=3)
    assert again.splits == edited and "read from" in again.meta["protocol"]


def test_prid2011_keeps_persons_in_both_cameras_with_enough_frames(tmp_path):
    rng = np.random.default_rng(1)
    lengths = {"cam_a": {1: 25, 2: 30, 3: 10, 4: 22, 5: 40}, "cam_b": {1: 21, 2: 50, 3: 30, 4: 22, 6: 40, 7: 5}}
    for cam, persons in lengths.items():
        for p, n in persons.items():
            _write_frames(
                tmp_path / "prid_2011" / "multi_shot" / cam / f"person_{p:04d}",
                _random_frames(rng, n),
                [f"{i:04d}.png" for i in range(1, n + 1)],
            )
    with pytest.warns(
        SkippedDataWarning,
        match="kept 3 persons; left out 3 persons seen by one camera only and 1 with fewer than 21 frames",
    ):
        ds = load_dataset("prid2011", root=tmp_path, num_splits=3)
    assert ds.pids == [1, 2, 4] and ds.num_splits == 3
    assert ds.meta["left_out_short"] == [3] and ds.meta["left_out_one_camera"] == 3
    assert [len(t) for t in ds.tracklets] == [25, 21, 30, 50, 22, 22]
    with pytest.warns(SkippedDataWarning, match="kept 4 persons.* 0 with fewer than 10"):
        assert load_dataset("prid2011", root=tmp_path, min_frames=10, num_splits=3).pids == [1, 2, 3, 4]


def test_sduvid_and_folder_layouts(tmp_path):
    rng = np.random.default_rng(2)
    for cam, persons in (("camA", (7, 8, 9)), ("camB", (7, 8, 9, 11))):
        for p in persons:
            _write_frames(
                tmp_path / "SDU-VID" / "sequences" / cam / f"{p:03d}",
                _random_frames(rng, 3),
                ["1.jpg", "2.jpg", "3.jpg"],
            )
    with pytest.warns(SkippedDataWarning, match="left out 1 persons seen by one camera only \\(\\[11\\]\\)"):
        ds = load_dataset("sdu-vid", root=tmp_path)
    assert ds.pids == [7, 8, 9] and ds.meta["cameras"] == ["camA", "camB"]
    with pytest.warns(UserWarning, match="1 persons appear in one camera only \\(\\[11\\]\\); they are kept"):
        own = load_dataset("folder", root=tmp_path / "SDU-VID" / "sequences", num_splits=2, seed=5)
    assert [(t.pid, t.camid) for t in own.tracklets] == [(p, c) for p in (7, 8, 9) for c in (0, 1)] + [(11, 1)]
    assert own.splits == make_splits([7, 8, 9, 11], num_splits=2, seed=5)


# ----------------------------------------------------------------------------- bad input


def test_missing_root_and_wrong_layout_say_what_was_expected(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match="(?s)expected the folder .*nowhere/i-LIDS-VID/sequences.*"
        "Found in .*: nothing \\(no such folder\\).*iLIDS-VID.tar",
    ):
        load_dataset("ilidsvid", root=tmp_path / "nowhere")
    (tmp_path / "prid_2011" / "single_shot").mkdir(parents=True)
    with pytest.raises(
        FileNotFoundError, match="(?s)expected the folder .*prid_2011/multi_shot.*Found in .*: prid_2011.*prid_2011.zip"
    ):
        load_dataset("prid2011", root=tmp_path)
    (tmp_path / "prid_2011" / "multi_shot" / "cam_a").mkdir(parents=True)
    with pytest.raises(
        FileNotFoundError,
        match="expected the camera folders \\['cam_a', 'cam_b'\\].*\\['cam_b'\\] missing, found \\['cam_a'\\]",
    ):
        load_dataset("prid2011", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="No folder at .*missing.*<camera>/<person>/<frames>"):
        load_dataset("folder", root=tmp_path / "missing")
    with pytest.raises(ValueError, match="generated, not read"):
        load_dataset("synthetic", root=tmp_path)


def test_empty_person_folder_and_duplicate_ids_are_named(tmp_path):
    _fake_ilidsvid(tmp_path)
    empty = tmp_path / "i-LIDS-VID" / "sequences" / "cam2" / "person003"
    for f in empty.iterdir():
        f.unlink()
    (empty / "Thumbs.db").write_text("")
    with pytest.raises(
        ValueError, match="person folder .*cam2/person003 is empty: expected image files.*found Thumbs.db. Re-extract"
    ):
        load_dataset("ilidsvid", root=tmp_path)
    for f in empty.iterdir():
        f.unlink()
    empty.rmdir()
    with pytest.raises(
        ValueError,
        match="cam1 and cam2 must hold the same persons; found 1 only in cam1 \\(\\[3\\]\\) "
        "and 0 only in cam2.*Re-extract",
    ):
        load_dataset("ilidsvid", root=tmp_path)
    _write_frames(
        tmp_path / "i-LIDS-VID" / "sequences" / "cam2" / "person_3",
        _random_frames(np.random.default_rng(0), 2),
        ["1.png", "2.png"],
    )
    _write_frames(
        tmp_path / "i-LIDS-VID" / "sequences" / "cam2" / "person003",
        _random_frames(np.random.default_rng(0), 2),
        ["1.png", "2.png"],
    )
    with pytest.raises(ValueError, match="Two person folders in .*cam2 have the id 3: person003 and person_3"):
        load_dataset("ilidsvid", root=tmp_path)


def test_corrupt_frame_is_named_when_read(tmp_path):
    _fake_ilidsvid(tmp_path)
    t_folder = tmp_path / "i-LIDS-VID" / "sequences" / "cam1" / "person010"
    victim = sorted(t_folder.iterdir())[1]
    victim.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.warns(UserWarning, match="official splits"):
        ds = load_dataset("ilidsvid", root=tmp_path)
    t = next(t for t in ds.tracklets if t.pid == 10 and t.camid == 0)
    with pytest.raises(OSError, match=f"Could not read the frame .*{victim.name}: the file is unreadable.*Re-extract"):
        load_frames(t)
    assert load_frames(t, [0]).shape == (1, 8, 4, 3)  # the other frames still read


def test_mismatched_camera_folders(tmp_path):
    rng = np.random.default_rng(3)
    for cam in ("c1", "c2", "c3"):
        _write_frames(tmp_path / "SDU-VID" / "sequences" / cam / "001", _random_frames(rng, 2), ["1.png", "2.png"])
    with pytest.raises(ValueError, match="expected 2 camera folders in .*sequences; found 3: \\['c1', 'c2', 'c3'\\]"):
        load_dataset("sduvid", root=tmp_path)
    _write_frames(tmp_path / "one" / "cam" / "001", _random_frames(rng, 2), ["1.png", "2.png"])
    with pytest.raises(ValueError, match="at least 2 camera folders.*found \\['cam'\\]"):
        load_dataset("folder", root=tmp_path / "one")
    _fake_ilidsvid(tmp_path / "il")
    (tmp_path / "il" / "i-LIDS-VID" / "sequences" / "cam2").rename(
        tmp_path / "il" / "i-LIDS-VID" / "sequences" / "camB"
    )
    with pytest.raises(FileNotFoundError, match="\\['cam2'\\] missing, found \\['cam1', 'camB'\\]"):
        load_dataset("ilidsvid", root=tmp_path / "il")


def test_split_files_naming_unknown_or_leaving_out_persons(tmp_path):
    _fake_ilidsvid(tmp_path)
    wrong = save_splits([{"train": [1, 3], "test": [10, 99]}], tmp_path / "wrong.json")
    with pytest.raises(
        ValueError,
        match="names 1 persons that are not in the ilidsvid data \\(4 persons, ids "
        "1..42\\): \\[99\\].*pass the split file made for this data",
    ):
        load_dataset("ilidsvid", root=tmp_path, splits_file=wrong)
    partial = save_splits([{"train": [1], "test": [10]}], tmp_path / "partial.json")
    with pytest.warns(SkippedDataWarning, match="leaves out 2 of the 4 persons of ilidsvid \\(\\[3, 42\\]\\)"):
        ds = load_dataset("ilidsvid", root=tmp_path, splits_file=partial)
    assert ds.splits == [{"train": [1], "test": [10]}]
    (tmp_path / "train-test people splits").mkdir()
    savemat(
        tmp_path / "train-test people splits" / "train_test_splits_ilidsvid.mat", {"ls_set": np.array([[1, 2, 3, 5]])}
    )
    with pytest.raises(
        ValueError, match="Row 0 of ls_set .* not a permutation of the person indices 1..4 \\(unknown indices \\[5\\]"
    ):
        load_dataset("ilidsvid", root=tmp_path)
    savemat(tmp_path / "train-test people splits" / "train_test_splits_ilidsvid.mat", {"ls_set": np.array([[1, 2, 3]])})
    with pytest.raises(ValueError, match="ls_set of shape \\(1, 3\\); expected \\(splits, 4\\)"):
        load_dataset("ilidsvid", root=tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "no ls_set"])
def test_a_corrupt_official_splits_file_is_named_with_what_to_do(tmp_path, damage):
    _fake_ilidsvid(tmp_path)
    (tmp_path / "train-test people splits").mkdir()
    mat = tmp_path / "train-test people splits" / "train_test_splits_ilidsvid.mat"
    savemat(mat, {"ls_set": np.array([[2, 4, 1, 3]])} if damage != "no ls_set" else {"other": np.zeros(3)})
    good = mat.read_bytes()
    mat.write_bytes(
        {"truncated": good[: len(good) // 2], "garbage": b"not a mat file" * 20, "empty": b""}.get(damage, good)
    )
    found = "holds \\['other'\\] but no 'ls_set'" if damage == "no ls_set" else "it is damaged or not a MATLAB file"
    with pytest.raises(ValueError, match=rf"{mat.name}.*{found}.*Re-extract the archive, or pass splits_file="):
        load_dataset("ilidsvid", root=tmp_path)


def test_two_frames_with_one_number_are_an_error_that_names_both(tmp_path):
    _fake_ilidsvid(tmp_path)
    folder = tmp_path / "i-LIDS-VID" / "sequences" / "cam1" / "person010"
    original = sorted(folder.iterdir())[0]  # cam1_person010_00000.png ... in _fake_ilidsvid
    number = frame_number(original)
    copy = folder / f"cam1_person010_{number}.png"  # the same frame number without the zero padding
    copy.write_bytes(original.read_bytes())
    names = sorted([original.name, copy.name])
    with pytest.raises(
        ValueError, match=rf"Two frames in .*person010 have the number {number}: {names[0]} and {names[1]}"
    ):
        load_dataset("ilidsvid", root=tmp_path)


# ----------------------------------------------------------------------------- export to the iLIDS-VID layout


def test_synthetic_export_reads_back_identical(tmp_path):
    gen = SyntheticReID(6, seq_len=(4, 9), occlusion=0.5, seed=7)
    top = gen.export_ilidsvid(tmp_path, num_splits=3)
    assert (top / "sequences" / "cam2" / "person005" / "cam2_person005_00000.png").is_file()
    back = load_dataset("ilidsvid", root=tmp_path)  # the splits file is there: no warning
    made = gen.dataset(num_splits=3)
    assert [(t.pid, t.camid) for t in back.tracklets] == [(t.pid, t.camid) for t in made.tracklets]
    for a, b in zip(made.tracklets, back.tracklets, strict=True):
        np.testing.assert_array_equal(load_frames(b), a.frames)  # PNG is lossless: every byte
    assert back.splits == made.splits and "official" in back.meta["protocol"]
    with pytest.raises(FileExistsError, match="exists already.*Choose an empty root"):
        gen.export_ilidsvid(tmp_path)


def test_export_checks_its_input(tmp_path):
    ds = load_dataset("synthetic", preset="tiny")
    three = [t for t in ds.tracklets] + [type(ds.tracklets[0])(0, 2, ds.tracklets[0].frames)]
    with pytest.raises(ValueError, match="two cameras.*found camids \\[0, 1, 2\\]"):
        export_ilidsvid(three, tmp_path / "a")
    with pytest.raises(ValueError, match="one tracklet per \\(person, camera\\)"):
        export_ilidsvid(ds.tracklets + ds.tracklets[:1], tmp_path / "b")
    odd = SyntheticReID(5, seq_len=(2, 3), seed=0).dataset(num_splits=2)  # 5 persons: 2 train / 3 test
    with pytest.warns(SkippedDataWarning, match="do not have the official form \\(2 test persons per split\\)"):
        export_ilidsvid(odd, tmp_path / "c")
    with pytest.warns(UserWarning, match="official splits file was not found"):
        assert load_dataset("ilidsvid", root=tmp_path / "c").pids == [0, 1, 2, 3, 4]


# ----------------------------------------------------------------------------- download and extraction


def _ilids_tar(tmp_path):
    """A small tar in the official iLIDS-VID layout (frames plus the splits folder)."""
    src = tmp_path / "src"
    _fake_ilidsvid(src, persons=(1, 2))
    (src / "train-test people splits").mkdir()
    savemat(src / "train-test people splits" / "train_test_splits_ilidsvid.mat", {"ls_set": np.array([[2, 1]])})
    archive = tmp_path / "served" / "iLIDS-VID.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w") as t:
        t.add(src / "i-LIDS-VID", "i-LIDS-VID")
        t.add(src / "train-test people splits", "train-test people splits")
    return archive


@pytest.fixture
def known_md5(monkeypatch):
    """Pretend the official checksums are those of the archives the test builds."""

    def set_md5(name, archive):
        monkeypatch.setitem(
            dl.SOURCES, name, dataclasses.replace(dl.SOURCES[name], md5=dl.md5sum(archive), size=archive.stat().st_size)
        )

    return set_md5


def test_prepare_downloads_verifies_and_extracts(tmp_path, known_md5):
    archive = _ilids_tar(tmp_path)
    known_md5("ilidsvid", archive)
    root = tmp_path / "data"
    assert not dl.is_ready("ilidsvid", root)
    top = dl.prepare("ilidsvid", root, url=archive.as_uri(), progress=False)
    assert top == root / "i-LIDS-VID" and dl.is_ready("ilidsvid", root) and (root / "iLIDS-VID.tar").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the official splits came along
        ds = load_dataset("ilidsvid", root=root)
    assert ds.pids == [1, 2] and ds.splits == [{"train": [1], "test": [2]}]

    def no_network(url, timeout):
        raise AssertionError("prepare must not download what is already there")

    assert dl.prepare("ilidsvid", root, opener=no_network) == top


def test_prepare_uses_an_archive_put_there_by_hand_and_fixes_a_missing_top_folder(tmp_path):
    rng = np.random.default_rng(4)
    by_hand = tmp_path / "data" / "prid_2011.zip"
    by_hand.parent.mkdir()
    with zipfile.ZipFile(by_hand, "w") as z:  # multi_shot/ at the top of the zip
        for cam in ("cam_a", "cam_b"):
            for p in (1, 2):
                for i in range(1, 23):
                    ok, png = cv2.imencode(".png", _random_frames(rng, 1)[0])
                    z.writestr(f"multi_shot/{cam}/person_{p:04d}/{i:04d}.png", png.tobytes())

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    dl.prepare("prid2011", tmp_path / "data", opener=offline, check=False)
    ds = load_dataset("prid2011", root=tmp_path / "data", num_splits=2)
    assert ds.pids == [1, 2] and len(ds.tracklets[0]) == 22


def test_offline_download_says_where_to_get_the_archive_and_where_to_put_it(tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    root = tmp_path / "data"
    with pytest.raises(
        dl.DownloadError,
        match="(?s)Could not download iLIDS-VID from http://www.eecs.qmul.ac.uk/"
        ".*name resolution.*save it as .*data/iLIDS-VID.tar",
    ):
        dl.prepare("ilidsvid", root, opener=offline)
    assert not (root / "iLIDS-VID.tar").exists() and not (root / "iLIDS-VID.tar.part").exists()
    with pytest.raises(
        dl.DownloadError, match="SDU-VID has no public download link.*ask its authors.*SDU-VID/sequences"
    ):
        dl.prepare("sduvid", root, opener=offline)
    with pytest.raises(FileNotFoundError, match="expected .*prid_2011/multi_shot or the archive .*prid_2011.zip"):
        dl.prepare("prid2011", root, download_ok=False)


def test_bad_archives_are_refused(tmp_path, known_md5):
    archive = _ilids_tar(tmp_path)
    known_md5("ilidsvid", archive)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    archive.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="has MD5 .*; the iLIDS-VID archive has .*download it again"):
        dl.prepare("ilidsvid", tmp_path / "d1", url=archive.as_uri(), progress=False)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.txt", "x")
    with pytest.raises(ValueError, match="'../outside.txt', which would be written outside"):
        dl.extract(evil, tmp_path / "d2")
    page = tmp_path / "page.zip"
    page.write_text("<html>Please log in</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar.*HTML error page"):
        dl.extract(page, tmp_path / "d3")
    other = tmp_path / "d4" / "SDU-VID.zip"
    other.parent.mkdir()
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("something/else.txt", "x")
    with pytest.raises(ValueError, match="does not hold the SDU-VID layout: expected SDU-VID/sequences/.*something"):
        dl.prepare("sduvid", tmp_path / "d4", check=False)
