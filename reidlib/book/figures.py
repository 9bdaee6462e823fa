"""Figures of the ablation (chapter 11), drawn from the summaries of its results files.

Colours are the Okabe-Ito series of :mod:`reidlib.book.palette`, which readers with any common
colour-vision deficiency can tell apart; protocols also differ by marker, so the figures read in
greyscale too.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from .palette import MARKERS
from .palette import SERIES as OKABE_ITO
from .verdicts import spoken


def gain_chart(tables: dict[str, dict], methods: list[str], baseline: str = "mean", ax=None):
    """Each method's rank-1 difference to ``baseline`` with its 95% Student-t interval over splits, one
    row per method and one marker per table (e.g. {"lab": ..., "end to end": ...}); a filled marker is a
    difference that stays decided after Holm's correction. Returns the figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.45 * len(methods) + 1.2))
    offsets = np.linspace(-0.18, 0.18, len(tables)) if len(tables) > 1 else [0.0]
    for k, (name, table) in enumerate(tables.items()):
        for i, m in enumerate(methods):
            c = table["methods"].get(m, {}).get("summary", {}).get(f"vs_{baseline}")
            if c is None:
                continue
            t = c["t"]
            y = i + offsets[k]
            if math.isfinite(t["low"]):
                ax.plot([t["low"], t["high"]], [y, y], color=OKABE_ITO[k], lw=2)
            decided = c.get("decision", 0) != 0
            ax.plot(t["diff"], y, MARKERS[k], color=OKABE_ITO[k], mfc=OKABE_ITO[k] if decided else "white")
        ax.plot([], [], MARKERS[k], color=OKABE_ITO[k], label=name)  # the legend's marker, filled
    ax.plot([], [], "o", color="0.4", mfc="white", label="not decided after Holm")
    ax.axvline(0, color="0.4", lw=1, ls="--")
    ax.set_yticks(range(len(methods)), [spoken(m) for m in methods])
    ax.invert_yaxis()
    ax.set_xlabel(f"rank-1 minus {spoken(baseline)} (points), 95% CI over splits")
    ax.legend(loc="lower right", fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def spearman_vs_gain(table: dict, methods: list[str], baseline: str = "mean_l2", ax=None):
    """Each attention head's Spearman correlation with visibility (x) against its rank-1 difference to
    ``baseline`` (y, with its 95% interval). Returns the figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for i, m in enumerate(methods):
        s = table["methods"].get(m, {}).get("summary", {})
        rho, c = s.get("spearman"), s.get(f"vs_{baseline}")
        if rho is None or c is None:
            continue
        t = c["t"]
        color = OKABE_ITO[i % len(OKABE_ITO)]
        ax.errorbar(
            rho["mean"],
            t["diff"],
            yerr=[[t["diff"] - t["low"]], [t["high"] - t["diff"]]] if math.isfinite(t["low"]) else None,
            xerr=rho["std"],
            fmt=MARKERS[i % len(MARKERS)],
            color=color,
            capsize=3,
            label=spoken(m),
        )
    ax.axhline(0, color="0.4", lw=1, ls="--")
    ax.set_xlabel("Spearman(weights, true visibility) within a video")
    ax.set_ylabel(f"rank-1 minus {spoken(baseline)} (points)")
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure
