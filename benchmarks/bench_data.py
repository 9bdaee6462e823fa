"""Data speed and difficulty: generating each synthetic preset, reloading it from the cache,
reading frames from PNG files, and the nearest-colour-histogram baseline on each preset.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_data.py [--presets tiny quick standard] [--repeats 1]
Prints two Markdown tables. Targets (issue 3): generation under 2 s (tiny), 15 s (quick),
60 s (standard) on one core; a cached reload under 2 s.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from reidlib.data import (
    PRESETS,
    SyntheticReID,
    Tracklet,
    export_ilidsvid,
    histogram_baseline,
    load_dataset,
    load_frames,
    sorted_frames,
)

LIMITS = {"tiny": 2.0, "quick": 15.0, "small": 30.0, "standard": 60.0}


def best_of(fn, repeats: int):
    """(wall seconds, CPU seconds of this process, result) of the fastest of ``repeats`` calls.
    On a shared machine the CPU time is close to what the call takes on a free core."""
    best, out = (float("inf"), float("inf")), None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return best[0], best[1], out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "quick", "standard"], choices=list(PRESETS))
    ap.add_argument("--repeats", type=int, default=1, help="best of this many generations per preset")
    args = ap.parse_args()
    cv2.setNumThreads(1)  # one core, as the targets say

    speed, difficulty = [], []
    for preset in args.presets:
        gen = SyntheticReID(**PRESETS[preset], seed=0)
        render_s, render_cpu, tracklets = best_of(gen.tracklets, args.repeats)
        frames = sum(len(t) for t in tracklets)
        with tempfile.TemporaryDirectory() as tmp:
            write_s, _, _ = best_of(lambda: load_dataset("synthetic", preset=preset, cache_dir=tmp), 1)

            def reload():  # a fresh load from the cache, touching every pixel
                ds = load_dataset("synthetic", preset=preset, cache_dir=tmp)
                return sum(
                    int(np.asarray(t.frames[-1, -1, -1, -1])) + int(np.asarray(t.frames).sum() > 0)
                    for t in ds.tracklets
                )

            reload_s, _, _ = best_of(reload, 3)
            few = tracklets[:40]  # the way real data is read
            seq = export_ilidsvid(few, Path(tmp) / "png") / "sequences"
            on_disk = [Tracklet(0, 0, sorted_frames(d)) for cam in sorted(seq.iterdir()) for d in sorted(cam.iterdir())]
            png_s, _, _ = best_of(lambda: [load_frames(t) for t in on_disk], 3)
            png_fps = sum(len(t) for t in few) / png_s
        speed.append(
            (
                preset,
                len(tracklets),
                frames,
                render_s,
                render_cpu,
                frames / render_cpu,
                LIMITS.get(preset),
                write_s,
                reload_s,
                png_fps,
            )
        )
        query = [t for t in tracklets if t.camid == 0]
        gallery = [t for t in tracklets if t.camid == 1]
        row = [preset, gen.num_ids]
        for weight in ("frame", "centre"):
            r = histogram_baseline(query, gallery, weight)
            row += [r["rank1"], r["mean_rank"]]
        row.append(1 / len(gallery))
        difficulty.append(row)

    print(
        f"Synthetic benchmark, seed 0, frames 128 x 64. {platform.machine()}, Python {platform.python_version()}; "
        f"best of {args.repeats} generation(s), best of 3 reloads.\n"
    )
    print(
        "| preset | tracklets | frames | generate, wall (s) | generate, CPU (s) | frames/s (CPU) | target (s) "
        "| render + write cache (s) | reload cache (s) | read PNG (frames/s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for p, n, f, s, cpu, fps, limit, w, r, png in speed:
        print(
            f"| {p} | {n} | {f} | {s:.2f} | {cpu:.2f} | {fps:,.0f} | {limit or '-'} | {w:.2f} | {r:.3f} | {png:,.0f} |"
        )
    print("\nNearest-colour-histogram baseline (camera 1 queries vs camera 2 gallery; 4x4x4 cells, Hellinger):\n")
    print("| preset | persons | rank-1, whole frame | mean rank | rank-1, centre half | mean rank | chance rank-1 |")
    print("|---|---|---|---|---|---|---|")
    for p, n, r1f, mrf, r1c, mrc, chance in difficulty:
        print(f"| {p} | {n} | {r1f:.1%} | {mrf:.1f} | {r1c:.1%} | {mrc:.1f} | {chance:.1%} |")


if __name__ == "__main__":
    main()
