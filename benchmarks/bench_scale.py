"""Data-parallel training speed: training pairs per second with 1 process vs K processes (DDP).

Run: .venv/bin/python benchmarks/bench_scale.py [--synthetic quick] [--epochs 3] [--batch-size 8] [--procs 2]
Prints a Markdown table. Every run trains the same model on the same pairs (global batch
``--batch-size``) with ``reidlib.training.train``; K processes talk through ``gloo`` on the
cpu (1 thread each) and ``nccl`` on GPUs (one GPU each, when at least K are visible).
The first epoch (warm-up) is not timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import tempfile
from pathlib import Path

import torch
import torch.multiprocessing as mp

from reidlib.data import load_dataset
from reidlib.models import VideoReIDNet
from reidlib.preprocess import preprocess_dataset
from reidlib.training import train
from reidlib.training.distributed import rank_device


def setup(args):
    ds = load_dataset("synthetic", preset=args.synthetic, seed=0, cache_dir=Path(args.cache) / "synthetic")
    return ds, preprocess_dataset(ds, cache_dir=Path(args.cache) / "pre", progress=False)


def pairs_per_s(args, device: str) -> float:
    """Pairs/s of this process's share of the run, epochs 2.. (epoch 1 warms up)."""
    ds, data = setup(args)
    torch.manual_seed(0)
    model = VideoReIDNet(len({t.pid for t in ds.split(0)[0]})).to(rank_device(device))
    h = train(
        model,
        ds,
        0,
        "demo",
        data=data,
        progress=False,
        epochs=args.epochs,
        batch_size=args.batch_size,
        window=args.window,
        val_every=0,
    )
    pairs = 2 * len({t.pid for t in ds.split(0)[0]})
    return pairs * (args.epochs - 1) / sum(h["seconds"][1:])


def worker(rank: int, args, port: int, device: str, threads: int, result: Path) -> None:
    torch.set_num_threads(threads)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(args.procs)
    )
    speed = pairs_per_s(args, device)
    if rank == 0:
        result.write_text(str(speed))


def run(args, procs: int, device: str, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        result = Path(tmp) / "speed"
        mp.start_processes(
            worker,
            args=(argparse.Namespace(**{**vars(args), "procs": procs}), port, device, threads, result),
            nprocs=procs,
            start_method="spawn",
        )
        return float(result.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--synthetic", default="quick", help="synthetic data size (default: quick, 12 training persons)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=8, help="global batch (pairs per step)")
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--procs", type=int, default=2, help="K, the number of processes to compare with 1")
    p.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "reidlib-bench-scale"))
    args = p.parse_args()
    if args.epochs < 2:
        raise SystemExit("--epochs must be >= 2: the first epoch is a warm-up and is not timed.")
    setup(args)  # render and preprocess once, before any timing
    rows = [
        ("cpu", "1 process, 1 thread", run(args, 1, "cpu", 1)),
        ("cpu", f"1 process, {args.procs} threads", run(args, 1, "cpu", args.procs)),
        ("cpu", f"{args.procs} processes (gloo), 1 thread each", run(args, args.procs, "cpu", 1)),
    ]
    if torch.cuda.is_available():
        rows.append(("cuda", "1 process, 1 GPU", run(args, 1, "cuda", 1)))
        if torch.cuda.device_count() >= args.procs:
            rows.append(("cuda", f"{args.procs} processes (nccl), 1 GPU each", run(args, args.procs, "cuda", 1)))
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"GPUs: {torch.cuda.device_count()}. Synthetic {args.synthetic!r}, global batch {args.batch_size} pairs, "
        f"window {args.window}, epochs 2-{args.epochs} timed.\n"
    )
    print("| device | setup | pairs/s | vs 1 process, 1 thread (same device) |")
    print("|---|---|---|---|")
    base = {}
    for dev, name, speed in rows:
        base.setdefault(dev, speed)
        print(f"| {dev} | {name} | {speed:.1f} | {speed / base[dev]:.2f}x |")


if __name__ == "__main__":
    main()
