"""reidlib.data in memory: the synthetic benchmark against its own ground truth, the histogram baseline,
splits, sampling and frames. The on-disk layouts, export and download are in test_data_loaders.py."""

import hashlib
import json
import sys

import cv2
import numpy as np
import pytest

from reidlib.data import (
    SkippedDataWarning,
    SyntheticReID,
    Tracklet,
    VideoReIDDataset,
    check_splits,
    colour_histogram,
    drop_short,
    frame_number,
    histogram_baseline,
    histogram_ranks,
    load_dataset,
    load_frames,
    load_splits,
    make_splits,
    sample_window,
    save_splits,
    sorted_frames,
    synthetic,
)
from reidlib.data.synthetic import soft_box, soft_capsule, soft_ellipse

# ----------------------------------------------------------------------------- synthetic benchmark


@pytest.fixture(scope="module")
def gen():
    return SyntheticReID(6, seq_len=(10, 14), occlusion=0.5, seed=3)


def test_tracklets_have_the_promised_shapes(gen):
    ds = load_dataset("synthetic", preset="tiny")
    assert ds.pids == list(range(8)) and ds.camids == [0, 1] and len(ds) == 16
    for t in ds.tracklets:
        assert t.frames.dtype == np.uint8 and t.frames.shape[1:] == (128, 64, 3)
        assert 8 <= len(t) <= 16 and t.visibility.shape == (len(t),) and t.flow_truth.shape == (len(t), 2)
        assert np.all((t.visibility >= 0) & (t.visibility <= 1)) and np.all(t.flow_truth[0] == 0)


def test_same_seed_gives_byte_identical_frames():
    """Two generators built separately with one seed draw the same bytes; another seed does not."""

    def digest(seed):
        h = hashlib.sha256()
        for t in SyntheticReID(5, seq_len=(6, 10), occlusion=0.5, seed=seed).tracklets():
            h.update(t.frames.tobytes())
            h.update(t.visibility.tobytes())
            h.update(t.flow_truth.tobytes())
        return h.hexdigest()

    assert digest(11) == digest(11) != digest(12)


def test_drawing_only_inside_boxes_changes_nothing(monkeypatch):
    """The renderer evaluates each shape only inside the box it can reach; drawing every shape
    over the whole frame instead gives the same bytes (nothing was cut off), degradations included."""
    kw = dict(seq_len=(12, 16), occlusion=1.0, seed=5, heavy_occlusion=1.0, distractors=1.0, detection_failures=0.5)
    gen = SyntheticReID(10, **kw)
    boxed = [gen.render(p, c) for p in range(10) for c in range(2)]
    for module in list(sys.modules.values()):  # every module of the generator that looks the span up
        if module.__name__.startswith("reidlib.data.synthetic") and hasattr(module, "pixel_span"):
            monkeypatch.setattr(module, "pixel_span", lambda lo, hi, n, margin=2: slice(0, n))
    whole = [SyntheticReID(10, **kw).render(p, c) for p in range(10) for c in range(2)]
    for a, b in zip(boxed, whole, strict=True):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.person, b.person)
        np.testing.assert_array_equal(a.occluder, b.occluder)
        np.testing.assert_array_equal(a.area, b.area)
    # the ten persons cover every occluder, heavy occluder, failure, bag, pattern and hair style
    ids = [gen.identity(p) for p in range(10)]
    assert {r.meta["occluder"] for r in boxed} == set(synthetic.OCCLUDERS)
    assert {r.meta["heavy_occluder"]["kind"] for r in boxed} == set(synthetic.HEAVY_OCCLUDERS)
    assert {r.meta["detection_failure"]["mode"] for r in boxed if r.meta["detection_failure"]} == set(
        synthetic.FAILURES
    )
    assert {i.bag for i in ids} == set(synthetic.BAGS) and {i.pattern for i in ids} == set(synthetic.PATTERNS)
    assert {i.long_hair for i in ids} == {True, False}


def test_rendering_is_deterministic_and_order_free(gen):
    alone = SyntheticReID(6, seq_len=(10, 14), occlusion=0.5, seed=3).tracklet(4, 1)
    all_of_them = gen.tracklets()
    assert [(t.pid, t.camid) for t in all_of_them] == [(p, c) for p in range(6) for c in range(2)]
    np.testing.assert_array_equal(alone.frames, all_of_them[9].frames)
    other_seed = SyntheticReID(6, seq_len=(10, 14), occlusion=0.5, seed=4).tracklet(4, 1)
    assert not np.array_equal(other_seed.frames[:1], alone.frames[:1])


def test_soft_shapes_cover_their_area():
    """A soft shape's alpha sums to its area (the ramp is symmetric about the edge)."""
    y, x = np.mgrid[0:200, 0:200].astype(np.float64)
    assert soft_ellipse(x, y, 100.3, 99.6, 30, 20).sum() == pytest.approx(np.pi * 30 * 20, rel=2e-3)
    assert soft_box(x, y, 100.5, 100.2, 40, 25).sum() == pytest.approx(80 * 50, rel=2e-3)
    capsule = np.pi * 8**2 + 2 * 8 * np.hypot(60, 80)  # two half discs + a rectangle
    assert soft_capsule(x, y, 60.2, 50.7, 120.2, 130.7, 8).sum() == pytest.approx(capsule, rel=3e-3)


def test_flow_truth_is_the_motion_of_the_rigid_torso(gen):
    ys, xs = np.mgrid[0:128, 0:64]
    for pid in range(3):
        r = gen.render(pid, 0)
        m = r.torso
        centroid = np.stack([(m * xs).sum((1, 2)), (m * ys).sum((1, 2))], 1) / m.sum((1, 2))[:, None]
        np.testing.assert_allclose(np.diff(centroid, axis=0), r.flow_truth[1:], atol=0.03)


def _fit_shift(grey):
    """s (pixels, 0.05 steps) such that frame k ~ frame k-1 moved right by s, for all k jointly: grey (T, rows, W)."""
    xs, errors = np.arange(grey.shape[2]), []
    for s in np.arange(-4, 4.001, 0.05):
        src = xs - s
        ok = (src >= 0) & (src <= xs[-1] - 1e-9)
        i = np.floor(src[ok]).astype(int)
        w = src[ok] - i
        moved = grey[:-1, :, i] * (1 - w) + grey[:-1, :, i + 1] * w  # linear interpolation at x - s
        errors.append((np.mean((moved - grey[1:, :, ok]) ** 2), s))
    return min(errors)[1]


def test_background_slides_by_the_recorded_speed():
    gen = SyntheticReID(10, seq_len=(8, 8), occlusion=0.0, seed=3)
    errors = []
    for pid in range(10):
        r = gen.render(pid, 0)
        free = int(np.argmax(r.person.sum((0, 2)) > 0))  # rows above the person in every frame
        if free >= 6:
            grey = r.frames[:, :free].astype(np.float64).mean(-1)
            errors.append(_fit_shift(grey) - r.meta["background_flow"][0])
    assert len(errors) >= 3 and np.max(np.abs(errors)) < 0.2 and np.mean(np.abs(errors)) < 0.1


def test_visibility_matches_the_pixels_the_occluder_changed():
    """Same tracklets with and without occluders: the occluder has its own random stream,
    so the pictures differ only where it is; visibility = share of person pixels unchanged."""
    hidden, clean = (SyntheticReID(4, seq_len=(24, 32), occlusion=rate, seed=1) for rate in (1.0, 0.0))
    free = []  # visibility where no person pixel changed
    for pid, cam in [(0, 0), (1, 1), (2, 0), (3, 1)]:
        a, b = hidden.render(pid, cam), clean.render(pid, cam)
        assert a.meta["occluder"] is not None and b.meta["occluder"] is None
        assert np.all(b.visibility == 1) and a.visibility.min() < 0.9
        changed = np.abs(a.frames.astype(int) - b.frames.astype(int)).max(-1) > 25
        body = a.person > 0.5
        measured = 1 - (changed & body).sum((1, 2)) / body.sum((1, 2))
        np.testing.assert_allclose(measured, a.visibility, atol=0.06)
        free += a.visibility[(changed & (a.person > 0)).sum((1, 2)) == 0].tolist()
    assert len(free) >= 5 and min(free) > 0.97  # the occluder is elsewhere: the person is fully visible


def test_occlusion_rate_is_the_share_of_occluded_tracklets():
    gen = SyntheticReID(150, seq_len=(2, 2), occlusion=0.3, seed=0, size=(32, 16))
    share = np.mean([gen.render(p, c).meta["occluder"] is not None for p in range(150) for c in range(2)])
    assert share == pytest.approx(0.3, abs=0.06)  # 300 draws: std 0.026


def test_cache_reads_back_the_same_tracklets(tmp_path):
    made = load_dataset("synthetic", preset="tiny", cache_dir=tmp_path)
    again = load_dataset("synthetic", preset="tiny", cache_dir=tmp_path)
    assert isinstance(again.tracklets[0].frames, np.memmap)
    for a, b in zip(made.tracklets, again.tracklets, strict=True):
        assert (a.pid, a.camid) == (b.pid, b.camid)
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.visibility, b.visibility)
        np.testing.assert_array_equal(a.degradation, b.degradation)
        assert b.degradation.dtype == np.uint8 and len(b.degradation) == len(b)
    assert any(t.degradation.any() for t in again.tracklets)  # tiny has degradations: the flags came back
    load_dataset("synthetic", preset="tiny", seed=1, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # another seed, another cache


def test_colour_histogram_against_hand_counts():
    frames = np.zeros((2, 2, 2, 3), np.uint8)
    frames[0, 0, 0] = [255, 0, 0]  # one red pixel in frame 0, the rest black
    frames[1] = [0, 0, 255]  # frame 1 all blue
    h = colour_histogram(frames, levels=2) ** 2  # cells: index (r*2 + g)*2 + b
    np.testing.assert_allclose(h, np.array([3 / 8, 4 / 8, 0, 0, 1 / 8, 0, 0, 0]))
    weight = np.array([[[1, 0], [0, 0]], [[1, 1], [1, 1]]], float)
    np.testing.assert_allclose(colour_histogram(frames, weight, levels=2) ** 2, [0, 0.5, 0, 0, 0.5, 0, 0, 0])
    with pytest.raises(ValueError, match="levels must divide 256.*found 3"):
        colour_histogram(frames, levels=3)


def test_histogram_ranks_on_hand_made_tracklets():
    def solid(pid, cam, rgb):
        return Tracklet(pid, cam, np.full((3, 4, 4, 3), rgb, np.uint8))

    query = [solid(0, 0, (250, 0, 0)), solid(1, 0, (0, 250, 0)), solid(2, 0, (0, 0, 250))]
    gallery = [solid(1, 1, (0, 0, 250)), solid(0, 1, (250, 10, 0)), solid(2, 1, (0, 250, 0))]
    assert histogram_ranks(query, gallery, "frame").tolist() == [1, 3, 3]  # persons 1 and 2 swapped colours
    with pytest.raises(ValueError, match="person 0 appears 0 times"):
        histogram_ranks(query, gallery[:1], "frame")


def _centre_histogram_baseline(preset):
    ds = load_dataset("synthetic", preset=preset)
    query = [t for t in ds.tracklets if t.camid == 0]
    gallery = [t for t in ds.tracklets if t.camid == 1]
    return histogram_baseline(query, gallery, "centre")


def test_same_identity_looks_alike_across_cameras():
    """Nearest colour histogram of the middle of the crop, camera 1 vs camera 2 on `quick_clean`: the
    identity shows (rank-1 well above chance) but colour alone is far from enough. On `quick` the
    degradations (occluders, distractors, boxes off the person) hide some of it: worse, still above chance."""
    clean, degraded = _centre_histogram_baseline("quick_clean"), _centre_histogram_baseline("quick")
    assert clean["queries"] == degraded["queries"] == 24 and clean["chance"] == pytest.approx(1 / 24)
    assert 3 * clean["chance"] <= clean["rank1"] <= 0.6  # measured: 0.33 (8 of 24)
    assert clean["mean_rank"] < 12.5 / 2  # chance: 12.5; measured 3.3
    assert clean["mean_rank"] < degraded["mean_rank"] < 12.5 * 0.75  # measured: 4.8


def test_synthetic_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seq_len.*found \\(1, 5\\)"):
        SyntheticReID(4, seq_len=(1, 5))
    with pytest.raises(ValueError, match="occlusion is the share.*1.5"):
        SyntheticReID(4, occlusion=1.5)
    with pytest.raises(IndexError, match="pid must be in \\[0, 4\\).*pid=4"):
        SyntheticReID(4).render(4, 0)
    with pytest.raises(ValueError, match="Unknown synthetic preset 'huge'.*tiny, quick"):
        load_dataset("synthetic", preset="huge")
    with pytest.raises(ValueError, match="Unknown dataset 'market'"):
        load_dataset("market")


# ----------------------------------------------------------------------------- splits and the dataset


def test_make_splits_partitions_persons():
    pids = [3, 5, 8, 13, 21, 34, 55]
    splits = make_splits(pids, num_splits=20, train_fraction=0.5, seed=1)
    assert splits == make_splits(pids, num_splits=20, train_fraction=0.5, seed=1)
    for s in splits:
        assert len(s["train"]) == 4 and sorted(s["train"] + s["test"]) == pids
    assert len({tuple(s["train"]) for s in splits}) > 10
    with pytest.raises(ValueError, match="distinct person ids; found 1 duplicates"):
        make_splits([1, 1, 2])
    with pytest.raises(ValueError, match="both need at least one"):
        make_splits([1, 2], train_fraction=0.2)


def test_splits_round_trip_and_bad_files(tmp_path):
    splits = make_splits(range(10), num_splits=3)
    assert load_splits(save_splits(splits, tmp_path / "s.json")) == splits
    (tmp_path / "bad.json").write_text(json.dumps([{"train": [1, 2], "test": [2, 3]}]))
    with pytest.raises(ValueError, match="persons \\[2\\] in both train and test"):
        load_splits(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="save_splits"):
        load_splits(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="not in the dataset"):
        check_splits(splits, pids=range(5))


def test_split_gives_train_query_gallery():
    ts = [Tracklet(p, c, np.zeros((3, 4, 4, 3), np.uint8)) for p in range(6) for c in range(2)]
    ds = VideoReIDDataset("toy", ts, splits=[{"train": [0, 2, 4], "test": [1, 3, 5]}])
    train, query, gallery = ds.split(0)
    assert sorted((t.pid, t.camid) for t in train) == [(p, c) for p in (0, 2, 4) for c in (0, 1)]
    assert [(t.pid, t.camid) for t in query] == [(1, 0), (3, 0), (5, 0)]
    assert [(t.pid, t.camid) for t in gallery] == [(1, 1), (3, 1), (5, 1)]
    with pytest.raises(IndexError, match="splits 0 .. 0; found split 1"):
        ds.split(1)
    assert VideoReIDDataset("toy", ts).num_splits == 10
    with pytest.raises(ValueError, match="no tracklets"):
        VideoReIDDataset("empty", [])


# ----------------------------------------------------------------------------- sampling and frames


def test_sample_window_is_consecutive_and_uniform():
    rng = np.random.default_rng(0)
    starts = []
    for _ in range(2000):
        w = sample_window(20, 16, rng)
        assert w.shape == (16,) and np.all(np.diff(w) == 1) and 0 <= w[0] and w[-1] <= 19
        starts.append(w[0])
    counts = np.bincount(starts, minlength=5)
    assert counts.size == 5 and np.all(np.abs(counts - 400) < 80)  # 5 starts, 400 each expected
    np.testing.assert_array_equal(sample_window(5, 12, rng), np.arange(12) % 5)
    np.testing.assert_array_equal(sample_window(5, 12, rng, short="skip"), np.arange(5))  # not padded
    np.testing.assert_array_equal(sample_window(30, 16, 7), sample_window(30, 16, np.random.default_rng(7)))
    with pytest.raises(ValueError, match="random generator"):
        sample_window(30, 16)
    with pytest.raises(ValueError, match="'repeat' or 'skip'; found 'pad'"):
        sample_window(3, 16, rng, short="pad")


def test_drop_short_skips_with_a_counting_warning():
    ts = [Tracklet(p, 0, np.zeros((n, 2, 2, 3), np.uint8)) for p, n in enumerate([20, 5, 16, 15, 40])]
    with pytest.warns(
        SkippedDataWarning, match="Skipped 2 of 5 tracklets shorter than the 16-frame window \\(lengths \\[5, 15\\]\\)"
    ):
        kept = drop_short(ts, 16)
    assert [t.pid for t in kept] == [0, 2, 4]
    assert drop_short(ts, 16, short="repeat") == ts
    with pytest.raises(ValueError, match="'repeat' or 'skip'; found 'pad'"):
        drop_short(ts, 16, short="pad")


def _write_frames(folder, frames, names):
    folder.mkdir(parents=True, exist_ok=True)
    for f, n in zip(frames, names, strict=True):
        cv2.imwrite(str(folder / n), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))


def test_frames_are_sorted_by_number_and_read_back(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 8, 6, 3), dtype=np.uint8)
    names = ["f9.png", "f10.png", "f99.png", "f100.png"]  # text order would be 10, 100, 9, 99
    _write_frames(tmp_path / "p", frames, names)
    (tmp_path / "p" / "notes.txt").write_text("not a frame")
    paths = sorted_frames(tmp_path / "p")
    assert [p.name for p in paths] == names and frame_number("cam1_person001_00317.png") == 317
    t = Tracklet(1, 0, paths)
    np.testing.assert_array_equal(load_frames(t), frames)
    np.testing.assert_array_equal(load_frames(t, [3, 1]), frames[[3, 1]])
    assert load_frames(t, size=(16, 12)).shape == (4, 16, 12, 3)
    with pytest.raises(IndexError, match="in \\[0, 4\\).*found 0 .. 4"):
        load_frames(t, [0, 4])
    (tmp_path / "p" / "f100.png").write_bytes(b"broken")
    with pytest.raises(OSError, match="f100.png.*unreadable"):
        load_frames(t)
    _write_frames(tmp_path / "q", [frames[0], np.zeros((9, 6, 3), np.uint8)], ["1.png", "2.png"])
    with pytest.raises(ValueError, match=r"q have 2 different sizes \(1\.png is 8 x 6, 2\.png is 9 x 6\).*Resize them"):
        load_frames(Tracklet(2, 0, sorted_frames(tmp_path / "q")))
    with pytest.raises(ValueError, match="no number"):
        frame_number("frame.png")
