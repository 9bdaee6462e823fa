"""A small Sphinx extension for the book's build, loaded by _config.yml (sphinx: local_extensions).

* Sphinx 7.4 keeps two copies of an inline script that an extension adds once the builder
  exists (one named ``None`` from the registry, one named ``''``), so every page declared
  sphinx-thebe's ``const THEBE_JS_URL`` twice and logged a SyntaxError. Each page keeps the
  first copy of each script (:func:`dedupe_scripts`).
* Notebook execution could stall for the whole cell timeout (600 s) on a cell with an
  explorer; :func:`bound_lost_wakeups` limits each such stall to half a second.
"""

from __future__ import annotations

import time
from queue import Empty

POLL_SLICE = 0.5  # seconds: the longest a lost wake-up can delay a reply


def bound_lost_wakeups() -> None:
    """Make jupyter_client's asyncio channels wait for a message in slices of POLL_SLICE seconds.

    The stall: nbclient mirrors every ipywidgets Output widget (each explorer, through
    ``ipywidgets.interactive``) and sends its state back to the kernel on the shell channel
    while it awaits the cell's execute_reply on that same channel. jupyter_client's
    ``Session.send`` sends through a synchronous shadow of the asyncio socket, bypassing
    pyzmq's asyncio bookkeeping; when the reply arrives while that send runs, the send
    consumes the socket's edge-triggered ZMQ_FD signal and the waiting poll is never woken.
    The reply then sits in the socket until the poll's timeout, the cell timeout, and the
    build goes on as if nothing happened (jupyter/nbclient#312, jupyter/jupyter_client#1059,
    both open). Each slice here ends with a real zmq poll, which finds such a reply.
    Idempotent; changes nothing else.
    """
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "bounded", False):
        return

    async def get_msg(self, timeout: float | None = None) -> dict:
        """Gets a message if there is one that is ready (within ``timeout`` seconds; None: wait)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
            if await self.socket.poll(int(left * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    get_msg.bounded = True
    AsyncZMQSocketChannel.get_msg = get_msg


def dedupe_scripts(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Drop repeated scripts (same file or body, priority and attributes) from a page's context."""
    seen, kept = set(), []
    for js in context.get("script_files", []):
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", 500), tuple(sorted(attrs.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def setup(app) -> dict:
    bound_lost_wakeups()  # before myst-nb executes the notebooks, in this same process
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
