"""Every figure of the listed chapters has an alt text a screen reader can read, and links to the
glossary; add a chapter to ALT_TEXT_CHAPTERS once its figures have theirs."""

import re

import jupytext
import pytest

from tools.nbtools import ROOT

ALT_TEXT_CHAPTERS = [
    "book/ch01_problem.md",
    "book/ch02_data.md",
    "book/ch03_preprocessing.md",
    "book/ch04_frame_cnn.md",
    "book/ch08_training.md",
    "book/ch12_reproducing.md",
]
# A cell draws a figure when it shows one, or hands one to an explorer (its static images).
DRAWS = re.compile(r"plt\.show\(\)|\bexplorer\(")


def _figure_cells(path: str):
    for cell in jupytext.read(ROOT / path).cells:
        if cell.cell_type == "code" and DRAWS.search(cell.source):
            yield cell


@pytest.mark.parametrize("path", ALT_TEXT_CHAPTERS)
def test_every_figure_has_an_alt_text(path):
    cells = list(_figure_cells(path))
    missing = [c.source.splitlines()[0] for c in cells if not c.metadata.get("mystnb", {}).get("image", {}).get("alt")]
    assert not missing, f"{path}: figure cells without mystnb.image.alt: {missing}"
    for c in cells:
        alt = c.metadata["mystnb"]["image"]["alt"]
        assert len(alt.split()) >= 8, f"{path}: an alt text should describe the figure, not name it: {alt!r}"


@pytest.mark.parametrize("path", ALT_TEXT_CHAPTERS)
def test_the_chapter_links_to_the_glossary(path):
    prose = "\n".join(c.source for c in jupytext.read(ROOT / path).cells if c.cell_type == "markdown")
    assert "](notation.md)" in prose, f"{path} does not link to book/notation.md"


def test_the_check_sees_a_figure_without_alt_text(tmp_path):
    page = tmp_path / "chXX.md"
    page.write_text(
        "---\nkernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
        "```{code-cell}\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n```\n"
    )
    cells = list(_figure_cells(str(page)))
    assert len(cells) == 1 and not cells[0].metadata.get("mystnb")
