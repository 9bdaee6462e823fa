"""The synthetic generator as a package (reidlib.data.synthetic): its old import path, its store of rendered
frames, and degradations as objects of one registry. Its pixels, and the bytes of its store, against the
code before the split: tests/data/test_golden_synthetic.py."""

import inspect

import numpy as np
import pytest

import reidlib.data.synthetic as synthetic
from reidlib.data.synthetic import SyntheticReID, store
from reidlib.data.synthetic.degradations import ALL, Box, Front, flags, truth

# every public name of the module reidlib.data.synthetic had before it became a package
OLD_NAMES = (
    "ACTS ARRAYS BAGS CLEAN Camera DEGRADATIONS DEGRADED FAILURES GENERATOR_VERSION HAIR HEAVY_OCCLUDERS Identity "
    "OCCLUDERS PALETTE PATTERNS PRESETS RENDER_VERSION Rendering SKIN SyntheticReID degraded soft_box soft_capsule "
    "soft_ellipse"
).split()


def test_every_old_name_keeps_its_import_path():
    missing = [name for name in OLD_NAMES if not hasattr(synthetic, name)]
    assert not missing and sorted(synthetic.__all__) == sorted(OLD_NAMES)


def test_the_store_functions_read_back_what_they_saved_and_name_a_damaged_file(tmp_path):
    tracklets = SyntheticReID(num_ids=2, seq_len=(3, 4), size=(32, 16), seed=1).tracklets()
    folder = tmp_path / "synthetic-abc"
    store.save(tracklets, folder)
    loaded = store.load(folder)
    assert [(t.pid, t.camid, len(t)) for t in loaded] == [(t.pid, t.camid, len(t)) for t in tracklets]
    for got, want in zip(loaded, tracklets, strict=True):
        assert got.meta == {**want.meta, "cache": str(folder)}
        for name in store.ARRAYS:
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
    frames = folder / "frames.npy"
    frames.write_bytes(frames.read_bytes()[:-3])
    assert store.load(folder).startswith("frames.npy: it has ")
    store.discard(folder)
    assert not folder.exists()
    calls = []
    again = store.cached_tracklets(folder, lambda: calls.append(1) or tracklets)
    assert calls == [1] and np.array_equal(again[1].frames, tracklets[1].frames)


def test_each_degradation_has_its_flag_its_stream_and_its_arguments():
    """The flags follow the registry; each degradation draws from a stream of its own (0, 1, 2 are the persons,
    the cameras and the walks); its rate and run length are arguments of SyntheticReID."""
    assert synthetic.DEGRADATIONS == tuple(d.name for d in ALL)
    streams = [d.stream for d in ALL]
    assert len(set(streams)) == len(streams) and not set(streams) & {0, 1, 2}
    params = inspect.signature(SyntheticReID).parameters
    for d in ALL:
        assert d.rate in params and (d.run_length is None or d.run_length in params), d.name
        assert params[d.rate].default == (0.5 if d.name == "occluder" else 0.0)


def test_truth_and_flags_by_hand():
    """One 2x2 frame pair: the person covers two pixels; a front hides one of them in frame 1 only, and a
    tracker's box fails in frame 0, when a quarter of the person is outside the crop."""
    person = np.zeros((2, 2, 2), np.float32)
    person[:, 0] = 1.0  # two pixels
    area = np.array([2.0 / 0.75, 2.0], np.float32)  # frame 0: a quarter of the person is outside the crop
    alpha = np.zeros((1, 2, 2), np.float32)
    alpha[0, 0, 0] = 1.0
    fronts = {d.name: None for d in ALL}
    fronts["distractor"] = Front(slice(1, 2), alpha, np.zeros((3, 1, 2, 2), np.float32))
    fronts["detection_failure"] = Box(slice(0, 1), np.zeros(1), np.zeros(1), np.ones(1))
    front, visibility, shares = truth(person, area, fronts)
    np.testing.assert_allclose(visibility, [0.75, 0.5])
    col = {d.name: i for i, d in enumerate(ALL)}
    np.testing.assert_allclose(shares[:, col["distractor"]], [0.0, 0.5])
    np.testing.assert_allclose(shares[:, col["detection_failure"]], [0.25, 0.0], atol=1e-7)
    assert front[1, 0, 0] == 1 and front.sum() == 1
    bits = flags(shares, fronts)
    assert bits.tolist() == [1 << col["detection_failure"], 1 << col["distractor"]]
    fronts["detection_failure"] = None  # outside the crop by a wide stride, not a failure: no flag
    assert flags(shares, fronts).tolist() == [0, 1 << col["distractor"]]


def test_a_degradation_needing_another_person_says_so():
    with pytest.raises(ValueError, match=r"distractors=0.5 needs another person.*num_ids=1.*distractors=0"):
        SyntheticReID(1, distractors=0.5)
