"""The plotting code of the chapters' own runs (chapters 5, 6, 7 and 9), one function per figure.

Each takes the run's numbers (tensors or arrays) and returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from ..palette import BAD, PALETTE, SAME, SERIES, WRONG

CLASSES = ListedColormap(["#202020", PALETTE["orange"], PALETTE["sky blue"]])  # background, lying, standing (ch. 5)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _shade(ax, mask, label=None):
    """Shade the frames where ``mask`` is True (occluded or bad frames), over the full height."""
    mask = _np(mask).astype(bool)
    ax.fill_between(
        np.arange(len(mask)),
        0,
        1,
        where=mask,
        color=BAD,
        alpha=0.3,
        step="mid",
        label=label,
        transform=ax.get_xaxis_transform(),
    )


def _no_ticks(axes):
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])


def bar_examples(images, labels, count: int = 5) -> plt.Figure:
    """Chapter 5.1: noisy images (n, 1, S, S) over their label maps (n, S, S), ``count`` of them."""
    fig, axes = plt.subplots(2, count, figsize=(2 * count, 4.2))
    for j in range(count):
        axes[0, j].imshow(_np(images[j, 0]), cmap="gray")
        axes[1, j].imshow(_np(labels[j]), cmap=CLASSES, vmin=0, vmax=2)
    _no_ticks(axes)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("labels")
    fig.suptitle("Toy segmentation: lying bars (orange) and standing bars (light blue) on noise")
    return fig


def upsampling_1d(coarse, upsampled, reference, factor: int) -> plt.Figure:
    """Chapter 5.3: M coarse values at their cell centres, upsampled by ``factor`` two ways (M * f values each)."""
    coarse, upsampled, reference = (_np(v).ravel() for v in (coarse, upsampled, reference))
    fine = np.arange(len(upsampled))
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.plot(fine, reference, "o-", c=PALETTE["grey"], label="F.interpolate (linear)")
    ax.plot(fine, upsampled, "s--", ms=3, c=PALETTE["vermillion"], label="transposed conv + crop")
    centres = np.arange(len(coarse)) * factor + (factor - 1) / 2
    ax.scatter(centres, coarse, s=90, c="k", zorder=3, label="coarse values at cell centres")
    ax.set_xlabel("fine position")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"Upsampling by f = {factor}")
    return fig


def segmentation_examples(images, labels, predictions: Mapping[str, object], count: int = 4) -> plt.Figure:
    """Chapter 5.4: per test image, the input, the true labels and each network's predicted labels."""
    columns = 2 + len(predictions)
    fig, axes = plt.subplots(count, columns, figsize=(2 * columns, 2.1 * count))
    for i in range(count):
        panels = [("input", images[i, 0], "gray"), ("truth", labels[i], CLASSES)]
        panels += [(name, pred[i], CLASSES) for name, pred in predictions.items()]
        for j, (title, img, cmap) in enumerate(panels):
            axes[i, j].imshow(_np(img), cmap=cmap, **({} if cmap == "gray" else dict(vmin=0, vmax=2)))
            if i == 0:
                axes[i, j].set_title(title, fontsize=9)
    _no_ticks(axes)
    return fig


def video_as_image(z, visibility, good) -> plt.Figure:
    """Chapter 5.5: one video's features (N, D) as a D x N image, over its visibility and bad frames."""
    fig, axes = plt.subplots(2, 1, figsize=(9, 4), sharex=True, gridspec_kw=dict(height_ratios=[2, 1]))
    axes[0].imshow(_np(z).T, aspect="auto", cmap="PuOr_r", vmin=-8, vmax=8)
    axes[0].set_ylabel("feature channel")
    axes[0].set_title("One test video as a 1-D image: N frames (x) with 128 channels (y)")
    axes[1].plot(_np(visibility), c="k", label="visibility $v_i$")
    _shade(axes[1], _np(good) == 0, "bad frames")
    axes[1].set(xlabel="frame i", ylim=(0, 1.05))
    axes[1].legend(fontsize=8, loc="lower right")
    return fig


def bad_frame_scores(videos: Sequence[tuple], xmax: int = 63) -> plt.Figure:
    """Chapter 5.7: per video ``(visibility (N,), good (N,), {scorer name: lambda (N,)})``, the scores of
    each scorer over the truth (bad frames shaded)."""
    fig, axes = plt.subplots(len(videos), 1, figsize=(9, 2 * len(videos)), sharey=True)
    for v, (ax, (visibility, good, scores)) in enumerate(zip(np.ravel(axes), videos, strict=True)):
        _shade(ax, _np(good) == 0, "bad (truth)")
        ax.plot(_np(visibility), c="k", lw=1, label="visibility")
        for (name, lam), style, colour in zip(scores.items(), (":", "-"), (PALETTE["vermillion"], SAME), strict=False):
            ax.plot(_np(lam), style, lw=1.8, c=colour, label=f"$\\lambda$: {name}")
        ax.set(xlim=(0, xmax), ylabel=f"video {v}")
    first = np.ravel(axes)[0]
    first.legend(fontsize=7, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    np.ravel(axes)[-1].set_xlabel("frame i")
    fig.suptitle("Scores on test videos of different lengths, one network for all", y=1.0)
    return fig


def sigmoid_vs_softmax(videos: Sequence[tuple]) -> plt.Figure:
    """Chapter 6.4: per video ``(visibility (N,), alpha (N,), title)``, the sigmoid of the scores and the
    softmax scaled by N (1 = a fair share of the video's weight)."""
    import torch

    fig, axes = plt.subplots(1, len(videos), figsize=(5 * len(videos), 3), sharey=True)
    for ax, (visibility, alpha, title) in zip(np.ravel(axes), videos, strict=True):
        a = torch.as_tensor(alpha)
        _shade(ax, _np(visibility) < 0.5, "occluded")
        ax.plot(_np(torch.sigmoid(a)), "o-", ms=3, c=SAME, label="sigmoid $\\lambda_i$")
        ax.plot(_np(len(a) * torch.softmax(a, 0)), "s-", ms=3, c=PALETTE["vermillion"], label="softmax $w_i \\times N$")
        ax.axhline(1, c="gray", lw=0.5)
        ax.set(title=title, xlabel="frame i")
    np.ravel(axes)[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Same scores, two normalisations (softmax scaled by N: 1 = a fair share)", y=1.04)
    return fig


def pooling_under_occlusion(occlusions, results: Mapping[str, Sequence[float]], people: int) -> plt.Figure:
    """Chapter 6.7: rank-1 of each pooling against the occluded share of every video."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (name, r), colour, marker in zip(results.items(), SERIES, "os^vDP", strict=False):
        ls = ":" if "oracle" in name else "-"
        ax.plot(occlusions, r, ls=ls, marker=marker, c="k" if "oracle" in name else colour, label=name)
    ax.set(xlabel="share of occluded frames in every video", ylabel="rank-1 accuracy", ylim=(0, 1.02))
    ax.set_title(f"Pooling under occlusion ({people} people, synthetic features)")
    ax.legend(fontsize=8)
    return fig


def training_curves(history: Mapping[str, Sequence[float]], per_step=None, chance=None) -> plt.Figure:
    """Chapter 7: the terms of Eq. 4 per epoch (and per step, faint, when ``per_step`` maps each term to
    its values), and the identity accuracy and monitoring rank-1 (dotted: ``chance``, a pair of
    levels for the two)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    epochs = len(history["epoch"])
    x_epoch = np.array(history["epoch"]) + 1.0  # each epoch's mean, at its end
    terms = [("total", "loss", "black"), ("id1", "id1", SAME), ("hinge", "hinge", PALETTE["vermillion"])]
    terms.append(("id2", "id2", PALETTE["sky blue"]))
    for name, key, colour in terms:
        if per_step is not None:
            steps = np.asarray(per_step[name])
            axes[0].plot(np.arange(1, len(steps) + 1) * epochs / len(steps), steps, c=colour, alpha=0.25, lw=0.8)
        axes[0].plot(x_epoch, history[key], "o-", ms=3, c=colour, label=name)
    axes[0].set(
        xlabel="epoch", ylabel="loss", title="Eq. 4 and its terms" + (" (faint: every step)" if per_step else "")
    )
    axes[0].legend(fontsize=8)
    axes[1].plot(x_epoch, history["id_acc"], "o-", ms=3, c=SAME, label="identity accuracy (train pairs)")
    if history.get("val_rank1"):
        axes[1].plot(
            np.array(history["val_epoch"]) + 1,
            np.array(history["val_rank1"]) / 100,
            "s-",
            c=PALETTE["orange"],
            label="rank-1 (test persons)",
        )
    for level, colour in zip(chance or (), (SAME, PALETTE["orange"]), strict=False):
        axes[1].axhline(level, c=colour, ls=":", lw=1)
    axes[1].set(xlabel="epoch", ylim=(0, 1.05), title="accuracy" + (" (dotted: chance)" if chance else ""))
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def pair_distances(before: tuple, after: tuple, margin: float = 2.0) -> plt.Figure:
    """Chapter 7: histograms of same-person and different-person distances (each a pair
    ``(positives, negatives)``) before (dotted) and after (solid) training."""
    fig, ax = plt.subplots(figsize=(6, 3.3))
    top = max(float(np.max(_np(d))) for pair in (before, after) for d in pair)
    bins = np.linspace(0, max(top, margin) * 1.02, 26)
    for (pos, neg), ls, when in [(before, ":", "before"), (after, "-", "after")]:
        ax.hist(_np(pos), bins, histtype="step", ls=ls, color=SAME, lw=1.6, label=f"same, {when}")
        ax.hist(_np(neg), bins, histtype="step", ls=ls, color=WRONG, lw=1.6, label=f"different, {when}")
    ax.axvline(margin, c="gray", ls="--", lw=1)
    ax.set(xlabel="distance, test persons (camera 1 vs 2)", ylabel="pairs", title="pair distances before / after")
    ax.legend(fontsize=7)
    return fig


def cmc_curves(curves: Mapping[str, Sequence[float]], chance: bool = True, ax=None, title: str = ""):
    """Chapter 9: CMC curves in % (rank 1 first), with the curve of a random ranking when ``chance``.
    Draws on ``ax`` (a new figure when None) and returns the figure."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
    longest = max(len(c) for c in curves.values())
    for (name, curve), colour, ls in zip(curves.items(), SERIES, ("-", "--", "-.", ":"), strict=False):
        ax.plot(np.arange(1, len(curve) + 1), _np(curve), c=colour, ls=ls, label=name)
    if chance:
        ranks = np.arange(1, longest + 1)
        ax.plot(ranks, 100 * ranks / longest, c=PALETTE["grey"], ls=":", label="random ranking")
    ax.set(xlabel="rank k", ylabel="CMC(k) (%)", xlim=(1, longest), ylim=(0, 101), title=title)
    ax.legend(fontsize=8)
    return fig or ax.figure


def ranked_gallery(query_frame, gallery_frames, distances, right, title: str = "") -> plt.Figure:
    """Chapter 9: a query's frame and its nearest gallery videos' frames, in ranked order; the right
    matches are framed thick in blue, the wrong ones thin in vermillion."""
    top = len(gallery_frames)
    fig, axes = plt.subplots(1, top + 1, figsize=(1.3 * (top + 1), 2.6))
    axes[0].imshow(query_frame)
    axes[0].set_title("query", fontsize=8)
    for k, (ax, frame, d, ok) in enumerate(zip(axes[1:], gallery_frames, distances, right, strict=True)):
        colour = SAME if ok else WRONG
        ax.imshow(frame)
        ax.set_title(f"rank {k + 1}\nd = {d:.2f}" + ("\nright" if ok else ""), fontsize=8, color=colour)
        for side in ax.spines.values():
            side.set(color=colour, linewidth=4 if ok else 1)
    _no_ticks(axes)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
