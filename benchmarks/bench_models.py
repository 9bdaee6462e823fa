"""Speed of the models: FCN vs RNN attention, and the whole model's training step.

    .venv/bin/python benchmarks/bench_models.py [--quick] [--device cpu|cuda] [--threads T]

Table 1: an attention module alone (scores for B=8 sequences of N frames of D=128),
forward + backward, FCN vs LSTM- and GRU-attention (both with 64 hidden units, as the FCN
has 64 channels), with the time ratio RNN / FCN measured in the same run.
Table 2: one Siamese training step of the whole model (pairs of 16-frame sequences,
forward of both branches, Eq. 4 loss, backward, SGD update) for 1, 8 and 32 pairs:
frames/s and achieved GFLOP/s as a fraction of a large float32 matmul's GFLOP/s measured in
the same run (interleaved). Flops: 2 per counted multiply-add; a training step does 3 x the
forward multiply-adds (forward, input gradient, weight gradient) less the input gradient of
the first conv, which nothing needs.
Times are the best of several round-robin runs: the least disturbed by other processes; with
one CPU thread they are CPU times of the process (see best_times).
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import torch

from reidlib.losses import siamese_loss
from reidlib.models import FCNTemporalAttention, RNNTemporalAttention, VideoReIDNet, count_macs


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


def matmul(device: torch.device, n: int = 2048):
    """A large float32 matmul and its flop count: the machine's practical limit."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return (lambda: a @ b), 2 * n**3


def attention_table(device: torch.device, lengths: list[int], repeats: int) -> list[str]:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    modules = {
        "FCN": FCNTemporalAttention(128),
        "LSTM-att": RNNTemporalAttention(128, cell="lstm"),
        "GRU-att": RNNTemporalAttention(128, cell="gru"),
    }
    rows = ["| N | FCN ms | LSTM-att ms | GRU-att ms | LSTM / FCN | GRU / FCN |", "|---|---|---|---|---|---|"]
    for n in lengths:
        x = torch.randn(8, n, 128, generator=g).to(device).requires_grad_()

        def step(m):
            m.zero_grad(set_to_none=True)
            m(x).sum().backward()

        ms = {
            k: 1e3 * t
            for k, t in best_times(
                {k: partial(step, m.to(device)) for k, m in modules.items()}, device, repeats
            ).items()
        }
        rows.append(
            f"| {n} | {ms['FCN']:.2f} | {ms['LSTM-att']:.2f} | {ms['GRU-att']:.2f} | "
            f"{ms['LSTM-att'] / ms['FCN']:.1f}x | {ms['GRU-att'] / ms['FCN']:.1f}x |"
        )
    return rows


def training_table(device: torch.device, pairs: list[int], repeats: int, frames: int = 16) -> list[str]:
    torch.manual_seed(0)
    net = VideoReIDNet(num_classes=150).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9)
    macs_seq = net.summary(frames, show=False)["macs_per_sequence"] + count_macs(net.classifier, torch.zeros(1, 128))
    first_conv = count_macs(net.cnn.convs[0], torch.zeros(1, 5, 56, 40))
    train_macs_seq = 3 * macs_seq - frames * first_conv  # per sequence: fwd + grad input + grad weight
    mm, mm_flops = matmul(device)
    rows = [
        "| pairs per step | frames per step | step ms | frames/s | GFLOP/s | matmul GFLOP/s | fraction of matmul |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in pairs:
        x1, x2 = (torch.randn(b, frames, 5, 56, 40, device=device) for _ in range(2))
        same = torch.arange(b, device=device) % 2 == 0
        y1 = torch.randint(0, 150, (b,), device=device)
        y2 = torch.where(same, y1, (y1 + 1) % 150)

        def step():
            (f1, _), (f2, _) = net(x1), net(x2)
            loss, _ = siamese_loss(f1, f2, same, net.identity_logits(f1), net.identity_logits(f2), y1, y2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        t = best_times({"step": step, "matmul": mm}, device, repeats)
        gflops = 2 * 2 * b * train_macs_seq / t["step"] / 1e9  # 2 branches x b pairs, 2 flops per MAC
        peak = mm_flops / t["matmul"] / 1e9
        rows.append(
            f"| {b} | {2 * b * frames} | {1e3 * t['step']:.1f} | {2 * b * frames / t['step']:.0f} | "
            f"{gflops:.1f} | {peak:.1f} | {gflops / peak:.0%} |"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sizes (a smoke run)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    reps = 3 if args.quick else 10
    clock = "process CPU time" if device.type == "cpu" and torch.get_num_threads() == 1 else "wall time"
    print(
        f"device: {device}, torch {torch.__version__}, threads: {torch.get_num_threads()}; "
        f"best of {reps} interleaved runs, {clock}\n"
    )
    lengths = [16, 64] if args.quick else [16, 64, 256, 1024]
    print("\n".join(attention_table(device, lengths, reps)) + "\n")
    pairs = [1, 8] if args.quick else [1, 8, 32]
    print("\n".join(training_table(device, pairs, max(3, reps // 2))))


if __name__ == "__main__":
    main()
