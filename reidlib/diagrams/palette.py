"""The Okabe-Ito colours (Okabe and Ito, "Color Universal Design", 2008), distinguishable with any common
colour vision deficiency, and the roles the book gives them."""

from __future__ import annotations

PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
SAME = PALETTE["blue"]  # a right match, a positive pair, the same person
WRONG = PALETTE["vermillion"]  # a wrong match, a negative pair, another person
BAD = PALETTE["orange"]  # occluded / bad frames (shaded regions)
SERIES = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
PERSONS = [PALETTE[c] for c in ("blue", "orange", "green", "purple", "vermillion", "sky")]
MARKERS = ["o", "s", "^", "D", "v", "P"]  # a second cue besides colour, one per person or series
