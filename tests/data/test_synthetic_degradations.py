"""The degradations of the synthetic benchmark (heavy occluders, distractors, detection failures) against
independent truth: their rates, the pixels they change, the person's area at the box's scale, and the
colours of the distractor's own tracklet."""

import numpy as np
import pytest

from reidlib.data import PRESETS, colour_histogram
from reidlib.data.synthetic import ACTS, DEGRADATIONS, SyntheticReID, degraded

NEW = ("heavy_occluder", "distractor", "detection_failure")
ALL_ON = dict(occlusion=1.0, heavy_occlusion=1.0, distractors=1.0, detection_failures=1.0)
NONE = dict(occlusion=0.0, heavy_occlusion=0.0, distractors=0.0, detection_failures=0.0)


def _gen(num_ids=6, seq_len=(24, 32), seed=2, **rates):
    return SyntheticReID(num_ids, seq_len=seq_len, seed=seed, **{**NONE, **rates})


def _changed(a, b, threshold=25):
    """(T, H, W) True where two renderings' frames differ by more than the noise."""
    return np.abs(a.frames.astype(int) - b.frames.astype(int)).max(-1) > threshold


@pytest.mark.slow
def test_each_degradation_appears_at_its_rate_with_its_run_length():
    gen = SyntheticReID(
        150,
        seq_len=(12, 20),
        size=(32, 16),
        seed=0,
        occlusion=0.3,
        heavy_occlusion=0.2,
        heavy_len=(3, 6),
        distractors=0.5,
        distractor_len=(4, 9),
        detection_failures=0.35,
        failure_len=(2, 30),
    )
    renders = [gen.render(p, c) for p in range(150) for c in range(2)]
    for name, rate in zip(DEGRADATIONS, (0.3, 0.2, 0.5, 0.35), strict=True):
        share = np.mean([r.meta[name] is not None for r in renders])
        assert share == pytest.approx(rate, abs=0.08), name  # 300 draws: std <= 0.029
    for name, (lo, hi) in (("heavy_occluder", (3, 6)), ("distractor", (4, 9)), ("detection_failure", (2, 30))):
        for r in renders:
            if r.meta[name] is not None:
                start, stop = r.meta[name]["frames"]
                T = len(r.frames)
                assert 0 <= start < stop <= T and lo <= stop - start <= min(hi, 3 * T // 4), (name, start, stop, T)


def test_flags_say_where_the_person_is_hidden():
    """Flagged frames lose at least ACTS of the person; tracklets without any degradation lose nothing
    but what a wide stride takes outside the usual crop; visibility is the formula of Rendering."""
    for rates in (ALL_ON, dict(heavy_occlusion=0.5, distractors=0.5, detection_failures=0.5), NONE):
        gen = _gen(8, **rates)
        for p in range(8):
            r = gen.render(p, p % 2)
            inside = (r.person * (1 - r.occluder)).sum((1, 2)) / r.area
            np.testing.assert_allclose(r.visibility, inside, atol=1e-5)
            assert np.all(r.visibility[r.degradation != 0] <= 1 - ACTS + 1e-6)
            if all(r.meta[n] is None for n in DEGRADATIONS):
                assert not r.degradation.any() and not r.occluder.any()
                assert r.visibility.min() >= 0.98
                np.testing.assert_array_equal(r.visibility, r.person.sum((1, 2)) / r.area)


@pytest.mark.parametrize("name, rate", [("heavy_occlusion", "heavy_occluder"), ("distractors", "distractor")])
def test_visibility_matches_the_pixels_that_changed(name, rate):
    """Same tracklets with and without the degradation (it has its own random stream), so the
    pictures differ only where it is; the person's pixels that changed are the hidden ones."""
    on, off = _gen(**{name: 1.0}), _gen(**{name: 0.0})
    acted = 0
    for pid, cam in [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0), (5, 1)]:
        a, b = on.render(pid, cam), off.render(pid, cam)
        assert a.meta[rate] is not None and b.meta[rate] is None
        assert not b.degradation.any() and np.all(b.visibility >= 0.98)
        body = b.person > 0.5
        measured = 1 - (_changed(a, b) & body).sum((1, 2)) / body.sum((1, 2))
        np.testing.assert_allclose(measured, a.visibility / b.visibility, atol=0.08)
        flagged = degraded(a.degradation, rate)
        acted += flagged.sum()
        assert np.all(a.visibility[flagged] < b.visibility[flagged])
        assert np.all(a.visibility[~flagged] >= b.visibility[~flagged] - ACTS)
    assert acted >= 20


def test_heavy_occluders_hide_most_of_the_person_during_their_run():
    gen = _gen(30, seq_len=(40, 48), heavy_occlusion=1.0, heavy_len=(8, 12))
    low = []
    for p in range(30):
        r = gen.render(p, p % 2)
        start, stop = r.meta["heavy_occluder"]["frames"]
        low.append(np.median(r.visibility[start:stop]))
    assert np.mean(np.array(low) < 0.5) >= 0.6, np.round(low, 2)  # "most of the person", for most of them


@pytest.mark.slow
def test_distractor_is_another_person_of_the_benchmark():
    """Never the target; the colours where it covers the frame are those of its own tracklet in this camera."""
    gen = _gen(12, seq_len=(30, 40), distractors=1.0, distractor_len=(20, 24))
    closer = []
    for p in range(12):
        cam = p % 2
        r = gen.render(p, cam)
        other = r.meta["distractor"]["pid"]
        assert other != p and 0 <= other < 12
        covered = r.occluder > 0.99  # the distractor alone is in front here
        if covered.sum() < 400:
            continue
        seen = colour_histogram(r.frames, covered.astype(float))
        own = {q: gen.render(q, cam) for q in (p, other)}
        hist = {q: colour_histogram(t.frames, (t.person > 0.99).astype(float)) for q, t in own.items()}
        closer.append(np.sum(np.sqrt(seen * hist[other])) > np.sum(np.sqrt(seen * hist[p])))  # Bhattacharyya
    assert len(closer) >= 8 and np.mean(closer) >= 0.85, closer
    draws = [gen.render(p, c).meta["distractor"]["pid"] for p in range(12) for c in range(2)]
    assert len(set(draws)) >= 8  # drawn from the whole benchmark, not one stand-in


def test_detection_failure_cuts_the_person_and_visibility_is_the_share_in_the_crop():
    """The box shows the person at 1/scale of their usual size: their whole area is the usual one
    over scale^2 (soft edges aside), and visibility is the share of it inside the crop."""
    fails, usual = _gen(20, detection_failures=1.0, failure_len=(8, 12)), _gen(20)
    checked = 0
    for p in range(20):
        a, b = fails.render(p, 0), usual.render(p, 0)
        f = a.meta["detection_failure"]
        start, stop = f["frames"]
        steady = np.arange(start + 3, stop)  # the box error is fully built up after 3 frames
        whole = b.person.sum((1, 2))[steady] / f["scale"] ** 2
        np.testing.assert_allclose(a.area[steady], whole, rtol=0.03)
        np.testing.assert_allclose(a.visibility[steady], a.person.sum((1, 2))[steady] / whole, atol=0.03)
        flagged = degraded(a.degradation, "detection_failure")
        assert flagged[start:stop].sum() >= stop - start - 2 and not flagged[:start].any() and not flagged[stop:].any()
        border = np.maximum(a.person[:, :, [0, -1]].max((1, 2)), a.person[:, [0, -1]].max((1, 2)))
        assert np.all(border[flagged] > 0.5)  # the person goes on beyond the crop
        outside = np.r_[0:start, stop : len(a.frames)]
        np.testing.assert_array_equal(a.frames[outside], b.frames[outside])  # the box is off only in its run
        checked += len(steady)
    assert checked >= 60


def test_same_seed_same_frames_and_one_rate_changes_only_its_own_tracklets():
    base = dict(heavy_occlusion=0.3, distractors=0.3, detection_failures=0.3, occlusion=0.3)

    def render_all(**rates):
        gen = _gen(10, seq_len=(10, 16), **{**base, **rates})
        return [gen.render(p, c) for p in range(10) for c in range(2)]

    first, again = render_all(), render_all()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.degradation, b.degradation)
        assert a.meta == b.meta
    for rate, name in (("distractors", "distractor"), ("heavy_occlusion", "heavy_occluder")):
        more = render_all(**{rate: 0.7})
        unchanged = [(a, b) for a, b in zip(first, more, strict=True) if b.meta[name] is None]
        assert 3 <= len(unchanged) < len(first)
        for a, b in unchanged:
            np.testing.assert_array_equal(a.frames, b.frames)
        # a degradation drawn at the lower rate is kept, the same, at the higher
        for a, b in zip(first, more, strict=True):
            if a.meta[name] is not None:
                assert b.meta[name] == a.meta[name]
                np.testing.assert_array_equal(a.frames, b.frames)


def test_clean_presets_are_the_same_persons_without_any_degradation():
    clean, degraded_ = (SyntheticReID(**PRESETS[name], seed=0) for name in ("tiny_clean", "tiny"))
    assert {k: v for k, v in PRESETS["tiny_clean"].items() if k in ("num_ids", "seq_len")} == {
        k: v for k, v in PRESETS["tiny"].items() if k in ("num_ids", "seq_len")
    }
    for p in range(8):
        for c in range(2):
            a, b = clean.render(p, c), degraded_.render(p, c)
            assert all(a.meta[n] is None for n in DEGRADATIONS) and not a.degradation.any()
            assert a.visibility.min() >= 0.98 and np.all(a.visibility[a.person.sum((1, 2)) == a.area] == 1)
            np.testing.assert_array_equal(clean.identity(p).shirt, degraded_.identity(p).shirt)
            if not b.degradation.any() and all(b.meta[n] is None for n in DEGRADATIONS):
                np.testing.assert_array_equal(a.frames, b.frames)  # same person, same camera, same pictures
    for name in ("tiny", "quick", "small", "standard"):
        assert PRESETS[f"{name}_clean"]["num_ids"] == PRESETS[name]["num_ids"]


def test_bad_degradation_arguments_are_explained():
    with pytest.raises(ValueError, match="heavy_occlusion is the share.*found 1.2"):
        SyntheticReID(4, heavy_occlusion=1.2)
    with pytest.raises(ValueError, match="distractor_len must be \\(lo, hi\\).*found \\(0, 3\\)"):
        SyntheticReID(4, distractor_len=(0, 3))
    with pytest.raises(ValueError, match="needs another person.*num_ids=1"):
        SyntheticReID(1, distractors=0.5)
    with pytest.raises(ValueError, match="unknown degradation 'fog'"):
        degraded(np.zeros(3, np.uint8), "fog")
