"""Concept figures: each draws one idea of a chapter (5, 7, 9 and 13), before the code that implements it.

Every function returns a matplotlib Figure; the chapters show it with ``plt.show()``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..palette import BAD, MARKERS, PALETTE, PERSONS, SAME, WRONG

LIGHT = "#E8E8E8"


def _box(ax, x, y, w, h, text="", colour=LIGHT, fontsize=9, **kw):
    """A filled rectangle with centred text; (x, y) is its lower left corner."""
    ax.add_patch(Rectangle((x, y), w, h, facecolor=colour, edgecolor="black", linewidth=0.8, **kw))
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, colour="black", style="-|>", **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=colour, lw=1.1, **kw))


def _blank(ax, xlim, ylim, aspect="equal"):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect(aspect)
    ax.axis("off")


def _tent(x, centre, factor):
    """The linear-interpolation kernel of a transposed conv of stride f, centred on a coarse cell."""
    return np.clip(1 - np.abs(x - centre) / factor, 0, None)


def fcn_1d(num_frames: int = 20, alpha=(1.5, -1.5, 0.5, 2.0, 1.0)) -> plt.Figure:
    """Chapter 5: the paper's attention module as FCN-32s in 1-D, drawn layer by layer for N frames.

    Two stages of temporal convolution (windows 5 and 3) and max-pooling by 2 turn N frames into
    N/4 coarse cells; a 1x1 score layer gives one alpha per cell; a transposed convolution initialised
    as linear interpolation (its x4 tents drawn) brings them back to N frames; the crop keeps the N in
    the middle; a sigmoid gives lambda_i. ``alpha``: the N/4 coarse scores to draw.
    """
    n, f = num_frames, 4
    alpha = np.asarray(alpha, dtype=float)
    if len(alpha) != n // f:
        raise ValueError(f"fcn_1d draws N / 4 = {n // f} coarse scores for N = {n}; found {len(alpha)} values.")
    fig, ax = plt.subplots(figsize=(11, 6))
    _blank(ax, (-1, n + 15), (-3.2, 9.3), aspect="auto")
    right = n + f + 0.5  # where the labels start
    rows = [  # (y, cell width, label, colour)
        (8.0, 1, "frame features $z_i$: N frames x 128 channels", PALETTE["sky blue"]),
        (6.8, 1, "temporal conv, window $w_1 = 5$ (64 channels) + ReLU", LIGHT),
        (5.6, 2, "max-pool 2: N/2 cells", LIGHT),
        (4.4, 2, "temporal conv, window $w_2 = 3$ + ReLU", LIGHT),
        (3.2, 4, "max-pool 2: N/4 coarse cells", LIGHT),
        (2.0, 4, r"1x1 score conv: one $\alpha$ per coarse cell", PALETTE["yellow"]),
    ]
    for y, w, label, colour in rows:
        for x in range(0, n, w):
            _box(ax, x, y, w, 0.7, colour=colour)
        ax.text(right, y + 0.35, label, va="center", fontsize=9)
    for c, a in enumerate(alpha):
        ax.text(c * f + f / 2, 2.35, rf"$\alpha$={a:+.1f}", ha="center", va="center", fontsize=8)
    # what one coarse cell sees: 1 + (5-1) + (2-1) + (3-1)*2 + (2-1)*2 = 12 frames, centred on its 4 frames
    cell = 2
    seen = (cell * f + f / 2 - 6, cell * f + f / 2 + 6)
    ax.add_patch(Rectangle((seen[0], 7.95), seen[1] - seen[0], 0.8, fill=False, edgecolor=BAD, lw=2.2))
    ax.add_patch(Rectangle((cell * f, 3.15), f, 0.8, fill=False, edgecolor=BAD, lw=2.2))
    _arrow(ax, (cell * f + f / 2, 3.95), ((seen[0] + seen[1]) / 2, 7.95), colour=BAD, style="-")
    ax.text(seen[1] + 0.1, 8.95, "one coarse cell sees 12 frames", color=BAD, fontsize=8, ha="right")
    # x4 upsampling: each coarse alpha stamps a tent of 2f taps; the edge cells are repeated once
    x = np.linspace(-f, n + f, 400)
    centres = [(c + 0.5) * f - 0.5 for c in range(-1, n // f + 1)]
    values = np.r_[alpha[0], alpha, alpha[-1]]
    y0, scale = -0.2, 0.5
    total = np.zeros_like(x)
    for c, (centre, a) in enumerate(zip(centres, values, strict=True)):
        tent = a * _tent(x, centre, f)
        total += tent
        edge = c in (0, len(values) - 1)
        ax.plot(x + 0.5, y0 + scale * tent, lw=0.9, ls=":" if edge else "-", color=PALETTE["grey"])
    ax.plot(x + 0.5, y0 + scale * total, color="black", lw=1.6)
    ax.plot([-f, n + f], [y0, y0], color="black", lw=0.4)
    for side in (0, n):
        ax.plot([side, side], [y0 - 1.0, y0 + 1.2], color=PALETTE["vermillion"], ls="--", lw=1)
    ax.text(right, y0 + 0.2, "x4 transposed conv (tents: linear\ninterpolation), cropped to N (dashed)", fontsize=9)
    # lambda = sigmoid of the cropped, interpolated alpha
    frames = np.arange(n)
    lam = 1 / (1 + np.exp(-np.interp(frames, centres, values)))
    cmap = plt.get_cmap("cividis")
    for i, v in enumerate(lam):
        _box(ax, i, -2.6, 1, 0.7, colour=cmap(v))
        ax.text(i + 0.5, -2.25, f"{v:.2f}", ha="center", va="center", fontsize=6, color="white" if v < 0.5 else "black")
    ax.text(right, -2.25, r"$\lambda_i = \sigma(\alpha_i)$: one score per frame", va="center", fontsize=9)
    _arrow(ax, (-0.6, 8.6), (-0.6, -1.9))
    ax.set_title(f"The 1-D FCN (FCN-32s style) on a video of N = {n} frames", fontsize=11)
    return fig


def siamese_pipeline() -> plt.Figure:
    """Chapter 7: the Siamese network and Eq. 4, for the paper's (L2-normalised) head.

    One network (the same weights) maps each video of a pair to a feature F; the identity classifier
    reads F itself, the squared hinge reads the distance between the unit-length F / |F|.
    """
    fig, ax = plt.subplots(figsize=(11, 4.6))
    _blank(ax, (0, 22.5), (-1.3, 9.4))
    for y, k in ((6.2, 1), (1.0, 2)):
        for j in range(4):  # a stack of frames
            ax.add_patch(Rectangle((0.3 + 0.25 * j, y + 0.25 * j), 1.2, 1.6, facecolor="white", edgecolor="black"))
        ax.text(1.2, y - 0.45, f"video $V_{k}$", ha="center", fontsize=9)
        _box(ax, 3.0, y, 2.6, 2.1, "frame CNN\n(ch. 4)\nper frame", PALETTE["sky blue"])
        _box(ax, 6.6, y, 2.6, 2.1, "$z_1, ..., z_N$\n(N x 128)", "white")
        _box(ax, 10.2, y, 3.2, 2.1, "FCN attention\n+ mean pooling\n(ch. 5-6)", PALETTE["sky blue"])
        _box(ax, 14.4, y + 0.4, 1.6, 1.3, f"$F_{k}$", PALETTE["yellow"])
        _box(ax, 17.0, y + 0.4, 2.0, 1.3, f"$F_{k} / \\|F_{k}\\|$", PALETTE["yellow"])
        cls_y = y + 2.5 if k == 1 else y - 1.05
        _box(ax, 14.0, cls_y, 2.4, 0.75, f"classifier: $\\xi_{{id_{k}}}$", PALETTE["orange"], fontsize=8)
        _arrow(ax, (2.0, y + 1.05), (3.0, y + 1.05))
        _arrow(ax, (5.6, y + 1.05), (6.6, y + 1.05))
        _arrow(ax, (9.2, y + 1.05), (10.2, y + 1.05))
        _arrow(ax, (13.4, y + 1.05), (14.4, y + 1.05))
        _arrow(ax, (16.0, y + 1.05), (17.0, y + 1.05))
        _arrow(ax, (15.2, y + 1.7) if k == 1 else (15.2, y + 0.4), (15.2, cls_y) if k == 1 else (15.2, cls_y + 0.75))
    for x in (4.3, 11.8):  # shared weights
        _arrow(ax, (x, 6.1), (x, 3.2), colour=PALETTE["grey"], style="<|-|>", linestyle="--")
        ax.text(x + 0.25, 4.65, "same\nweights", fontsize=8, color="dimgray", va="center")
    _box(ax, 19.8, 3.8, 2.5, 1.6, "$d$ = distance\nsquared hinge\n$\\xi_{hinge}$ (m = 2)", PALETTE["orange"], 8)
    _arrow(ax, (19.0, 7.25), (21.0, 5.4))
    _arrow(ax, (19.0, 2.05), (21.0, 3.8))
    ax.text(
        11.2,
        -1.1,
        r"Eq. 4: $\xi = \xi_{id_1} + \xi_{hinge} + \xi_{id_2}$; the classifiers read $F$, the hinge reads $F / \|F\|$",
        ha="center",
        fontsize=10,
    )
    ax.set_title("A Siamese network: two videos, one network, three losses", fontsize=11)
    return fig


def pair_sampling(persons: int = 6, seed: int = 5) -> plt.Figure:
    """Chapter 7: the pairs of one epoch among all possible pairs, and the 16-frame windows of a pair.

    Left: the persons x persons grid of pairs (P positives on the diagonal, P(P - 1) negatives off
    it) and the 2P pairs one epoch draws: one positive and one negative per person. Right: each video
    of a pair gives a window of 16 consecutive frames at a random start; a shorter video is looped.
    """
    rng = np.random.default_rng(seed)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1, 1.5]})
    p = persons
    _blank(left, (-1.6, p + 0.2), (-0.9, p + 1.0))
    for i in range(p):
        for j in range(p):
            left.add_patch(
                Rectangle((j, p - 1 - i), 1, 1, facecolor="#DCE9F5" if i == j else LIGHT, edgecolor="white", lw=2)
            )
        negative = (i + 1 + int(rng.integers(p - 1))) % p
        left.plot(i + 0.5, p - 1 - i + 0.5, marker="o", ms=11, color=SAME)
        left.plot(negative + 0.5, p - 1 - i + 0.5, marker="X", ms=12, color=WRONG)
        left.text(-0.25, p - 1 - i + 0.5, f"{i}", ha="right", va="center", fontsize=9)
        left.text(i + 0.5, p + 0.15, f"{i}", ha="center", va="bottom", fontsize=9)
    left.text(p / 2, p + 0.65, "person of the second video", ha="center", fontsize=9)
    left.text(-1.3, p / 2, "person of the first video", rotation=90, va="center", fontsize=9)
    left.text(
        p / 2,
        -0.6,
        f"one epoch: {p} positives (o) and {p} negatives (x)\nout of {p} positive and {p * (p - 1)} negative pairs",
        ha="center",
        va="center",
        fontsize=9,
    )
    right.set_xlim(-1, 56)
    right.set_ylim(-2.5, 11)
    right.axis("off")
    window = 16
    videos = ((52, "person 2, camera 1", SAME), (40, "person 2, camera 2", SAME), (11, "person 4, camera 1", WRONG))
    for y, (length, name, colour) in zip((7.6, 3.9, 0.2), videos, strict=True):
        for t in range(length):
            right.add_patch(Rectangle((t, y), 1, 1.8, facecolor="white", edgecolor="#BBBBBB", lw=0.5))
        start = int(rng.integers(length - window + 1)) if length > window else 0
        for t in range(window):
            frame = start + t if length > window else t % length
            x = frame if length > window else t
            hatch = "//" if length <= window and t >= length else None
            right.add_patch(
                Rectangle((x, y), 1, 1.8, facecolor=colour, alpha=0.55, edgecolor="black", lw=0.5, hatch=hatch)
            )
        label = f"{name}: {length} frames" + (
            ", looped to fill 16" if length <= window else f", window from frame {start}"
        )
        right.text(0, y + 2.1, label, fontsize=9)
    right.text(0, -1.6, "positive pair: the first two rows; negative pair: the first and the last", fontsize=9)
    right.set_title("each video gives 16 consecutive frames, at a random start", fontsize=10)
    left.set_title("all pairs, and one epoch's", fontsize=10)
    fig.tight_layout()
    return fig


def cmc_concept(first_ranks=(1, 2, 4), gallery_size: int = 4) -> plt.Figure:
    """Chapter 9: from ranked galleries to the CMC curve.

    Left: each query's gallery sorted by distance, its right match marked at its rank. Right:
    CMC(k), the share of queries whose first right match is at rank <= k.
    """
    q, g = len(first_ranks), gallery_size
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1.2, 1]})
    _blank(left, (-2.4, g + 0.3), (-0.9, q + 0.6))
    for row, r in enumerate(first_ranks):
        y = q - 1 - row
        left.text(-0.3, y + 0.45, f"query {row}", ha="right", va="center", fontsize=9)
        for k in range(g):
            right_item = k + 1 == r
            left.add_patch(
                Rectangle((k + 0.05, y + 0.05), 0.9, 0.8, facecolor=SAME if right_item else LIGHT, edgecolor="black")
            )
            left.text(
                k + 0.5,
                y + 0.45,
                "right" if right_item else "wrong",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if right_item else "black",
            )
    for k in range(g):
        left.text(k + 0.5, q + 0.2, f"rank {k + 1}", ha="center", fontsize=8)
    left.text(g / 2, -0.6, "gallery sorted by distance, nearest first", ha="center", fontsize=9)
    ranks = np.arange(1, g + 1)
    curve = [(np.asarray(first_ranks) <= k).mean() for k in ranks]
    right.step(ranks, curve, where="post", color=SAME, lw=2)
    right.plot(ranks, curve, "o", color=SAME)
    for k, c in zip(ranks, curve, strict=True):
        right.annotate(
            f"{int(round(c * q))}/{q}", (k, c), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8
        )
    right.set(xlabel="rank k", ylabel="CMC(k)", xticks=ranks, ylim=(0, 1.15), xlim=(0.7, g + 0.3))
    right.set_title("CMC(k): share of queries whose first\nright match is at rank <= k", fontsize=10)
    fig.tight_layout()
    return fig


def pk_batch(p: int = 4, k: int = 4, cameras: int = 4, margin: float = 0.3, seed: int = 3) -> plt.Figure:
    """Chapter 13: a PK batch and batch-hard mining.

    Left: P persons x K windows, each window from one of the person's cameras in turn. Right: the
    batch's features in 2-D; for one anchor, the hardest positive (the farthest window of its
    person) and the hardest negative (the nearest window of another person) enter
    max(0, m + d_pos - d_neg).
    """
    rng = np.random.default_rng(seed)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    _blank(left, (-1.8, k + 0.2), (-0.9, p + 0.8))
    for i in range(p):
        for j in range(k):
            left.add_patch(
                Rectangle((j + 0.05, p - 1 - i + 0.05), 0.9, 0.9, facecolor=PERSONS[i], alpha=0.8, edgecolor="black")
            )
            left.text(
                j + 0.5, p - 1 - i + 0.5, f"cam {j % cameras}", ha="center", va="center", fontsize=8, color="white"
            )
        left.text(-0.2, p - 1 - i + 0.5, f"person {i}", ha="right", va="center", fontsize=9)
    left.text(k / 2, p + 0.3, f"K = {k} windows per person", ha="center", fontsize=9)
    left.text(k / 2, -0.55, f"a batch: P = {p} persons x K = {k} windows", ha="center", fontsize=9)
    centres = rng.normal(0, 1.2, (p, 2))
    x = np.concatenate([centres[i] + rng.normal(0, 0.45, (k, 2)) for i in range(p)])
    pids = np.repeat(np.arange(p), k)
    for i in range(p):
        pts = x[pids == i]
        right.scatter(pts[:, 0], pts[:, 1], color=PERSONS[i], marker=MARKERS[i], s=45, label=f"person {i}")
    anchor = 0
    d = np.linalg.norm(x - x[anchor], axis=1)
    pos = int(np.argmax(np.where(pids == pids[anchor], d, -np.inf)))
    neg = int(np.argmin(np.where(pids != pids[anchor], d, np.inf)))
    right.scatter(*x[anchor], s=220, facecolors="none", edgecolors="black", lw=1.5)
    right.plot(*x[[anchor, pos]].T, color=SAME, lw=2, label=f"hardest positive, d = {d[pos]:.2f}")
    right.plot(*x[[anchor, neg]].T, color=WRONG, lw=2, ls="--", label=f"hardest negative, d = {d[neg]:.2f}")
    loss = max(0.0, margin + d[pos] - d[neg])
    right.set_title(f"anchor (circled): max(0, m + d_pos - d_neg) = {loss:.2f} for m = {margin}", fontsize=10)
    right.legend(fontsize=7, loc="best")
    right.set_xticks([])
    right.set_yticks([])
    right.set_aspect("equal")
    fig.tight_layout()
    return fig
