"""The narrow channel between the grader and a sandboxed notebook: plain values and arrays, never pickle.

A message is one line of JSON (at most ``MAX_HEADER`` bytes) followed by ``blob`` bytes: an ``.npz``
archive, read with ``allow_pickle=False``, that holds the message's arrays. Values are encoded as JSON
trees: numbers, strings, ``None``, ``{"nd": key}`` (a numpy array), ``{"torch": key}`` (a tensor, sent as
its numpy array), ``{"tuple": [...]}``, ``{"list": [...]}``, ``{"dict": {...}}`` (string keys) and
``{"handle": id, "type": name}`` (an object that stays in the sandbox, such as an ``nn.Module``).

This module is copied into the sandbox next to the worker, so it imports only the standard library and
numpy (torch only when the value is a tensor).
"""

from __future__ import annotations

import io
import json
import sys

import numpy as np

MAX_HEADER = 1 << 20  # bytes of one JSON line
MAX_BLOB = 256 << 20  # bytes of the arrays of one message
MAX_STRING = 20_000  # characters of one string value


class ChannelError(Exception):
    """A message that breaks the protocol: too large, not JSON, an unknown kind of value."""


class Handle:
    """An object that lives in the sandbox, named by its id (the grader sees only this)."""

    def __init__(self, ident: int, type_name: str):
        self.ident, self.type_name = int(ident), str(type_name)[:200]

    def __repr__(self):
        return f"<{self.type_name} in the sandbox #{self.ident}>"


def _torch():
    return sys.modules.get("torch")


def encode(value, arrays: dict, keep=None):
    """``value`` -> a JSON tree; arrays go into ``arrays``. ``keep(obj) -> Handle`` stores other objects
    (the worker's side); without it they are an error."""
    torch = _torch()
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:MAX_STRING]
    if isinstance(value, np.generic):
        return encode(np.asarray(value), arrays, keep)
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ChannelError("an array of Python objects cannot be sent; send numbers")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"nd": key}
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        key = f"a{len(arrays)}"
        arrays[key] = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        return {"torch": key}
    if isinstance(value, (tuple, list)):
        return {"list" if isinstance(value, list) else "tuple": [encode(v, arrays, keep) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v, arrays, keep) for k, v in value.items()}}
    if isinstance(value, Handle):
        return {"handle": value.ident, "type": value.type_name}
    if keep is not None:
        h = keep(value)
        return {"handle": h.ident, "type": h.type_name}
    raise ChannelError(f"cannot send a value of type {type(value).__name__}")


def decode(tree, arrays, lookup=None, as_tensor=None):
    """A JSON tree -> the value. ``lookup(handle)`` turns a :class:`Handle` into an object (default: the
    handle itself); ``as_tensor(array)`` makes tensors (default: ``torch.from_numpy``)."""
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise ChannelError(f"unexpected value in a message: {str(tree)[:80]}")
    if "nd" in tree:
        return arrays[tree["nd"]]
    if "torch" in tree:
        array = arrays[tree["torch"]]
        if as_tensor is not None:
            return as_tensor(array)
        import torch

        return torch.from_numpy(np.array(array))
    if "tuple" in tree:
        return tuple(decode(v, arrays, lookup, as_tensor) for v in tree["tuple"])
    if "list" in tree:
        return [decode(v, arrays, lookup, as_tensor) for v in tree["list"]]
    if "dict" in tree:
        return {str(k): decode(v, arrays, lookup, as_tensor) for k, v in tree["dict"].items()}
    if "handle" in tree:
        handle = Handle(tree["handle"], tree.get("type", "object"))
        return lookup(handle) if lookup else handle
    raise ChannelError(f"unexpected value in a message: {str(tree)[:80]}")


def pack(message: dict, arrays: dict | None = None) -> bytes:
    """One message: its JSON line, then its arrays as an uncompressed .npz."""
    blob = b""
    if arrays:
        buf = io.BytesIO()
        np.savez(buf, allow_pickle=False, **arrays)
        blob = buf.getvalue()
    line = json.dumps({**message, "blob": len(blob)}).encode()
    if len(line) > MAX_HEADER:
        raise ChannelError(f"message header of {len(line)} bytes is over {MAX_HEADER}")
    return line + b"\n" + blob


def unpack_header(line: bytes) -> dict:
    try:
        header = json.loads(line)
    except (ValueError, UnicodeDecodeError) as e:
        raise ChannelError(f"not a JSON message ({e})") from None
    blob = header.get("blob") if isinstance(header, dict) else None
    if not isinstance(blob, int) or not 0 <= blob <= MAX_BLOB:
        raise ChannelError(f"a message must announce its arrays' size (0 to {MAX_BLOB} bytes); found {blob!r}")
    return header


def unpack_arrays(blob: bytes) -> dict:
    if not blob:
        return {}
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # a broken or hostile archive: its message is rejected, nothing runs
        raise ChannelError(f"unreadable arrays in a message ({type(e).__name__}: {e})") from None


def read_message(stream) -> tuple[dict, dict]:
    """Blocking read of one message from a binary stream -> (header, arrays); EOFError at the end."""
    line = stream.readline(MAX_HEADER + 1)
    if not line:
        raise EOFError("the channel was closed")
    if not line.endswith(b"\n"):
        raise ChannelError("message header too long or cut short")
    header = unpack_header(line)
    blob = stream.read(header["blob"]) if header["blob"] else b""
    if len(blob) != header["blob"]:
        raise EOFError("the channel was closed in the middle of a message")
    return header, unpack_arrays(blob)


class DeadlineReader:
    """The grader's side of a pipe: reads whole messages, each before a deadline (``time.monotonic()``)."""

    def __init__(self, fd: int):
        self.fd, self.buffer = fd, bytearray()

    def _fill(self, deadline: float) -> None:
        import os
        import select
        import time

        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([self.fd], [], [], wait)[0]:
            raise TimeoutError("no message before the deadline")
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            raise EOFError("the channel was closed")
        self.buffer += chunk

    def read(self, deadline: float) -> tuple[dict, dict]:
        """One message -> (header, arrays); TimeoutError past the deadline, EOFError when the sandbox ended."""
        while b"\n" not in self.buffer[: MAX_HEADER + 1]:
            if len(self.buffer) > MAX_HEADER:
                raise ChannelError("message header too long")
            self._fill(deadline)
        end = self.buffer.index(b"\n")
        header = unpack_header(bytes(self.buffer[:end]))
        total = end + 1 + header["blob"]
        while len(self.buffer) < total:
            self._fill(deadline)
        blob = bytes(self.buffer[end + 1 : total])
        del self.buffer[:total]
        return header, unpack_arrays(blob)
