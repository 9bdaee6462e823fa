"""The book build's helpers: the bound on lost wake-ups (tools/book_sphinx.py), the per-notebook
execution times (tools/book_times.py) and the stress tool's timing summary (tools/stress_build.py)."""

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from tools import book_sphinx, book_times, stress_build

TESTS = Path(__file__).resolve().parent


async def reply_delay(timeout: float = 5.0) -> float:
    """Seconds until a client awaiting a reply sees it, when the reply arrives while the client sends
    on the same channel (nbclient syncing an Output widget): the scenario of the book build's stall."""
    ctx = zmq.asyncio.Context()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    session = Session(key=b"secret")
    channel = AsyncZMQSocketChannel(dealer, session)
    try:
        channel.send(session.msg("execute_request", {}))
        ident = (await router.recv_multipart())[0]
        waiting = asyncio.ensure_future(channel.get_msg(timeout=timeout))  # nbclient awaits the reply
        await asyncio.sleep(0.2)
        session.send(router, "execute_reply", {"status": "ok"}, ident=[ident])  # the kernel replies...
        time.sleep(0.3)  # ...while the client's loop is busy (encoding a widget's state): the reply arrives
        channel.send(session.msg("comm_msg", {}))  # jupyter_client sends on a sync shadow of the socket
        t0 = time.monotonic()
        msg = await waiting
        assert msg["msg_type"] == "execute_reply"
        return time.monotonic() - t0
    finally:
        dealer.close(0)
        router.close(0)


@pytest.mark.slow
def test_without_the_bound_the_reply_waits_for_the_timeout():
    """The control, in a fresh process: the stack as installed misses the reply until the poll times out."""
    code = f"import asyncio, sys; sys.path[:0] = [{str(TESTS)!r}, {str(TESTS.parents[1])!r}]; "
    code += "from test_book_build import reply_delay; print(asyncio.run(reply_delay()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert float(out.stdout.split()[-1]) > 4.0, out.stdout  # 5 s timeout minus the 0.5 s before the send


def test_with_the_bound_the_reply_is_seen_within_a_slice():
    book_sphinx.bound_lost_wakeups()
    book_sphinx.bound_lost_wakeups()  # idempotent
    for _ in range(3):
        assert asyncio.run(reply_delay()) < book_sphinx.POLL_SLICE + 0.2


def test_bounded_get_msg_keeps_its_timeout_and_its_immediate_poll():
    book_sphinx.bound_lost_wakeups()

    async def waits():
        ctx = zmq.asyncio.Context()
        dealer = ctx.socket(zmq.DEALER)
        dealer.connect("tcp://127.0.0.1:1")  # nobody there: nothing ever arrives
        channel = AsyncZMQSocketChannel(dealer, Session(key=b"k"))
        times = []
        for timeout in (0, 1.2):
            t0 = time.monotonic()
            try:
                await channel.get_msg(timeout=timeout)
            except Exception as e:
                times.append((type(e).__name__, time.monotonic() - t0))
        dealer.close(0)
        return times

    (kind0, t0), (kind1, t1) = asyncio.run(waits())
    assert kind0 == kind1 == "Empty" and t0 < 0.1 and 1.15 < t1 < 1.6


def test_book_times_lists_each_notebook_with_its_time_and_failures(tmp_path):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbProjectRecord

    cache = get_cache(str(tmp_path / ".jupyter_cache"))
    paths = {}
    for name in ("fast", "slow", "broken"):
        paths[name] = tmp_path / f"{name}.ipynb"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = {name!r}")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, paths[name])
        cache.add_nb_to_project(str(paths[name]))
    for name, seconds in (("fast", 2.5), ("slow", 61.0)):
        nb = nbformat.read(paths[name], as_version=4)
        nb.cells[0].outputs, nb.cells[0].execution_count = [], 1
        bundle = CacheBundleIn(nb, str(paths[name]), data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
    NbProjectRecord.set_traceback(str(paths["broken"]), "CellTimeoutError: ...", cache.db)
    rows = book_times.times(tmp_path / ".jupyter_cache")
    assert [(Path(r["notebook"]).stem, r["seconds"], r["status"]) for r in rows] == [
        ("slow", 61.0, "ok"),
        ("fast", 2.5, "ok"),
        ("broken", None, "FAILED"),
    ]
    assert book_times.main([str(tmp_path / "nothing")]) == 1


def test_the_stress_tool_finds_the_longest_cell_and_the_longest_wait():
    def cell(busy, reply, idle):
        c = nbformat.v4.new_code_cell("pass")
        stamp = lambda t: f"2026-01-01T00:00:{t:06.3f}Z"
        c.metadata["execution"] = {
            "iopub.status.busy": stamp(busy),
            "iopub.execute_input": stamp(busy),
            "shell.execute_reply": stamp(reply),
            "iopub.status.idle": stamp(idle),
        }
        return c

    # cell 1 runs 4 s; cell 2 starts 30 s after cell 1's reply: a stalled message
    nb = nbformat.v4.new_notebook(cells=[cell(0, 1, 1), cell(1.5, 5.5, 5.5), cell(35.5, 36, 36)])
    assert stress_build.where_the_time_went(nb) == {"longest_cell": [1, 4.0], "longest_wait": [2, 30.0]}
