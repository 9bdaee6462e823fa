"""reidlib.preprocess: colour, flow, the network input and the cache, against hand-computed truth."""

import json

import cv2
import numpy as np
import pytest
import torch

import reidlib.preprocess as P
from reidlib._io import CacheRebuiltWarning
from reidlib.data import Tracklet, load_dataset
from reidlib.preprocess import cache as cache_module

# ----------------------------------------------------------------------------- colour


def test_yuv_of_hand_computed_pixels():
    rgb = np.array([[[[255, 0, 0], [255, 255, 255], [100, 150, 200], [128, 128, 128]]]], np.uint8)
    yuv = P.rgb_to_yuv(rgb)[0, 0]
    assert yuv.shape == (4, 3) and yuv.dtype == np.float32
    # pure red: Y = 0.299, U = 0.492 (0 - 0.299), V = 0.877 (1 - 0.299)
    np.testing.assert_allclose(yuv[0], [0.299, -0.147108, 0.614777], atol=2e-4)
    np.testing.assert_allclose(yuv[1], [1.0, 0.0, 0.0], atol=2e-4)  # white: full luma, no colour
    # (100, 150, 200): Y = (29.9 + 88.05 + 22.8) / 255 = 0.551961, U = 0.492 (200/255 - Y), V = 0.877 (100/255 - Y)
    y = 140.75 / 255
    np.testing.assert_allclose(yuv[2], [y, 0.492 * (200 / 255 - y), 0.877 * (100 / 255 - y)], atol=2e-4)
    np.testing.assert_allclose(yuv[3, 1:], [0.0, 0.0], atol=1e-6)  # grey has no chroma


def test_float_frames_in_unit_range_match_uint8():
    frames = np.random.default_rng(0).integers(0, 256, (2, 5, 4, 3), dtype=np.uint8)
    np.testing.assert_allclose(P.rgb_to_yuv(frames), P.rgb_to_yuv(frames / 255.0), atol=1e-6)
    np.testing.assert_allclose(P.rgb_to_gray(frames), P.rgb_to_yuv(frames)[..., 0], atol=1e-6)


@pytest.mark.parametrize(
    "frames, error, match",
    [
        (np.zeros((2, 4, 4, 3), np.int32), TypeError, "uint8 frames.*found dtype int32"),
        (np.zeros((2, 4, 4, 4), np.uint8), ValueError, r"RGB frames.*\(2, 4, 4, 4\)"),
        (np.full((2, 4, 4, 3), 200.0), ValueError, r"\[0, 1\].*200.*divide by 255"),
        (np.full((2, 4, 4, 3), np.nan, np.float32), ValueError, "NaN"),
    ],
)
def test_bad_frames_are_refused(frames, error, match):
    with pytest.raises(error, match=match):
        P.rgb_to_yuv(frames)


def test_standardize_gives_zero_mean_unit_std_per_frame_and_channel():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 16, 12, 3)) * [1.0, 10.0, 0.01] + [5.0, -2.0, 100.0]  # channels of very different scale
    z = P.standardize(x)
    assert z.shape == x.shape and z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(1, 2)), 1, atol=1e-4)
    # per frame: scaling one frame does not change any other frame
    x2 = x.copy()
    x2[0] *= 7
    np.testing.assert_allclose(P.standardize(x2)[1:], z[1:], atol=1e-6)
    # channels-first gives the same numbers
    np.testing.assert_allclose(
        P.standardize(x.transpose(0, 3, 1, 2), channel_axis=-3), z.transpose(0, 3, 1, 2), atol=1e-6
    )


def test_standardize_is_safe_on_a_constant_channel():
    x = np.random.default_rng(2).random((2, 8, 8, 3)).astype(np.float32)
    x[1, :, :, 2] = 0.7
    z = P.standardize(x)
    assert np.all(np.isfinite(z))
    assert np.all(z[1, :, :, 2] == 0)
    with pytest.raises(ValueError, match="NaN or inf"):
        P.standardize(np.full((1, 4, 4, 3), np.inf))


# ----------------------------------------------------------------------------- flow


def test_shifted_textures_moves_by_exactly_the_shift():
    prev, next = P.shifted_textures(32, 24, 3.0, -2.0, seed=4)  # integer shift: a periodic roll
    np.testing.assert_allclose(next, np.roll(prev, (-2, 3), axis=(0, 1)), atol=1e-5)
    assert 0 <= prev.min() and prev.max() <= 1


@pytest.mark.parametrize("method", P.FLOW_METHODS)
@pytest.mark.parametrize("dx, dy", [(0.6, -0.35), (-0.8, 0.5), (1.7, 1.2)])
def test_flow_recovers_a_known_translation(method, dx, dy):
    prev, next = P.shifted_textures(64, 48, dx, dy, seed=5)
    flow = P.compute_flow(prev, next, method)
    assert flow.shape == (64, 48, 2) and flow.dtype == np.float32
    inner = flow[8:-8, 8:-8].reshape(-1, 2)
    u, v = np.median(inner, axis=0)
    assert abs(u - dx) < 0.1 and abs(v - dy) < 0.1, (method, u, v)  # sign and magnitude


def test_lucas_kanade_is_sub_pixel_accurate_on_texture():
    rng = np.random.default_rng(6)
    errors = []
    for i in range(5):
        dx, dy = rng.uniform(-1, 1, 2)
        prev, next = P.shifted_textures(64, 48, dx, dy, seed=i)
        errors.append(P.endpoint_error(P.lucas_kanade(prev, next), (dx, dy))[8:-8, 8:-8])
    assert np.median(errors) < 0.1


def test_the_pyramid_extends_lucas_kanade_to_larger_motion():
    prev, next = P.shifted_textures(64, 48, 3.0, -2.0, seed=11)
    epe = lambda **kw: np.median(P.endpoint_error(P.lucas_kanade(prev, next, **kw), (3.0, -2.0))[10:-10, 10:-10])
    assert epe(levels=0, iterations=1) > 1.0  # one linearisation: far off at 3.6 px
    assert epe(levels=2, iterations=2) < 0.25


def test_lucas_kanade_is_zero_on_identical_and_on_flat_frames():
    prev, _ = P.shifted_textures(40, 30, 0, 0, seed=7)
    assert np.all(P.lucas_kanade(prev, prev) == 0)
    flat = np.full((40, 30), 0.5, np.float32)
    assert np.all(P.lucas_kanade(flat, flat + 0.1) == 0)  # no texture: the guard gives 0, not inf or NaN


def test_lucas_kanade_refuses_bad_settings():
    prev, next = P.shifted_textures(32, 32, 0.5, 0, seed=8)
    with pytest.raises(ValueError, match="odd size >= 3; found 4"):
        P.lucas_kanade(prev, next, window=4)
    with pytest.raises(ValueError, match="iterations >= 1; found levels=1, iterations=0"):
        P.lucas_kanade(prev, next, iterations=0)


@pytest.mark.parametrize(
    "prev, next, error, match",
    [
        (np.zeros((8, 8), np.float32), np.zeros((8, 9), np.float32), ValueError, r"same size.*\(8, 8\) and \(8, 9\)"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8), ValueError, "one grey image"),
        (np.zeros((8, 8), np.int64), np.zeros((8, 8), np.int64), TypeError, "dtype int64"),
        (np.full((8, 8), np.nan, np.float32), np.zeros((8, 8), np.float32), ValueError, "prev contains NaN"),
    ],
)
@pytest.mark.parametrize("method", P.FLOW_METHODS)
def test_bad_frame_pairs_are_refused(method, prev, next, error, match):
    with pytest.raises(error, match=match):
        P.compute_flow(prev, next, method)


def test_unknown_flow_method_is_refused():
    with pytest.raises(ValueError, match="lk, farneback, dis; found 'horn'"):
        P.compute_flow(np.zeros((8, 8)), np.zeros((8, 8)), "horn")


# ----------------------------------------------------------------------------- the input


def moving_texture_frames(num_frames: int, dx: float, dy: float, size=(64, 48)) -> np.ndarray:
    """uint8 RGB frames (T, h, w, 3) of one texture moving by (dx, dy) per frame, tinted per channel."""
    base, _ = P.shifted_textures(*size, 0, 0, seed=9)
    frames = [P.shifted_textures(*size, dx * t, dy * t, seed=9)[1] for t in range(num_frames)]
    assert np.allclose(frames[0], base)
    rgb = np.stack(frames)[..., None] * [1.0, 0.8, 0.6] + [0.0, 0.1, 0.3]
    return np.round(rgb * 255).astype(np.uint8)


def test_sequence_flow_pairs_consecutive_frames_and_copies_the_first():
    gray = P.rgb_to_gray(moving_texture_frames(4, 0.5, 0.0)).astype(np.float32)
    flow = P.sequence_flow(gray)
    assert flow.shape == (4, 64, 48, 2)
    np.testing.assert_array_equal(flow[0], flow[1])
    np.testing.assert_array_equal(flow[2], P.lucas_kanade(gray[1], gray[2]))
    with pytest.raises(ValueError, match="at least 2 grey frames.*use_flow=False"):
        P.sequence_flow(gray[:1])


def test_prepare_sequence_shape_dtype_and_channels():
    frames = moving_texture_frames(5, 0.5, -0.25)
    x = P.prepare_sequence(frames)
    assert x.shape == (5, 5, 64, 48) and x.dtype == np.float32 and np.all(np.isfinite(x))
    np.testing.assert_allclose(x[:, :3].mean(axis=(2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(x[:, :3].std(axis=(2, 3)), 1, atol=1e-3)
    u, v = np.median(x[:, 3, 8:-8, 8:-8]), np.median(x[:, 4, 8:-8, 8:-8])
    assert abs(u - 0.5 / P.FLOW_SCALE) < 0.1 and abs(v + 0.25 / P.FLOW_SCALE) < 0.1
    no_flow = P.prepare_sequence(frames, use_flow=False)
    assert no_flow.shape == (5, 3, 64, 48)
    np.testing.assert_allclose(no_flow, x[:, :3])


def test_prepare_sequence_resizes_and_refuses_one_frame_with_flow():
    frames = np.random.default_rng(10).integers(0, 256, (3, 128, 64, 3), dtype=np.uint8)
    assert P.prepare_sequence(frames, flow_method="dis").shape == (3, 5, 64, 48)
    with pytest.raises(ValueError, match="at least 2 grey frames"):
        P.prepare_sequence(frames[:1])
    assert P.prepare_sequence(frames[:1], use_flow=False).shape == (1, 3, 64, 48)
    with pytest.raises(ValueError, match=r"at least one RGB frame \(T, H, W, 3\); found shape \(128, 64, 3\)"):
        P.prepare_sequence(frames[0])
    with pytest.raises(ValueError, match=r"found shape \(0, 128, 64, 3\)"):
        P.prepare_sequence(frames[:0], use_flow=False)
    with pytest.raises(ValueError, match=r"found shape \(3, 128, 64, 4\)"):
        P.prepare_sequence(np.zeros((3, 128, 64, 4), np.uint8))
    with pytest.raises(TypeError, match="dtype int16"):
        P.prepare_sequence(frames.astype(np.int16))
    bad = frames / 255.0
    bad[1, 5, 5, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):  # never a silent NaN in the output
        P.prepare_sequence(bad)


def test_scale_flow_divides_and_clips():
    flow = np.array([[0.5, -1.0], [30.0, -30.0]], np.float32)
    np.testing.assert_allclose(P.scale_flow(flow, scale=0.5, clip=4), [[1.0, -2.0], [4.0, -4.0]])


def position_coded(num_frames: int = 3, channels: int = 5) -> np.ndarray:
    """x[t, c, i, j] = 100000 t + 10000 c + 100 i + j: every value tells where it came from (exact in float32)."""
    t, c, i, j = np.meshgrid(np.arange(num_frames), np.arange(channels), np.arange(64), np.arange(48), indexing="ij")
    return (100000 * t + 10000 * c + 100 * i + j).astype(np.float32)


def test_test_crop_is_the_centre():
    x = position_coded()
    out = P.crop_and_flip(x, train=False)
    assert out.shape == (3, 5, 56, 40) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x[:, :, 4:60, 4:44])


def test_training_crop_and_flip_are_identical_across_frames():
    x = position_coded(num_frames=4)
    flips = set()
    for seed in range(12):
        out = P.crop_and_flip(x, train=True, rng=np.random.default_rng(seed))
        rel = out[:, :3] - 100000 * np.arange(4)[:, None, None, None]  # remove the frame code
        for t in range(1, 4):
            np.testing.assert_array_equal(rel[t], rel[0])  # same window, same flip, every frame
        top, left = divmod(int(rel[0, 0, 0, :].min()), 100)  # the window's top-left pixel
        assert 0 <= top <= 8 and 0 <= left <= 8
        window = x[:, :, top : top + 56, left : left + 40]
        flipped = not np.array_equal(out[:, :3], window[:, :3])
        if flipped:
            np.testing.assert_array_equal(out[:, :3], window[:, :3, :, ::-1])
            np.testing.assert_array_equal(out[:, 3], -window[:, 3, :, ::-1])  # u negated
            np.testing.assert_array_equal(out[:, 4], window[:, 4, :, ::-1])  # v kept
        else:
            np.testing.assert_array_equal(out, window)
        flips.add(flipped)
    assert flips == {True, False}
    a = P.crop_and_flip(x, True, np.random.default_rng(3))
    np.testing.assert_array_equal(a, P.crop_and_flip(x, True, np.random.default_rng(3)))  # seeded


def test_crop_refuses_bad_shapes_and_a_missing_generator():
    with pytest.raises(ValueError, match=r"\(T, 3 or 5, 64, 48\).*\(2, 4, 64, 48\)"):
        P.crop_and_flip(np.zeros((2, 4, 64, 48)), train=False)
    with pytest.raises(ValueError, match="rng=np.random.default_rng"):
        P.crop_and_flip(np.zeros((2, 5, 64, 48)), train=True)


def test_flip_of_a_mirrored_scene_matches_its_flow():
    """Mirror the frames themselves: the flow of the mirror is the flipped flow with u negated."""
    frames = moving_texture_frames(3, 0.6, 0.2)
    x, xm = P.prepare_sequence(frames), P.prepare_sequence(np.ascontiguousarray(frames[:, :, ::-1]))
    u, um = x[:, 3, 8:-8, 8:-8], xm[:, 3, 8:-8, 8:-8][..., ::-1]
    assert abs(np.median(u) - 0.6) < 0.1 and abs(np.median(um) + 0.6) < 0.1


def test_make_input_on_a_synthetic_tracklet():
    tr = load_dataset("synthetic", preset="tiny").tracklets[0]
    x = P.make_input(tr)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.shape == (len(tr), 5, 56, 40)
    np.testing.assert_allclose(x.numpy(), P.prepare_sequence(tr.frames)[:, :, 4:60, 4:44])
    part = P.make_input(tr, train=True, rng=np.random.default_rng(0), use_flow=False, indices=[1, 2])
    assert part.shape == (2, 3, 56, 40)


# ----------------------------------------------------------------------------- the cache


def test_cache_matches_prepare_sequence_and_is_reused(tiny_dataset, tmp_path, monkeypatch):
    data = P.preprocess_dataset(tiny_dataset, cache_dir=tmp_path, progress=False)
    (folder,) = (tmp_path / "preprocess").iterdir()
    assert folder == data.path and sorted(p.name for p in folder.iterdir()) == ["index.json", "prepared.npy"]
    tr = tiny_dataset.tracklets[3]
    want = P.prepare_sequence(tr.frames)
    got = data.sequence(tr)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)  # stored as float16
    x = data.input(tr, train=True, rng=np.random.default_rng(0), indices=np.arange(4))
    assert x.dtype == torch.float32 and x.shape == (4, 5, 56, 40)

    def boom(*a, **k):
        raise AssertionError("the cache was rebuilt although nothing changed")

    monkeypatch.setattr(cache_module, "prepare_sequence", boom)
    again = P.preprocess_dataset(tiny_dataset, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.sequence(tr), got)
    with pytest.raises(AssertionError, match="rebuilt"):  # a changed parameter must build anew
        P.preprocess_dataset(tiny_dataset, cache_dir=tmp_path, progress=False, flow_method="dis")


@pytest.mark.parametrize("use_flow", [True, False])
def test_the_cache_holds_exactly_what_prepare_sequence_makes(tiny_dataset, tmp_path, use_flow):
    """Built through the frame store, every stored value is prepare_sequence's on the raw frames, rounded to
    float16, bit for bit (tests/data/test_golden_synthetic.py: the file has the bytes it had before the store)."""
    data = P.preprocess_dataset(tiny_dataset, cache_dir=tmp_path, progress=False, use_flow=use_flow)
    start = 0
    for t in tiny_dataset.tracklets:
        want = P.prepare_sequence(np.asarray(t.frames), use_flow=use_flow).astype(np.float16)
        got = data.data[start : start + len(t)]
        assert got.dtype == np.float16 and got.shape == want.shape and got.tobytes() == want.tobytes()
        np.testing.assert_array_equal(data.sequence(t), want.astype(np.float32))
        start += len(t)
    assert start == len(data.data)


@pytest.mark.parametrize(
    "change", [dict(flow_method="farneback"), dict(use_flow=False), dict(flow_scale=2.0), dict(window=5), "dataset"]
)
def test_a_changed_parameter_or_dataset_builds_a_new_cache(tiny_dataset, tmp_path, change):
    base = P.preprocess_dataset(tiny_dataset, cache_dir=tmp_path, progress=False)
    if change == "dataset":
        other = load_dataset("synthetic", preset="tiny", seed=1)
        new = P.preprocess_dataset(other, cache_dir=tmp_path, progress=False)
    else:
        new = P.preprocess_dataset(tiny_dataset, cache_dir=tmp_path, progress=False, **change)
    assert new.path != base.path
    assert len(list((tmp_path / "preprocess").glob("*/prepared.npy"))) == 2
    params = json.loads((new.path / "index.json").read_text())["params"]
    if isinstance(change, dict) and "window" in change:
        assert params["flow_kw"] == {"window": 5}


def test_cache_location_follows_the_environment(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("REIDLIB_CACHE", str(tmp_path / "env"))
    data = P.preprocess_dataset(tiny_dataset.tracklets[:2], progress=False)
    assert data.path.parent == tmp_path / "env" / "preprocess"
    assert P.cache_root() == tmp_path / "env" / "preprocess"
    assert P.cache_root(tmp_path / "arg") == tmp_path / "arg" / "preprocess"


def test_cache_refuses_foreign_tracklets_and_a_truncated_file(tiny_dataset, tmp_path):
    data = P.preprocess_dataset(tiny_dataset.tracklets[:3], cache_dir=tmp_path, progress=False)
    stranger = Tracklet(pid=99, camid=0, frames=np.zeros((4, 128, 64, 3), np.uint8))
    with pytest.raises(KeyError, match="not in this preprocessed dataset"):
        data.sequence(stranger)
    with pytest.raises(IndexError, match=r"frame indices must lie in \[0, "):
        data.input(tiny_dataset.tracklets[0], indices=[0, 99])
    want = np.asarray(data.data).copy()
    np.save(data.path / "prepared.npy", np.zeros((2, 5, 64, 48), np.float16))  # a broken cache file
    with pytest.warns(
        CacheRebuiltWarning, match=r"cache .* is damaged: prepared\.npy: it has \d+ bytes where its index"
    ):
        again = P.preprocess_dataset(tiny_dataset.tracklets[:3], cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(np.asarray(again.data), want)  # rebuilt, never served broken


def test_fingerprint_sees_a_changed_frame(tiny_dataset):
    tracklets = [Tracklet(t.pid, t.camid, np.array(t.frames)) for t in tiny_dataset.tracklets[:2]]
    before = P.dataset_fingerprint(tracklets)
    tracklets[1].frames[0, 0, 0, 0] ^= 1
    assert P.dataset_fingerprint(tracklets) != before


def test_fingerprint_of_image_files_uses_paths_sizes_and_times(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"{i:04d}.png"
        cv2.imwrite(str(p), np.full((8, 4, 3), 10 * i, np.uint8))
        paths.append(p)
    tr = [Tracklet(0, 0, paths)]
    before = P.dataset_fingerprint(tr)
    cv2.imwrite(str(paths[1]), np.random.default_rng(0).integers(0, 256, (8, 4, 3), dtype=np.uint8))
    assert P.dataset_fingerprint(tr) != before


def test_flow_to_rgb_follows_the_colour_wheel():
    flow = np.zeros((1, 4, 2), np.float32)
    flow[0, 0] = [2, 0]  # right: hue 0, red
    flow[0, 1] = [-2, 0]  # left: hue 180 degrees, cyan
    flow[0, 2] = [1, 0]  # right, half the top speed: half as bright
    rgb = P.flow_to_rgb(flow)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 4, 3)
    np.testing.assert_array_equal(rgb[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(rgb[0, 1], [0, 255, 255])
    assert abs(int(rgb[0, 2, 0]) - 127) <= 1 and rgb[0, 2, 1:].max() == 0
    np.testing.assert_array_equal(rgb[0, 3], [0, 0, 0])  # still: black
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        P.flow_to_rgb(np.zeros((4, 4)))


def test_a_failed_build_leaves_no_cache_behind(tiny_dataset, tmp_path):
    broken = Tracklet(pid=50, camid=0, frames=np.zeros((5, 128, 64, 4), np.uint8))  # RGBA: refused
    with pytest.raises(ValueError):
        P.preprocess_dataset(list(tiny_dataset.tracklets[:2]) + [broken], cache_dir=tmp_path, progress=False)
    assert list((tmp_path / "preprocess").iterdir()) == []


def test_flow_settings_include_defaults_and_refuse_unknown_ones():
    s = P.flow_settings("lk", window=5)
    assert s["window"] == 5 and s["levels"] == 1 and s["weights"] == "gaussian"
    with pytest.raises(TypeError, match="'dis' has no setting window; its settings are preset"):
        P.flow_settings("dis", window=5)


def test_a_changed_flow_default_builds_a_new_cache(tiny_dataset, tmp_path, monkeypatch):
    before = P.preprocess_dataset(tiny_dataset.tracklets[:2], cache_dir=tmp_path, progress=False)
    defaults = P.lucas_kanade.__defaults__  # (window, levels, iterations, min_eig, weights)
    monkeypatch.setattr(P.lucas_kanade, "__defaults__", (7,) + defaults[1:])
    after = P.preprocess_dataset(tiny_dataset.tracklets[:2], cache_dir=tmp_path, progress=False)
    assert after.path != before.path and after.params["flow_settings"]["window"] == 7
    with pytest.raises(TypeError, match="no setting windw"):  # a typo fails at once, before any work
        P.preprocess_dataset(tiny_dataset.tracklets[:2], cache_dir=tmp_path, progress=False, windw=5)
