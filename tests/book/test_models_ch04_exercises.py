"""Chapter 4 checks: right answers pass, wrong answers and stubs get a clear CheckFailed."""

import math

import pytest

from reidlib.exercises import CheckFailed, check_conv_cost, check_output_size


def right_size(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride + 1


def test_output_size_accepts_the_formula(capsys):
    assert check_output_size(right_size)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda n, k, stride=1, padding=0: (n + padding - k) // stride + 1, "BOTH sides"),
        (lambda n, k, stride=1, padding=0: (n + 2 * padding - k) // stride, r"\+ 1"),
        (lambda n, k, stride=1, padding=0: math.ceil((n + 2 * padding - k) / stride) + 1, "round down"),
        (lambda n, k, stride=1, padding=0: (n + 2 * padding - k) / stride + 1, "an int"),
    ],
)
def test_output_size_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_output_size(wrong)


def test_output_size_stub_is_reported():
    def stub(size, kernel, stride=1, padding=0):
        raise NotImplementedError("write the formula")

    with pytest.raises(CheckFailed, match="not implemented yet. write the formula"):
        check_output_size(stub)


def test_conv_cost_accepts_the_right_counts(capsys):
    assert check_conv_cost(lambda i, o, k, h, w: (o * (i * k * k + 1), h * w * o * i * k * k))
    assert "2,016 parameters" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda i, o, k, h, w: (o * i * k * k, h * w * o * i * k * k), "bias"),
        (lambda i, o, k, h, w: (o * (i * k * k + 1), h * w * o * k * k), r"(?s)macs = 5280000.*every output value"),
        (lambda i, o, k, h, w: o * (i * k * k + 1), "a pair"),
    ],
)
def test_conv_cost_explains_wrong_answers(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_conv_cost(wrong)


def test_conv_cost_stub_is_reported():
    def stub(i, o, k, h, w):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_conv_cost(stub)
