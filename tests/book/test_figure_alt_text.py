"""Every figure of chapters 5, 6, 7, 9, 10, 11 and 13 has alt text: a sentence or two that says what it shows.

A cell that shows a figure (``plt.show()``) carries ``mystnb: image: alt:`` in its metadata, which
MyST-NB writes into the page's ``<img alt=...>``.
"""

import json
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = ["ch05_fcn_attention", "ch06_temporal_pooling", "ch07_siamese_training", "ch09_evaluation"]
CHAPTERS += ["ch10_attention_explorer", "ch11_fcn_vs_rnn", "ch13_where_the_field_went"]


def _figure_cells(chapter: str):
    nb = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    for i, cell in enumerate(nb["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "plt.show()" in source:
            yield i, source, cell["metadata"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_has_alt_text(chapter):
    cells = list(_figure_cells(chapter))
    assert cells, f"{chapter} shows no figure"
    for i, source, meta in cells:
        alt = meta.get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt.split()) >= 8, f"{chapter}, cell {i}: no alt text (or a too short one) for\n{source[:200]}"
        assert source.count("plt.show()") == 1, f"{chapter}, cell {i}: one figure per cell, so the alt text fits"
