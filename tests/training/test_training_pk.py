"""PK batches: composition, every person once per epoch, determinism, windows across cameras."""

from collections import Counter

import numpy as np
import pytest

from reidlib.data import Tracklet
from reidlib.training import PKSampler

# pid -> (number of cameras, tracklets per camera, frames per tracklet)
PERSONS = {3: (1, 1, 20), 5: (2, 1, 30), 8: (3, 2, 18), 9: (2, 3, 40), 12: (4, 1, 10), 20: (2, 1, 25), 21: (3, 1, 16)}


def _tracklets():
    frames = {n: np.zeros((n, 2, 2, 3), np.uint8) for n in {v[2] for v in PERSONS.values()}}
    return [
        Tracklet(pid, cam, frames[n], meta={"copy": c})
        for pid, (cams, copies, n) in PERSONS.items()
        for cam in range(cams)
        for c in range(copies)
    ]


def _key(batches):
    return [([id(t) for t in b.tracklets], [ix.tolist() for ix in b.indices], b.aug_seeds.tolist()) for b in batches]


@pytest.mark.parametrize("p, sizes", [(3, [3, 4]), (2, [2, 2, 3]), (4, [4, 3]), (7, [7]), (9, [7])])
def test_every_person_once_per_epoch_in_batches_of_p(p, sizes):
    sampler = PKSampler(_tracklets(), p=p, k=4, window=16, seed=1)
    for epoch in range(3):
        batches = sampler.epoch(epoch)
        assert len(batches) == len(sampler) == len(sizes)
        assert sorted(len(set(b.pids)) for b in batches) == sorted(sizes)  # 7 persons; a lone one joins the last
        seen = [pid for b in batches for pid in dict.fromkeys(b.pids)]
        assert sorted(seen) == sorted(PERSONS)  # each person exactly once
        for b in batches:
            assert len(b) == 4 * len(set(b.pids))
            counts = Counter(b.pids.tolist())
            assert set(counts.values()) == {4}
            assert all(b.pids[i] == b.pids[i - i % 4] for i in range(len(b)))  # person-major
            np.testing.assert_array_equal(b.labels, [sorted(PERSONS).index(pid) for pid in b.pids])
            for t, ix in zip(b.tracklets, b.indices, strict=True):
                assert len(ix) == 16 and ix.min() >= 0 and ix.max() < len(t)
                if len(t) >= 16:
                    np.testing.assert_array_equal(ix, np.arange(ix[0], ix[0] + 16))  # consecutive frames
                else:
                    np.testing.assert_array_equal(ix, np.arange(16) % len(t))  # "repeat" loops short ones


def test_windows_come_from_every_camera_in_turn():
    sampler = PKSampler(_tracklets(), p=7, k=4, seed=0)
    (batch,) = sampler.epoch(0)
    cams = {pid: Counter() for pid in PERSONS}
    for t in batch.tracklets:
        cams[t.pid][t.camid] += 1
    for pid, (num_cams, _, _) in PERSONS.items():
        if num_cams >= 4:
            assert len(cams[pid]) == 4  # K distinct cameras
        else:
            assert len(cams[pid]) == num_cams  # all of them, as evenly as K allows
            assert max(cams[pid].values()) - min(cams[pid].values()) <= 1
    copies = {t.meta["copy"] for e in range(20) for t in sampler.epoch(e)[0].tracklets if t.pid == 9}
    assert copies == {0, 1, 2}  # any tracklet of a camera can be drawn


def test_an_epoch_depends_only_on_seed_and_epoch():
    ts = _tracklets()
    a, b = PKSampler(ts, 3, 2, seed=5), PKSampler(ts, 3, 2, seed=5)
    assert _key(a.epoch(4)) == _key(b.epoch(4)) == _key(a.epoch(4))
    assert _key(a.epoch(4)) != _key(a.epoch(5))
    assert _key(a.epoch(4)) != _key(PKSampler(ts, 3, 2, seed=6).epoch(4))


def test_bad_settings_are_explained():
    ts = _tracklets()
    with pytest.raises(ValueError, match="p >= 2 persons and k >= 1 windows per batch; found p=1, k=4"):
        PKSampler(ts, 1, 4)
    with pytest.raises(ValueError, match="found p=2, k=0"):
        PKSampler(ts, 2, 0)
    with pytest.raises(ValueError, match="at least 2 training persons .*found 1 in 2 tracklets"):
        PKSampler([t for t in ts if t.pid == 5], 2, 2)
