"""The channel between the grader and a sandboxed notebook (tools/grading/channel.py): plain values and
arrays go through unchanged, anything else is refused, and nothing is ever unpickled."""

from __future__ import annotations

import io
import json
import os
import pickle
import time

import numpy as np
import pytest
import torch

from tools.grading import channel

pytestmark = pytest.mark.course  # the course's grading: left out of make test-fast


def _round_trip(value):
    arrays: dict = {}
    tree = channel.encode(value, arrays)
    data = channel.pack({"value": tree}, arrays)
    header, got = channel.read_message(io.BytesIO(data))
    return channel.decode(header["value"], got)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("inf"),
        "text",
        (1, [2.0, "x"], {"a": None}),
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.array([[True, False]]),
        np.float32(1.5),
    ],
    ids=repr,
)
def test_plain_values_and_arrays_come_back_equal(value):
    got = _round_trip(value)
    if isinstance(value, (np.ndarray, np.generic)):
        assert np.asarray(got).dtype == np.asarray(value).dtype and np.array_equal(got, value)
    else:
        assert got == value and type(got) is type(value)


def test_tensors_come_back_as_tensors_of_the_same_dtype_and_values():
    for t in (torch.randn(2, 3), torch.tensor([[True, False]]), torch.arange(5)):
        got = _round_trip(t)
        assert isinstance(got, torch.Tensor) and got.dtype == t.dtype and torch.equal(got, t)


def test_nan_survives():
    assert np.isnan(_round_trip(float("nan")))


def test_objects_are_refused_unless_kept_as_handles():
    class Thing:
        pass

    with pytest.raises(channel.ChannelError, match="cannot send a value of type Thing"):
        channel.encode(Thing(), {})
    with pytest.raises(channel.ChannelError, match="Python objects"):
        channel.encode(np.array([Thing()], dtype=object), {})
    kept = channel.encode([Thing()], {}, keep=lambda obj: channel.Handle(7, type(obj).__name__))
    assert kept == {"list": [{"handle": 7, "type": "Thing"}]}
    handle = channel.decode(kept, {})[0]
    assert isinstance(handle, channel.Handle) and handle.ident == 7


def test_a_pickled_array_is_never_loaded():
    """An .npz holding an object array (which needs pickle) is refused, so no code in it can run."""

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo should never run",))

    buf = io.BytesIO()
    np.savez(buf, a0=np.array([Boom()], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    data = json.dumps({"value": {"nd": "a0"}, "blob": len(blob)}).encode() + b"\n" + blob
    with pytest.raises(channel.ChannelError, match="unreadable arrays"):
        channel.read_message(io.BytesIO(data))
    with pytest.raises(channel.ChannelError):
        channel.unpack_arrays(pickle.dumps([1, 2]))


@pytest.mark.parametrize(
    "line",
    [b"not json\n", b'{"value": 1}\n', b'{"blob": -1}\n', b'{"blob": 1e12}\n', b"[1, 2]\n"],
)
def test_broken_headers_are_refused(line):
    with pytest.raises(channel.ChannelError):
        channel.read_message(io.BytesIO(line))


def test_a_header_without_an_end_is_refused():
    with pytest.raises(channel.ChannelError, match="too long"):
        channel.read_message(io.BytesIO(b"x" * (channel.MAX_HEADER + 10)))


def test_the_deadline_reader_reads_messages_split_across_writes_and_times_out():
    r, w = os.pipe()
    try:
        arrays: dict = {}
        big = np.random.default_rng(0).random((300, 300))  # larger than a pipe's buffer
        data = channel.pack({"value": channel.encode(big, arrays)}, arrays)
        import threading

        def writer():
            for i in range(0, len(data), 1000):
                os.write(w, data[i : i + 1000])

        threading.Thread(target=writer).start()
        header, got = channel.DeadlineReader(r).read(time.monotonic() + 10)
        assert np.array_equal(channel.decode(header["value"], got), big)
        with pytest.raises(TimeoutError):
            channel.DeadlineReader(r).read(time.monotonic() + 0.2)
    finally:
        os.close(r)
        os.close(w)
