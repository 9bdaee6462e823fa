"""Official protocols on small fabricated archives: MARS's query/gallery, PRID-2011's splits file, and
the dataset's official query list."""

import shutil
import warnings

import cv2
import numpy as np
import pytest
from scipy.io import loadmat, savemat

from reidlib.data import SkippedDataWarning, Tracklet, VideoReIDDataset, load_dataset, load_frames

# (set, pid, camera, tracklet number, frames); the test rows marked * are the queries
MARS_TRACKS = [
    ("train", 1, 1, 1, 3),
    ("train", 1, 2, 1, 2),
    ("train", 2, 1, 1, 2),
    ("train", 2, 3, 2, 4),
    ("test", 3, 1, 1, 3),  # * row 1
    ("test", 3, 1, 2, 2),  # same person, same camera as its query: in the gallery
    ("test", 3, 2, 1, 2),
    ("test", 0, 1, 1, 2),  # distractor
    ("test", -1, 3, 1, 2),  # junk
    ("test", 4, 2, 1, 2),  # * row 6
    ("test", 4, 5, 1, 3),
    ("test", 4, 6, 1, 1),
]
MARS_QUERY = [1, 6]  # 1-based rows of track_test_info


def _colour(pid, cam, frame):
    """A flat colour that identifies a frame (JPEG keeps flat colours within a few levels)."""
    return np.array([40 * frame, 30 * cam, 50 + 40 * pid], np.uint8)


def _mars_name(pid, cam, tracklet, frame):
    return f"{'00-1' if pid == -1 else f'{pid:04d}'}C{cam}T{tracklet:04d}F{frame:03d}.jpg"


def fake_mars(root):
    """The official MARS layout for MARS_TRACKS, in root/MARS; returns that folder."""
    top = root / "MARS"
    (top / "info").mkdir(parents=True)
    for s in ("train", "test"):
        names, rows = [], []
        for _, pid, cam, tracklet, n in (t for t in MARS_TRACKS if t[0] == s):
            rows.append([len(names) + 1, len(names) + n, pid, cam])
            for f in range(1, n + 1):
                name = _mars_name(pid, cam, tracklet, f)
                folder = top / f"bbox_{s}" / name[:4]
                folder.mkdir(parents=True, exist_ok=True)
                assert cv2.imwrite(str(folder / name), np.full((8, 4, 3), _colour(pid, cam, f)[::-1]))
                names.append(name)
        (top / "info" / f"{s}_name.txt").write_text("\n".join(names) + "\n")
        savemat(top / "info" / f"tracks_{s}_info.mat", {f"track_{s}_info": np.array(rows, float)})
    savemat(top / "info" / "query_IDX.mat", {"query_IDX": np.array([MARS_QUERY], float)})
    return top


def test_mars_official_query_and_gallery(tmp_path):
    fake_mars(tmp_path)
    with pytest.warns(SkippedDataWarning, match=r"dropped 1 junk tracklets .*; 1 distractor tracklets \(person id 0\)"):
        ds = load_dataset("MARS", root=tmp_path)
    assert ds.name == "mars" and ds.num_splits == 1 and len(ds) == len(MARS_TRACKS) - 1
    assert ds.camids == [0, 1, 2, 4, 5] and ds.pids == [0, 1, 2, 3, 4]
    assert ds.meta["junk_dropped"] == 1 and ds.meta["splits"] == "official (info/query_IDX.mat)"
    train, query, gallery = ds.split(0)
    assert [(t.pid, t.camid, len(t)) for t in train] == [(1, 0, 3), (1, 1, 2), (2, 0, 2), (2, 2, 4)]
    assert [(t.pid, t.camid, len(t)) for t in query] == [(3, 0, 3), (4, 1, 2)]
    assert [(t.pid, t.camid, len(t)) for t in gallery] == [(3, 0, 2), (3, 1, 2), (0, 0, 2), (4, 4, 3), (4, 5, 1)]
    for t in train + query + gallery:  # frames in the order of the names file
        want = np.stack([np.full((8, 4, 3), _colour(t.pid, t.camid + 1, f)) for f in range(1, len(t) + 1)])
        np.testing.assert_allclose(load_frames(t).astype(int), want.astype(int), atol=3)
    with pytest.raises(IndexError, match=r"splits 0 \.\. 0; found split 1"):
        ds.split(1)
    assert "official query/gallery" in repr(ds)


def test_mars_missing_parts_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)MARS/info.*given out on request.*MARS-evaluation"):
        load_dataset("mars", root=tmp_path)
    top = fake_mars(tmp_path)
    shutil.rmtree(top / "bbox_test")
    (top / "info" / "query_IDX.mat").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing \['bbox_test/', 'info/query_IDX.mat'\]"):
        load_dataset("mars", root=tmp_path)


def test_mars_frame_missing_on_disk(tmp_path):
    top = fake_mars(tmp_path)
    (top / "bbox_test" / "0004" / _mars_name(4, 5, 1, 2)).unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of the 17 frames listed in test_name.txt .*0004/0004C5T0001F002"):
        load_dataset("mars", root=tmp_path)


def _edit_mat(path, key, edit):
    m = loadmat(str(path))[key]
    edit(m)
    savemat(path, {key: m})


def test_mars_names_that_disagree_with_the_info_rows(tmp_path):
    top = fake_mars(tmp_path)
    info = top / "info" / "tracks_test_info.mat"
    _edit_mat(info, "track_test_info", lambda m: m.__setitem__((1, 2), 4))  # row 2 says person 4
    with pytest.raises(ValueError, match=r"test tracklet 2 .*person 4, camera 1.* holds the frame 0003C1T0002F001"):
        load_dataset("mars", root=tmp_path)
    _edit_mat(info, "track_test_info", lambda m: m.__setitem__((1, 2), 3))
    _edit_mat(info, "track_test_info", lambda m: m.__setitem__((2, 3), 3))  # row 3 says camera 3
    with pytest.raises(ValueError, match=r"person 3, camera 3.* of person 3, camera 2 \(2 such frames\)"):
        load_dataset("mars", root=tmp_path)
    _edit_mat(info, "track_test_info", lambda m: m.__setitem__((2, 3), 2))
    _edit_mat(info, "track_test_info", lambda m: m.__setitem__((-1, 1), 99))  # past the names file
    with pytest.raises(ValueError, match=r"row 8 spans name rows 17\.\.99, but test_name.txt has 17 names"):
        load_dataset("mars", root=tmp_path)


def test_mars_bad_names_and_queries(tmp_path):
    top = fake_mars(tmp_path)
    names = top / "info" / "train_name.txt"
    good = names.read_text()
    names.write_text(good.replace("0001C1T0001F002.jpg", "0001_c1_f2.jpg"))
    with pytest.raises(ValueError, match=r"1 names are not MARS frame names .*\['0001_c1_f2.jpg'\]"):
        load_dataset("mars", root=tmp_path)
    names.write_text(good)
    savemat(top / "info" / "query_IDX.mat", {"query_IDX": np.array([[1, 9]])})
    with pytest.raises(ValueError, match=r"distinct test tracklets 1\.\.8 .*1 out of range \(e\.g\. \[9\]\)"):
        load_dataset("mars", root=tmp_path)
    savemat(top / "info" / "query_IDX.mat", {"query_IDX": np.array([[1, 1]])})
    with pytest.raises(ValueError, match="1 repeated"):
        load_dataset("mars", root=tmp_path)


def test_official_query_of_a_dataset():
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    ts = [Tracklet(p, c, frames) for p, c in [(1, 0), (1, 1), (2, 0), (2, 0), (3, 1), (3, 0)]]
    split = {"train": [1], "test": [2, 3]}
    ds = VideoReIDDataset("d", ts, [split], official_query=[3, 4])  # a camera-1 and a camera-2 query
    _, query, gallery = ds.split(0)
    assert [id(t) for t in query] == [id(ts[3]), id(ts[4])]
    assert [id(t) for t in gallery] == [id(ts[2]), id(ts[5])]  # same camera as a query: still gallery
    assert [(t.pid, t.camid) for t in VideoReIDDataset("d", ts, [split]).split(0)[1]] == [(2, 0), (2, 0), (3, 0)]
    with pytest.raises(ValueError, match=r"distinct tracklet indices in 0\.\.5; found 2 indices, 0 repeated, 1 out"):
        VideoReIDDataset("d", ts, [split], official_query=[3, 6])
    with pytest.raises(ValueError, match=r"trains on 1 persons of the official queries, e\.g\. \[1\]"):
        VideoReIDDataset("d", ts, [split], official_query=[0, 4])


# ----------------------------------------------------------------------------- PRID-2011's splits file

PRID_LENGTHS = {1: (25, 25), 2: (30, 22), 3: (22, 40), 4: (21, 30), 5: (10, 30)}  # person 5 is short in cam_a


def _fake_prid(root):
    rng = np.random.default_rng(0)
    for p, lengths in PRID_LENGTHS.items():
        for cam, n in zip(("cam_a", "cam_b"), lengths, strict=True):
            folder = root / "prid_2011" / "multi_shot" / cam / f"person_{p:04d}"
            folder.mkdir(parents=True)
            for i in range(1, n + 1):
                assert cv2.imwrite(str(folder / f"{i:04d}.png"), rng.integers(0, 256, (4, 2, 3), dtype=np.uint8))


def _prid_mat(folder, ls_set):
    (folder / "train-test people splits").mkdir(parents=True, exist_ok=True)
    savemat(folder / "train-test people splits" / "train_test_splits_prid.mat", {"ls_set": np.array(ls_set)})


def test_prid_reads_the_official_splits_when_present(tmp_path):
    _fake_prid(tmp_path)
    with pytest.warns(SkippedDataWarning, match="1 with fewer than 21 frames"):
        ds = load_dataset("prid2011", root=tmp_path, num_splits=2)
    assert ds.meta["splits"] == "seeded random (seed 0)" and "random" in ds.meta["protocol"]
    _prid_mat(tmp_path, [[4, 1, 2, 3], [2, 3, 4, 1]])  # indices into the 4 kept persons 1-4; first half = test
    with pytest.warns(SkippedDataWarning):
        ds = load_dataset("prid2011", root=tmp_path)
    assert ds.meta["splits"] == "official (train_test_splits_prid.mat)" and "ls_set" in ds.meta["protocol"]
    assert ds.splits == [{"train": [2, 3], "test": [1, 4]}, {"train": [1, 4], "test": [2, 3]}]
    custom = tmp_path / "mine.json"
    custom.write_text('[{"train": [1, 2], "test": [3, 4]}]')
    with pytest.warns(SkippedDataWarning):
        ds = load_dataset("prid2011", root=tmp_path, splits_file=custom)
    assert ds.splits == [{"train": [1, 2], "test": [3, 4]}] and ds.meta["splits"] == f"from {custom}"


def test_prid_official_splits_for_other_persons_fall_back_with_a_hint(tmp_path):
    _fake_prid(tmp_path)
    _prid_mat(tmp_path / "iLIDS-VID", [[5, 1, 2, 3, 4]])  # 5 persons, in the folder iLIDS-VID.tar unpacks to
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset("prid2011", root=tmp_path, num_splits=2)
    msg = " ".join(str(w.message) for w in caught if not issubclass(w.category, SkippedDataWarning))
    assert "divide 5 persons, but min_frames=21 keeps 4; using 2 random" in msg
    assert "min_frames=1 to 10 keeps 5 persons" in msg
    assert ds.meta["splits"] == "seeded random (seed 0)" and ds.num_splits == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_dataset("prid2011", root=tmp_path, min_frames=10)
    assert ds.meta["splits"] == "official (train_test_splits_prid.mat)"
    assert ds.splits == [{"train": [2, 3, 4], "test": [1, 5]}]  # floor(5 / 2) = 2 test persons


def test_mars_download_gives_the_instructions(tmp_path):
    from reidlib.data import download as dl

    with pytest.raises(dl.DownloadError, match=r"(?s)MARS has no public download link.*on request.*MARS/info"):
        dl.prepare("mars", tmp_path)
    assert not dl.is_ready("mars", tmp_path)
    fake_mars(tmp_path)
    assert dl.prepare("mars", tmp_path) == tmp_path / "MARS"  # in place: nothing to do
