"""The book's colours: one palette for every figure (chapters 1-13).

Lines and marks use the eight colours of Okabe and Ito ("Color Universal Design", 2008), which
readers with any common colour vision deficiency can tell apart, and a second cue (a marker per
series or person), so that a figure reads in greyscale too; no figure tells two things apart by
red against green alone. Scores use ``cividis`` (dark blue = low, yellow = high), which reads the
same in grey.
"""

from __future__ import annotations

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
PALETTE = {**OKABE_ITO, "grey": "#999999"}  # grey: neutral marks (axes of a concept, what is left out)

SAME = PALETTE["blue"]  # a right match, a positive pair, the same person
WRONG = PALETTE["vermillion"]  # a wrong match, a negative pair, another person
BAD = PALETTE["orange"]  # occluded / bad frames (shaded regions)
MATCH = PALETTE["bluish green"]  # the true match in a ranked gallery (its border)
# Series of a chart in order (the colour cycle of use_palette takes the first five); persons in a diagram.
SERIES = tuple(
    PALETTE[c] for c in ("blue", "orange", "bluish green", "vermillion", "reddish purple", "sky blue", "black")
)
PERSONS = tuple(PALETTE[c] for c in ("blue", "orange", "bluish green", "reddish purple", "vermillion", "sky blue"))
MARKERS = ("o", "s", "^", "D", "v", "P")  # a second cue besides colour, one per person or series

CMAP = "cividis"  # scores: dark blue = low (distrusted), yellow = high (trusted); safe for colour blindness
CMAP_WORDS = ("dark blue", "yellow")  # how prose names the low and the high end of CMAP
