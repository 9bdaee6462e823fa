"""Every work a page of the book cites by its authors is listed on the bibliography page."""

import re
import unicodedata

import pytest

from tools.nbtools import ROOT

BIBLIOGRAPHY = ROOT / "book" / "bibliography.md"
PAGES = sorted(ROOT.glob("book/**/*.md"))
# "McLaughlin et al.", "Gao & Nevatia, arXiv 2018", "Lucas and Kanade (1981)", "Farneback (2003)"
CITATION = re.compile(
    r"\b([A-Z][a-zA-Z\-]+) et al\b"
    r"|\b([A-Z][a-zA-Z\-]+) (?:and|&) [A-Z][a-zA-Z\-]+,? \(?(?:[A-Za-z]+ )?(?:19|20)\d\d\b"
    r"|\b([A-Z][a-z]+) \((?:19|20)\d\d\)"
)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def cited_surnames(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in CITATION.finditer(_ascii(text))}


def test_the_pattern_finds_the_ways_the_book_cites():
    text = "McLaughlin et al. (2016), Gao & Nevatia, arXiv 2018; Lucas and Kanade (1981); Farnebäck (2003)."
    assert cited_surnames(text) == {"McLaughlin", "Gao", "Lucas", "Farneback"}
    assert cited_surnames("Since 2016 most papers; PRID 2011; chapter 3 (2 cameras)") == set()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_cited_work_is_in_the_bibliography(page):
    listed = _ascii(BIBLIOGRAPHY.read_text())
    missing = sorted(name for name in cited_surnames(page.read_text()) if name not in listed)
    assert not missing, f"{page.name} cites {missing}, which book/bibliography.md does not list"
