"""Runs inside the sandbox: executes a submission's code cells, then answers the grader's calls.

Usage (by :mod:`tools.grading.run` only): ``python -S -B worker.py [SKIP]``: the cells are in
``job.json`` beside this file; SKIP lists (comma-separated) the cells not to run, those that ran past a
limit in an earlier start. Standard input
and output carry the channel (:mod:`channel`); everything the notebook prints goes to standard error.
Nothing here is trusted by the grader: a notebook may replace any of it, and can only spoil its own
answers by doing so. The grader decides every verdict from the values it receives.

Messages out: ``{"cell": i, "start": true}`` before cell ``i``, ``{"cell": i, "error": ...}`` after it,
``{"ready": true}`` when the notebook has run, then one reply per request. Requests:
``{"op": "describe", "names": [...]}``, ``{"op": "call", "target": name or handle id, "method": None or
name, "args": ..., "kwargs": ...}``, ``{"op": "is_module", "target": id}``,
``{"op": "unused_parameters", "target": id, "args": ...}``.
"""

from __future__ import annotations

import json
import os
import sys


def _channel_fds():
    """Move the channel off fds 0 and 1: the notebook's prints go to stderr, its input is empty."""
    out = os.fdopen(os.dup(1), "wb")  # buffered: whole messages, flushed one by one
    inp = os.fdopen(os.dup(0), "rb")  # buffered: read(n) returns n bytes, however the pipe splits them
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    return inp, out


def _error(e: BaseException) -> dict:
    return {"type": type(e).__name__, "message": str(e)[:2000]}


class Worker:
    def __init__(self, inp, out):
        import channel

        self.ch, self.inp, self.out = channel, inp, out
        self.objects: dict[int, object] = {}

    def send(self, message: dict, value=None, has_value=False):
        arrays = {}
        if has_value:
            try:
                message["value"] = self.ch.encode(value, arrays, keep=self.keep)
            except Exception as e:
                message, arrays = {"error": _error(e)}, {}
        self.out.write(self.ch.pack(message, arrays))
        self.out.flush()

    def keep(self, obj):
        ident = len(self.objects) + 1
        self.objects[ident] = obj
        return self.ch.Handle(ident, type(obj).__name__)

    def lookup(self, handle):
        if handle.ident not in self.objects:
            raise KeyError(f"no object #{handle.ident} in the sandbox")
        return self.objects[handle.ident]

    def run_cells(self, cells: list[str], skip: set[int]):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        self.shell = InteractiveShell.instance(config=config)
        for i, source in enumerate(cells):
            if i in skip:
                continue
            self.send({"cell": i, "start": True})
            result = self.shell.run_cell(source, store_history=False)
            error = result.error_in_exec or result.error_before_exec
            self.send({"cell": i, "error": _error(error) if error else None})
        self.send({"ready": True})

    def describe(self, name: str) -> str:
        ns = self.shell.user_ns
        if name not in ns:
            return "missing"
        value = ns[name]
        if value is None:
            return "none"
        if value is Ellipsis:
            return "ellipsis"
        return "callable" if callable(value) else f"type:{type(value).__name__}"

    def call(self, header: dict, arrays: dict):
        args = self.ch.decode(header.get("args", {"tuple": []}), arrays, self.lookup)
        kwargs = self.ch.decode(header.get("kwargs", {"dict": {}}), arrays, self.lookup)
        target = header["target"]
        obj = self.lookup(self.ch.Handle(target, "")) if isinstance(target, int) else self.shell.user_ns[target]
        if header.get("method"):
            obj = getattr(obj, header["method"])
        return obj(*args, **kwargs)

    def unused_parameters(self, header: dict, arrays: dict) -> list[str]:
        """Names of the parameters that get no gradient from ``module(*args).sum()``."""
        module = self.lookup(self.ch.Handle(header["target"], ""))
        args = self.ch.decode(header.get("args", {"tuple": []}), arrays, self.lookup)
        module.zero_grad(set_to_none=True)
        module(*args).sum().backward()
        return [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]

    def serve(self):
        while True:
            try:
                header, arrays = self.ch.read_message(self.inp)
            except EOFError:
                return
            op = header.get("op")
            try:
                if op == "describe":
                    self.send({"ok": True}, [self.describe(str(n)) for n in header["names"]], True)
                elif op == "call":
                    self.send({"ok": True}, self.call(header, arrays), True)
                elif op == "is_module":
                    torch = sys.modules.get("torch")
                    obj = self.lookup(self.ch.Handle(header["target"], ""))
                    self.send({"ok": True}, bool(torch and isinstance(obj, torch.nn.Module)), True)
                elif op == "unused_parameters":
                    self.send({"ok": True}, self.unused_parameters(header, arrays), True)
                else:
                    self.send({"error": {"type": "ValueError", "message": f"unknown request {op!r}"}})
            except BaseException as e:  # the student's exception (SystemExit too) goes back as data
                self.send({"error": _error(e)})


def main() -> None:
    inp, out = _channel_fds()
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "job.json")) as f:
        job = json.load(f)
    worker = Worker(inp, out)
    skip = {int(i) for i in sys.argv[1].split(",") if i} if len(sys.argv) > 1 else set()
    worker.run_cells(job["cells"], skip)
    worker.serve()


if __name__ == "__main__":
    main()
