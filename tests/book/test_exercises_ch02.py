"""Chapter 2 checks: right answers pass, wrong answers and stubs get a clear CheckFailed."""

import re

import numpy as np
import pytest

from reidlib.data import frame_number, make_splits, sample_window
from reidlib.exercises import CheckFailed, check_sample_window, check_sort_frames, check_split_persons


def stub(*args):
    raise NotImplementedError("write this function")


def test_sort_frames_right_and_wrong(capsys):
    assert check_sort_frames(lambda names: sorted(names, key=frame_number))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="(?s)expected: \\['f1.png', 'f9.png'.*as text"):
        check_sort_frames(sorted)
    first_number = lambda names: sorted(names, key=lambda n: int(re.findall(r"\d+", n)[0]))
    with pytest.raises(CheckFailed, match="LAST run of digits"):
        check_sort_frames(first_number)
    with pytest.raises(CheckFailed, match="not implemented yet. write this function"):
        check_sort_frames(stub)


def _right_split(pids, train_fraction, rng):
    s = make_splits(sorted(set(pids)), num_splits=1, train_fraction=train_fraction, seed=int(rng.integers(2**31)))[0]
    return s["train"], s["test"]


def test_split_persons_right_and_wrong(capsys):
    assert check_split_persons(_right_split)
    assert "correct" in capsys.readouterr().out

    def split_tracklets(pids, fraction, rng):  # the leak the exercise is about
        order = rng.permutation(len(pids))
        cut = int(round(fraction * len(pids)))
        return [pids[i] for i in order[:cut]], [pids[i] for i in order[cut:]]

    with pytest.raises(CheckFailed, match="(?s)in train and test.*split the unique persons"):
        check_split_persons(split_tracklets)

    def not_random(pids, fraction, rng):
        persons = sorted(set(pids))
        cut = round(fraction * len(persons))
        return persons[:cut], persons[cut:]

    with pytest.raises(CheckFailed, match="only 2 distinct splits in 400 seeds"):
        check_split_persons(not_random)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_split_persons(stub)


def test_sample_window_right_and_wrong(capsys):
    assert check_sample_window(sample_window)
    assert "correct" in capsys.readouterr().out

    def off_by_one(n, length, rng):
        if n <= length:
            return np.arange(length) % n
        start = rng.integers(0, n - length)  # never the last start
        return np.arange(start, start + length)

    with pytest.raises(CheckFailed, match="(?s)starts \\[4\\] never drawn.*excludes high"):
        check_sample_window(off_by_one)

    def pads_with_zeros(n, length, rng):
        if n >= length:
            return sample_window(n, length, rng)
        return np.r_[np.arange(n), np.zeros(length - n, int)]

    with pytest.raises(CheckFailed, match="(?s)expected: \\[0, 1, 2, 3, 4, 0, 1.*looped"):
        check_sample_window(pads_with_zeros)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_sample_window(stub)
