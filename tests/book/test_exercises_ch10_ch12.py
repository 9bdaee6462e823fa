import math

import numpy as np
import pytest
import torch

from reidlib.book.exercises.ch11 import fcn_encoder_macs, lstm_attention_macs
from reidlib.data import load_dataset
from reidlib.exercises import (
    CheckFailed,
    check_fcn_macs,
    check_ilidsvid_path,
    check_least_trusted,
    check_lstm_macs,
    check_pearson,
    check_training_hours,
)
from reidlib.models import FCNTemporalAttention, RNNTemporalAttention, count_macs
from reidlib.training import PairSampler


def stub(*args):
    raise NotImplementedError("write this function")


# ---------------------------------------------------------------- chapter 10
def test_least_trusted_right_and_wrong(capsys):
    assert check_least_trusted(lambda s, k: np.argsort(s, kind="stable")[:k])
    assert "correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="most trusted frames"):
        check_least_trusted(lambda s, k: np.argsort(-s, kind="stable")[:k])
    with pytest.raises(CheckFailed, match=r"(?s)expected: \[1, 3\].*returned: \[3, 1\].*wrong order"):
        check_least_trusted(lambda s, k: np.argsort(s, kind="stable")[:k][::-1])
    with pytest.raises(CheckFailed, match="2 frame indices"):
        check_least_trusted(lambda s, k: np.argsort(s))
    with pytest.raises(CheckFailed, match="not implemented yet. write this function"):
        check_least_trusted(stub)


def test_pearson_right_and_wrong(capsys):
    assert check_pearson(lambda a, b: np.corrcoef(a, b)[0, 1])
    assert "correct" in capsys.readouterr().out
    cosine = lambda a, b: a @ b / np.sqrt((a @ a) * (b @ b))
    with pytest.raises(CheckFailed, match="subtract the means"):
        check_pearson(cosine)
    with pytest.raises(CheckFailed, match="one number"):
        check_pearson(lambda a, b: "high")
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_pearson(stub)


# ---------------------------------------------------------------- chapter 11
@pytest.mark.parametrize("n", [1, 2, 7, 16, 33])
@pytest.mark.parametrize("windows,hidden", [((5, 3), 64), ((3,), 8), ((5, 3, 3), 16)])
def test_fcn_macs_formula_matches_the_counted_module(n, windows, hidden):
    fcn = FCNTemporalAttention(32, windows=windows, hidden=hidden)
    total = count_macs(fcn, torch.zeros(1, n, 32))
    cells = -(-n // 2 ** len(windows))  # coarse cells after the poolings
    upsample = (cells + 2) * 2 * 2 ** len(windows)  # the final deconv: (M + 2) x kernel 2f
    assert fcn_encoder_macs(n, 32, hidden, windows) == total - upsample


@pytest.mark.parametrize("n,d,hidden", [(1, 128, 64), (16, 128, 64), (50, 8, 3)])
def test_lstm_macs_formula_matches_the_counted_module(n, d, hidden):
    module = RNNTemporalAttention(d, hidden=hidden, cell="lstm")
    assert lstm_attention_macs(n, d, hidden) == count_macs(module, torch.zeros(1, n, d))


def test_fcn_macs_right_and_wrong(capsys):
    def right(n, d=128, hidden=64, windows=(5, 3)):
        total, length, c = 0, n, d
        for w in windows:
            total, length, c = total + length * c * hidden * w, math.ceil(length / 2), hidden
        return total + length * c

    def floor(n, d=128, hidden=64, windows=(5, 3)):
        total, length, c = 0, n, d
        for w in windows:
            total, length, c = total + length * c * hidden * w, length // 2, hidden
        return total + length * c

    assert check_fcn_macs(right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="rounded up|halve with ceil"):
        check_fcn_macs(floor)
    with pytest.raises(CheckFailed, match="add the 1x1 score conv"):
        check_fcn_macs(lambda n, d, h, w: right(n, d, h, w) - math.ceil(n / 2 ** len(w)) * h)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_fcn_macs(stub)


def test_lstm_macs_right_and_wrong(capsys):
    assert check_lstm_macs(lambda n, d, h: n * (4 * h * (d + h) + h))
    assert "correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="add the score layer"):
        check_lstm_macs(lambda n, d, h: n * 4 * h * (d + h))
    with pytest.raises(CheckFailed, match="4 gates"):
        check_lstm_macs(lambda n, d, h: n * (h * (d + h) + h))
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_lstm_macs(stub)


# ---------------------------------------------------------------- chapter 12
def test_ilidsvid_path_right_and_wrong(capsys):
    right = lambda p, c, f: f"i-LIDS-VID/sequences/cam{c + 1}/person{p:03d}/cam{c + 1}_person{p:03d}_{f:05d}.png"
    assert check_ilidsvid_path(right)
    assert "correct" in capsys.readouterr().out
    zero_based = lambda p, c, f: f"i-LIDS-VID/sequences/cam{c}/person{p:03d}/cam{c}_person{p:03d}_{f:05d}.png"
    with pytest.raises(CheckFailed, match="camid 0 is cam1"):
        check_ilidsvid_path(zero_based)
    short = lambda p, c, f: f"i-LIDS-VID/sequences/cam{c + 1}/person{p}/cam{c + 1}_person{p}_{f:05d}.png"
    with pytest.raises(CheckFailed, match="3 digits"):
        check_ilidsvid_path(short)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_ilidsvid_path(stub)


def test_ilidsvid_path_truth_is_read_back_by_the_loader(tmp_path):
    import cv2

    from reidlib.book.exercises.ch12 import ilidsvid_frame_path

    for pid in (1, 2, 3):
        for cam in (0, 1):
            for frame in (30, 4, 12):  # written out of order: the loader sorts by frame number
                path = tmp_path / ilidsvid_frame_path(pid, cam, frame)
                path.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(path), np.full((128, 64, 3), frame, np.uint8))
    with pytest.warns(UserWarning, match="official splits"):
        ds = load_dataset("ilidsvid", root=tmp_path)
    assert ds.pids == [1, 2, 3] and len(ds.tracklets) == 6
    t = ds.tracklets[0]
    assert (t.pid, t.camid) == (1, 0) and [p.name for p in t.frames] == [
        "cam1_person001_00004.png",
        "cam1_person001_00012.png",
        "cam1_person001_00030.png",
    ]


def test_training_hours_truth_counts_the_pair_sampler():
    ds = load_dataset("synthetic", preset="tiny", seed=0)
    train, _, _ = ds.split(0)
    sampler = PairSampler(train, seed=0)
    from reidlib.book.exercises.ch12 import training_hours

    persons = len(sampler.pids)
    for batch in (1, 3):
        steps = math.ceil(len(sampler) / batch)
        assert training_hours(5, persons, 2.0, batch, 1) == pytest.approx(5 * steps * 2.0 / 3600)


def test_training_hours_right_and_wrong(capsys):
    right = lambda e, p, s, b=1, n=10: n * e * math.ceil(2 * p / b) * s / 3600
    assert check_training_hours(right)
    assert "correct" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="2 pairs per person"):
        check_training_hours(lambda e, p, s, b=1, n=10: n * e * math.ceil(p / b) * s / 3600)
    with pytest.raises(CheckFailed, match="divide by 3600"):
        check_training_hours(lambda e, p, s, b=1, n=10: n * e * math.ceil(2 * p / b) * s)
    with pytest.raises(CheckFailed, match="round the steps per epoch up"):
        check_training_hours(lambda e, p, s, b=1, n=10: n * e * 2 * p / b * s / 3600)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_training_hours(stub)
