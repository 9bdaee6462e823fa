"""Does a head's video feature depend on how long the video is? The shipped weights, tested three ways.

Eq. 2 of the paper pools with a plain sum, gamma = sum_i lambda_i z_i, so gamma grows with the
number of frames N; training sees 16-frame windows, testing sees whole videos (16 to 96 frames on
synthetic `standard`). For each shipped model, on its recorded test split (150 persons):
  * rank-1 / mAP on the full-length test videos (the recorded protocol);
  * the same on the first 16 frames of every video (the training length: less information);
  * full length with the video feature L2-normalised at test time (Figure 2 of the paper says
    F is "normalised" before the distance; the shipped models were trained without it);
  * the Pearson correlation, over the query videos, of video length and feature norm.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_length.py   (about 3 minutes on a 2-core CPU)
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

from reidlib.evaluation import distance_matrix, extract_features, rank_metrics
from reidlib.experiments import SHIPPED_HEADS as HEADS
from reidlib.experiments import pretrained, recorded_test_split
from reidlib.preprocess import preprocess_dataset


def first_frames(tracklets: list, n: int) -> list:
    """The tracklets cut to their first ``n`` frames (visibility too)."""
    return [
        dataclasses.replace(t, frames=t.frames[:n], visibility=None if t.visibility is None else t.visibility[:n])
        for t in tracklets
    ]


def scores(qf: torch.Tensor, gf: torch.Tensor, query: list, gallery: list) -> tuple[float, float]:
    """(rank-1 %, mAP %) of query features (Q, D) against gallery features (G, D)."""
    r = rank_metrics(distance_matrix(qf, gf), [t.pid for t in query], [t.pid for t in gallery], max_rank=1)
    return 100 * float(r["cmc"][0]), 100 * float(r["mAP"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16, help="length of the cut videos (default: 16, as in training)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    _, record = pretrained(HEADS[0])
    query, gallery = recorded_test_split(record)
    q_cut, g_cut = first_frames(query, args.frames), first_frames(gallery, args.frames)
    data = preprocess_dataset(query + gallery + q_cut + g_cut, progress=False)
    lengths = np.array([len(t) for t in query])
    print(
        f"Shipped weights on their test split: {len(query)} persons, synthetic {record['data']['preset']!r} "
        f"(seed {record['data']['seed']}), split {record['split']}; videos of {lengths.min()} to {lengths.max()} "
        f"frames (mean {lengths.mean():.0f}).\n"
    )
    print(
        f"| head | R1 / mAP, full length | R1 / mAP, first {args.frames} frames | R1 / mAP, full length, "
        "L2-normalised F | corr(length, norm of F) |"
    )
    print("|---|---|---|---|---|")
    for head in HEADS:
        model, rec = pretrained(head)
        qf, _ = extract_features(model, query, data)
        gf, _ = extract_features(model, gallery, data)
        full = scores(qf, gf, query, gallery)
        cut = scores(extract_features(model, q_cut, data)[0], extract_features(model, g_cut, data)[0], q_cut, g_cut)
        unit = scores(
            torch.nn.functional.normalize(qf, dim=1), torch.nn.functional.normalize(gf, dim=1), query, gallery
        )
        corr = np.corrcoef(lengths, qf.norm(dim=1).numpy())[0, 1]
        assert abs(full[0] - rec["results"]["rank1"]) <= 1.0, (head, full, rec["results"])  # the recorded protocol
        print(
            f"| {head} | {full[0]:.1f} / {full[1]:.1f} | {cut[0]:.1f} / {cut[1]:.1f} | {unit[0]:.1f} / {unit[1]:.1f} "
            f"| {corr:+.2f} |"
        )


if __name__ == "__main__":
    main()
