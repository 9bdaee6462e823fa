"""Chapter 2: ordering frames, splitting persons, sampling training windows."""

from __future__ import annotations

import numpy as np
from scipy import stats

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
        # prefixes of different lengths: only the LAST number orders them
        (["shot2_f10.png", "shot10_f1.png", "shot2_f9.png"], ["shot10_f1.png", "shot2_f9.png", "shot2_f10.png"]),
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

    ``pids`` has one entry per tracklet, so persons repeat; the split must be of persons,
    ``round(train_fraction * persons)`` of them in training, drawn from ``rng`` so that every
    person is equally likely to be in training.
    """
    title = "split_persons"
    tracklet_pids = [p for p in range(12) for _ in range(2)] + [3, 7]  # 12 persons, 26 tracklets
    persons = set(tracklet_pids)
    seen, in_train, draws = set(), dict.fromkeys(persons, 0), 400
    for seed in range(draws):
        fraction = 0.5 if seed % 2 else 0.55  # 6 or round(6.6) = 7 training persons
        out = call(title, split_persons, list(tracklet_pids), fraction, np.random.default_rng(seed))
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
        want = round(fraction * len(persons))
        if len(train) != want:
            fail(
                title,
                f"{want} training persons (train_fraction {fraction} of the 12 persons)",
                f"{len(train)} training persons",
                "count persons, not tracklets: round(train_fraction * number of unique persons) go to training",
            )
        seen.add(tuple(sorted(train)))
        for p in train:
            in_train[p] += 1
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
    if len(seen) < 50:
        fail(
            title,
            "different splits for different seeds",
            f"only {len(seen)} distinct splits in {draws} seeds",
            "shuffle the persons with rng.permutation before cutting the list",
        )
    # Each person is in training with probability 6.5 / 12 per draw; counts outside these bounds
    # happen to a fair splitter with probability < 1e-7 (binomial tails, 12 persons).
    p = 6.5 / 12
    lo, hi = stats.binom.ppf(1e-8, draws, p), stats.binom.isf(1e-8, draws, p)
    biased = {k: v for k, v in in_train.items() if not lo <= v <= hi}
    if biased:
        fail(
            title,
            f"every person in training in about {p * draws:.0f} of {draws} splits",
            f"persons {sorted(biased)} in training {sorted(biased.values())} times",
            "every person must be equally likely to be chosen: shuffle all persons, then cut",
        )
    return passed(title, "Persons, not tracklets, are split, at random and reproducibly.")


def _window_starts(title: str, sample_window, num_frames: int, length: int, rng, draws: int) -> np.ndarray:
    starts = np.empty(draws, int)
    for i in range(draws):
        got = as_numpy(call(title, sample_window, num_frames, length, rng)).astype(int).reshape(-1)
        if got.shape != (length,):
            fail(title, f"{length} indices", f"{got.size} indices", "return exactly `length` frame indices")
        if got.min() < 0 or got.max() >= num_frames:
            fail(
                title,
                f"indices in [0, {num_frames})",
                got.tolist(),
                "the last valid start is num_frames - length",
            )
        if not np.all(np.diff(got) == 1):
            fail(title, "consecutive indices", got.tolist(), "np.arange(start, start + length)")
        starts[i] = got[0]
    return starts


def check_sample_window(sample_window) -> bool:
    """Check ``sample_window(num_frames, length, rng) -> indices (length,)``: consecutive frames from a
    uniformly random start; a sequence shorter than ``length`` is looped (0, 1, .., T-1, 0, 1, ..).

    Uniformity is a chi-square test on the starts of many windows (fixed seeds); a fair sampler
    fails it with probability below 1e-7, and so does one that is too regular to be random.
    """
    title = "sample_window"
    for n, length, draws, seed in [(20, 16, 1000, 0), (40, 16, 2500, 1)]:
        starts = _window_starts(title, sample_window, n, length, np.random.default_rng(seed), draws)
        positions = n - length + 1
        counts = np.bincount(starts, minlength=positions)
        missing = np.flatnonzero(counts == 0).tolist()
        if missing:
            fail(
                title,
                f"every start 0 .. {positions - 1} of a {n}-frame video (length {length}) to occur",
                f"starts {missing} never drawn",
                "rng.integers(low, high) excludes high: use rng.integers(0, num_frames - length + 1)",
            )
        chi2 = float(((counts - draws / positions) ** 2 / (draws / positions)).sum())
        df = positions - 1
        if chi2 > stats.chi2.isf(1e-7, df):
            worst = int(np.argmax(np.abs(counts - draws / positions)))
            fail(
                title,
                f"about {draws / positions:.0f} draws of each start 0 .. {positions - 1} in {draws} windows "
                f"of a {n}-frame video",
                f"start {worst} drawn {counts[worst]} times (chi-square {chi2:.0f}, df {df})",
                "draw the start uniformly: rng.integers(0, num_frames - length + 1); clipping a wider draw "
                "(min(start, num_frames - length)) piles the extra draws onto the last start",
            )
        if chi2 < stats.chi2.ppf(1e-7, df):
            fail(
                title,
                "random starts",
                f"counts too even to be random: {counts.tolist()}",
                "draw the start from the rng you are given instead of cycling through the starts",
            )
    again = [_window_starts(title, sample_window, 40, 16, np.random.default_rng(s), 20) for s in (7, 7, 8)]
    if not np.array_equal(again[0], again[1]) or np.array_equal(again[0], again[2]):
        fail(
            title,
            "the same windows from two generators with the same seed, others from another seed",
            "windows that do not follow the rng",
            "draw every random choice from the rng you are given (not np.random or random)",
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
