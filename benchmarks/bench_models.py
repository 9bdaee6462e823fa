"""Speed of the models: FCN vs RNN attention, and the whole model's training step, eager and captured.

    .venv/bin/python benchmarks/bench_models.py [--quick] [--device cpu|cuda] [--threads T]

Table 1: an attention module alone (scores for B = 8 and 64 sequences of N frames of D = 128),
forward + backward, FCN vs LSTM- and GRU-attention (64 hidden units, as the FCN has 64
channels), with the time ratio RNN / FCN measured in the same run. On CUDA the FCN is also
timed captured in a CUDA graph (``torch.cuda.graphs``: one launch replays every kernel of
its forward and backward), against cuDNN's fused LSTM.
Table 2: one Siamese training step of the whole model (pairs of 16-frame sequences: forward of
both branches, Eq. 4, backward, SGD update) for 1, 8 and 32 pairs, eager and (CUDA) with
``TrainConfig.compile``'s capture: frames/s and GFLOP/s as a fraction of a large float32
matmul measured in the same run. Flops: 2 per counted multiply-add; a training step does 3 x
the forward multiply-adds less the input gradient of the first conv, which nothing needs.
Table 3: ``--steps`` consecutive one-pair steps timed end to end (at least 2,000 on a GPU),
and the paper's schedule for one split (1400 epochs x 300 steps) extrapolated from them.
Times are the best of several round-robin runs; with one CPU thread they are the process's
CPU time (see best_times). The numbers go to reidlib/results/speed_<device>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from functools import partial
from pathlib import Path

import torch
from results_md import write_section

from reidlib.experiments.ablation import RESULTS_DIR
from reidlib.losses import siamese_loss
from reidlib.models import FCNTemporalAttention, RNNTemporalAttention, VideoReIDNet, count_macs

PAPER_STEPS = 1400 * 300  # the paper's iLIDS-VID schedule on 150 training persons: epochs x pairs per epoch


def best_times(fns: dict, device: torch.device, repeats: int, warmup: int = 1) -> dict[str, float]:
    """Best time (s) of each fn, running them round-robin so that load from other processes
    on a shared machine hits all of them alike. On a single CPU thread the clock is the
    process's CPU time, which other processes barely disturb; otherwise wall time."""
    clock = time.process_time if device.type == "cpu" and torch.get_num_threads() == 1 else time.perf_counter
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = clock()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[k].append(clock() - t)
    return {k: min(v) for k, v in times.items()}


def captured(fn) -> callable:
    """``fn`` (no arguments, fixed shapes) captured in a CUDA graph -> a function that replays it."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm-up on a side stream, as capture requires
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


def matmul(device: torch.device, n: int = 2048):
    """A large float32 matmul and its flop count: the machine's practical limit."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return (lambda: a @ b), 2 * n**3


def attention_rows(device: torch.device, batches: list[int], lengths: list[int], repeats: int) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    modules = {
        "FCN": FCNTemporalAttention(128).to(device),
        "LSTM-att": RNNTemporalAttention(128, cell="lstm").to(device),
        "GRU-att": RNNTemporalAttention(128, cell="gru").to(device),
    }
    rows = []
    for b in batches:
        for n in lengths:
            x = torch.randn(b, n, 128, generator=g).to(device).requires_grad_()

            def step(m):
                for p in [x, *m.parameters()]:  # gradients accumulate in place (as a captured graph needs)
                    if p.grad is not None:
                        p.grad.zero_()
                m(x).sum().backward()

            fns = {k: partial(step, m) for k, m in modules.items()}
            if device.type == "cuda":
                fns["FCN captured"] = captured(fns["FCN"])
            ms = {k: 1e3 * t for k, t in best_times(fns, device, repeats).items()}
            row = {"batch": b, "frames": n, **{f"{k} ms": v for k, v in ms.items()}}
            row["LSTM / FCN"] = ms["LSTM-att"] / ms["FCN"]
            row["GRU / FCN"] = ms["GRU-att"] / ms["FCN"]
            if "FCN captured" in ms:
                row["LSTM / FCN captured"] = ms["LSTM-att"] / ms["FCN captured"]
            rows.append(row)
    return rows


def _step(net, opt, x1, x2, same, y1, y2):
    """One Siamese step: both branches, Eq. 4 (the classifier reads F before its normalisation)."""
    f, raw, _ = net.encode(torch.cat([x1, x2]))
    h = len(x1)
    loss, _ = siamese_loss(f[:h], f[h:], same, net.identity_logits(raw[:h]), net.identity_logits(raw[h:]), y1, y2)
    opt.zero_grad(set_to_none=False)
    loss.backward()
    opt.step()


def training_rows(device: torch.device, pairs: list[int], repeats: int, frames: int = 16) -> list[dict]:
    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=150).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    macs_seq = net.summary(frames, show=False)["macs_per_sequence"] + count_macs(net.classifier, torch.zeros(1, 128))
    first_conv = count_macs(net.cnn.convs[0], torch.zeros(1, 5, 56, 40))
    train_macs_seq = 3 * macs_seq - frames * first_conv  # per sequence: fwd + grad input + grad weight
    mm, mm_flops = matmul(device)
    rows = []
    for b in pairs:
        x1, x2 = (torch.randn(b, frames, 5, 56, 40, device=device) for _ in range(2))
        same = torch.arange(b, device=device) % 2 == 0
        y1 = torch.randint(0, 150, (b,), device=device)
        y2 = torch.where(same, y1, (y1 + 1) % 150)
        fns = {"step": partial(_step, net, opt, x1, x2, same, y1, y2), "matmul": mm}
        if device.type == "cuda":
            fns["step captured"] = captured(fns["step"])
        t = best_times(fns, device, repeats)
        peak = mm_flops / t["matmul"] / 1e9
        for kind in [k for k in t if k.startswith("step")]:
            gflops = 2 * 2 * b * train_macs_seq / t[kind] / 1e9  # 2 branches x b pairs, 2 flops per MAC
            rows.append(
                {
                    "pairs": b,
                    "frames": 2 * b * frames,
                    "mode": "captured" if "captured" in kind else "eager",
                    "step ms": 1e3 * t[kind],
                    "frames/s": 2 * b * frames / t[kind],
                    "GFLOP/s": gflops,
                    "matmul GFLOP/s": peak,
                    "fraction of matmul": gflops / peak,
                }
            )
    return rows


def schedule_rows(device: torch.device, steps: int) -> list[dict]:
    """``steps`` consecutive one-pair steps, end to end (the device waited for once, at the end)."""
    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=150).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    x1, x2 = (torch.randn(1, 16, 5, 56, 40, device=device) for _ in range(2))
    same, y = torch.tensor([True], device=device), torch.zeros(1, dtype=torch.long, device=device)
    fns = {"eager": partial(_step, net, opt, x1, x2, same, y, y)}
    if device.type == "cuda":
        fns["captured"] = captured(fns["eager"])
    rows = []
    for mode, fn in fns.items():
        for _ in range(10):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        per_step = (time.perf_counter() - t0) / steps
        rows.append(
            {
                "mode": mode,
                "steps measured": steps,
                "step ms": 1e3 * per_step,
                "steps/s": 1 / per_step,
                "paper schedule, one split (min)": PAPER_STEPS * per_step / 60,
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    keys = list(rows[0])
    fmt = {float: lambda v: f"{v:.2f}" if abs(v) < 100 else f"{v:,.0f}"}
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt.get(type(r.get(k)), str)(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sizes (a smoke run)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    ap.add_argument("--steps", type=int, help="one-pair steps timed end to end (default: 2000 on cuda, 200 on cpu)")
    ap.add_argument("--out", help="results file (default: reidlib/results/speed_<device>.json)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    reps = 3 if args.quick else 10
    clock = "process CPU time" if device.type == "cpu" and torch.get_num_threads() == 1 else "wall time"
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.machine()} CPU"
    head = f"{machine}, torch {torch.__version__}, threads: {torch.get_num_threads()}; best of {reps}, {clock}"
    print(head + "\n")
    lengths = [16, 64] if args.quick else [16, 64, 256, 1024]
    results = {
        "machine": machine,
        "device": device.type,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "clock": clock,
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/bench_models.py "
        + " ".join(f"--{k} {v}" for k, v in vars(args).items() if v not in (None, False, 0)),
    }
    results["attention"] = attention_rows(device, [8] if args.quick else [8, 64], lengths, reps)
    print(markdown(results["attention"]) + "\n")
    results["training_step"] = training_rows(device, [1, 8] if args.quick else [1, 8, 32], max(3, reps // 2))
    print(markdown(results["training_step"]) + "\n")
    steps = args.steps or (50 if args.quick else 2000 if device.type == "cuda" else 200)
    results["schedule"] = schedule_rows(device, steps)
    print(markdown(results["schedule"]))
    out = Path(args.out or RESULTS_DIR / f"speed_{device.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    if not args.quick:
        write_section(f"bench_models_{device.type}", section(results))
    print(f"\nresults: {out}")


def section(results: dict) -> str:
    """The RESULTS.md section of one run, made from its results."""
    att = {(r["batch"], r["frames"]): r for r in results["attention"]}
    longest = max(n for _, n in att)
    best = max(results["training_step"], key=lambda r: r["fraction of matmul"])
    one = min(results["schedule"], key=lambda r: r["step ms"])  # the faster mode
    lines = [
        f"## Models on {results['machine']}: FCN vs RNN attention, the training step (bench_models.py)",
        "",
        f"torch {results['torch']}, {results['threads']} thread(s), {results['clock']}, {results['date']}. Command: "
        f"`{results['command']}`. Results file: `reidlib/results/speed_{results['device']}.json`.",
        "",
        "Attention modules alone (forward + backward, D = 128):",
        "",
        markdown(results["attention"]),
        "",
        "One Siamese training step of the whole model:",
        "",
        markdown(results["training_step"]),
        "",
        "Consecutive one-pair steps, and the paper's schedule for one split (1400 epochs x 300 steps) extrapolated:",
        "",
        markdown(results["schedule"]),
        "",
        f"In one line: at N = {longest} frames (batch 8) the LSTM takes {att[(8, longest)]['LSTM / FCN']:.2f}x the "
        f"time of the FCN; the training step reaches {best['fraction of matmul']:.0%} of the matmul rate at "
        f"{best['pairs']} pair(s) ({best['mode']}); one split of the paper's schedule extrapolates to "
        f"{one['paper schedule, one split (min)']:.0f} minutes ({one['mode']}, from {one['steps measured']} steps).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
