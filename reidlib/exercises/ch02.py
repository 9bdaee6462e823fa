"""Chapter 2: ordering frames, splitting persons, sampling training windows."""

from __future__ import annotations

import numpy as np

from ._core import as_numpy, call, fail, passed


def check_sort_frames(sort_frames) -> bool:
    """Check ``sort_frames(names: list[str]) -> list[str]``: temporal order, by the last number in each name."""
    title = "sort_frames"
    rng = np.random.default_rng(0)
    ilids = [f"cam1_person001_{i:05d}.png" for i in (317, 99, 100, 1000, 5)]
    cases = [
        (["f10.png", "f9.png", "f100.png", "f1.png"], ["f1.png", "f9.png", "f10.png", "f100.png"]),
        (ilids, sorted(ilids, key=lambda n: int(n[-9:-4]))),
        ([f"{n}.jpg" for n in rng.permutation(30)], [f"{n}.jpg" for n in range(30)]),
    ]
    for names, want in cases:
        got = call(title, sort_frames, list(names))
        got = [str(g) for g in got] if isinstance(got, (list, tuple)) else got
        if got == want:
            continue
        if got == sorted(names):
            hint = "you sorted the names as text, where '10' < '9'; sort by the number in the name instead"
        elif isinstance(got, list) and sorted(got) != sorted(names):
            hint = "return the same names, only reordered"
        else:
            hint = "take the LAST run of digits in each name (re.findall(r'\\d+', name)[-1]) as an int, and sort by it"
        fail(title, want, got, hint)
    return passed(title, "Frames are in temporal order, whatever the directory listing says.")


def _ids(side) -> set[int]:
    """A side of a split (list, array, tensor or set) as a set of ints."""
    items = list(side) if isinstance(side, (set, frozenset)) else as_numpy(side).reshape(-1)
    return {int(p) for p in items}


def check_split_persons(split_persons) -> bool:
    """Check ``split_persons(pids, train_fraction, rng) -> (train_pids, test_pids)``.

    ``pids`` has one entry per tracklet, so persons repeat; the split must be of persons."""
    title = "split_persons"
    tracklet_pids = [p for p in range(12) for _ in range(2)] + [3, 7]  # 12 persons, 26 tracklets
    persons = set(tracklet_pids)
    seen = set()
    for seed in range(30):
        out = call(title, split_persons, list(tracklet_pids), 0.5, np.random.default_rng(seed))
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(title, "a pair (train_pids, test_pids)", out, "return two lists")
        train, test = _ids(out[0]), _ids(out[1])
        if train & test:
            fail(
                title,
                "no person on both sides",
                f"persons {sorted(train & test)} in train and test",
                "split the unique persons (set(pids)), not the tracklets: the same person must never be "
                "in training and in testing",
            )
        if train | test != persons:
            fail(
                title,
                f"every person on one side: {sorted(persons)}",
                f"{sorted(train | test)}",
                "every person of the dataset goes to train or to test",
            )
        if len(train) != 6:
            fail(
                title,
                "6 training persons (half of the 12 persons)",
                f"{len(train)} training persons",
                "count persons, not tracklets: round(train_fraction * number of unique persons)",
            )
        seen.add(tuple(sorted(train)))
    first, second = (
        _ids(call(title, split_persons, list(tracklet_pids), 0.5, np.random.default_rng(0))[0]) for _ in range(2)
    )
    if first != second:
        fail(
            title,
            "the same split for the same seed",
            "two different splits from rng seed 0",
            "draw every random choice from the rng you are given",
        )
    if len(seen) < 10:
        fail(
            title,
            "different splits for different seeds",
            f"only {len(seen)} distinct splits in 30 seeds",
            "shuffle the persons with rng.permutation before cutting the list",
        )
    return passed(title, "Persons, not tracklets, are split, at random and reproducibly.")


def check_sample_window(sample_window) -> bool:
    """Check ``sample_window(num_frames, length, rng) -> indices (length,)``: consecutive frames from a
    uniformly random start; a sequence shorter than ``length`` is looped (0, 1, .., T-1, 0, 1, ..)."""
    title = "sample_window"
    rng = np.random.default_rng(0)
    starts = []
    for _ in range(300):
        got = as_numpy(call(title, sample_window, 20, 16, rng)).astype(int).reshape(-1)
        if got.shape != (16,):
            fail(title, "16 indices", f"{got.size} indices", "return exactly `length` frame indices")
        if got.min() < 0 or got.max() >= 20:
            fail(title, "indices in [0, 20)", got.tolist(), "the last valid start is num_frames - length")
        if not np.all(np.diff(got) == 1):
            fail(title, "consecutive indices", got.tolist(), "np.arange(start, start + length)")
        starts.append(int(got[0]))
    missing = sorted(set(range(5)) - set(starts))
    if missing:
        fail(
            title,
            "every start 0 .. 4 of a 20-frame video (length 16) to occur",
            f"starts {missing} never drawn",
            "rng.integers(low, high) excludes high: use rng.integers(0, num_frames - length + 1)",
        )
    for n, length, want in [(16, 16, np.arange(16)), (5, 16, np.arange(16) % 5), (1, 4, np.zeros(4, int))]:
        got = as_numpy(call(title, sample_window, n, length, np.random.default_rng(1))).astype(int).reshape(-1)
        if got.shape != want.shape or not np.array_equal(got, want):
            fail(
                title,
                want.tolist(),
                got.tolist(),
                "a sequence no longer than the window is used whole, looped to fill it: np.arange(length) % num_frames",
            )
    return passed(title, "Windows are consecutive, uniformly placed, and short videos are looped.")
