"""Every notebook in book/ is stored clean, listed in the toc, starts with the setup cell, and has a
MyST text twin in sync with it."""

import json
import os
import shutil

import pytest

from tools import nbtools

NOTEBOOKS = nbtools.book_notebooks()


def test_the_book_has_notebooks():
    assert any(p.name.startswith("ch01") for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    assert nbtools.check_notebook(path) == []


def test_every_toc_entry_exists():
    root = nbtools.ROOT
    for entry in nbtools.toc_files():
        assert any((root / (entry + ext)).exists() for ext in (".ipynb", ".md")), entry


@pytest.fixture
def fake_book(tmp_path):
    """A copy of the book's config and chapter 1 in a temporary root."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(nbtools.ROOT / name, tmp_path / name)
    (tmp_path / "book").mkdir()
    nb = tmp_path / "book" / "ch01_problem.ipynb"
    shutil.copy(nbtools.ROOT / "book" / "ch01_problem.ipynb", nb)
    shutil.copy(nbtools.ROOT / "book" / "ch01_problem.md", tmp_path / "book" / "ch01_problem.md")
    assert nbtools.check_notebook(nb, tmp_path) == []
    return tmp_path, nb


def _edit(nb, change):
    data = json.loads(nb.read_text())
    change(data)
    nb.write_text(json.dumps(data))


def test_stored_output_is_caught(fake_book):
    root, nb = fake_book

    def add_output(d):
        cell = [c for c in d["cells"] if c["cell_type"] == "code"][1]
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
        cell["execution_count"] = 3

    _edit(nb, add_output)
    problems = nbtools.check_notebook(nb, root)
    assert any("stored outputs" in p for p in problems) and any("execution count" in p for p in problems)
    nbtools.strip(nb)
    assert nbtools.check_notebook(nb, root) == []


def test_other_kernel_missing_setup_and_toc_are_caught(fake_book):
    root, nb = fake_book

    def break_it(d):
        d["metadata"]["kernelspec"]["name"] = "julia-1.9"
        d["cells"] = [c for c in d["cells"] if "google.colab" not in "".join(c["source"])]

    _edit(nb, break_it)
    stray = nb.with_name("ch99_stray.ipynb")
    shutil.copy(nb, stray)
    problems = nbtools.check_notebook(stray, root)
    assert any("kernel is 'julia-1.9'" in p for p in problems)
    assert any("setup cell" in p for p in problems)
    assert any("not listed in _toc.yml" in p for p in problems)


def test_a_twin_out_of_sync_or_missing_is_caught_and_sync_mends_it(fake_book):
    root, nb = fake_book
    md = nbtools.twin(nb)
    text = md.read_text()
    md.write_text(text.replace("## 1.2 Query, gallery, ranking", "## 1.2 Query, gallery and ranking"))
    os.utime(md, (nb.stat().st_mtime + 5,) * 2)  # edited after the notebook
    problems = nbtools.check_notebook(nb, root)
    assert any("ch01_problem.ipynb and ch01_problem.md differ from cell" in p for p in problems), problems
    nbtools.sync(nb, root)  # the edited text is newer: it wins
    assert nbtools.check_notebook(nb, root) == []
    cells = json.loads(nb.read_text())["cells"]
    assert "## 1.2 Query, gallery and ranking" in "".join("".join(c["source"]) for c in cells)
    md.unlink()
    assert any("no text twin ch01_problem.md" in p for p in nbtools.check_notebook(nb, root))


def test_a_changed_tag_is_out_of_sync(fake_book):
    root, nb = fake_book
    md = nbtools.twin(nb)
    md.write_text(md.read_text().replace(":tags: [remove-input]", ":tags: [hide-input]", 1))
    assert any("differ from cell" in p for p in nbtools.check_notebook(nb, root))


def test_new_chapter_from_text_gets_the_colab_cells(fake_book):
    root, _ = fake_book
    md = root / "book" / "ch02_new.md"
    md.write_text(
        "---\nkernelspec:\n  name: python3\n  display_name: Python 3\n  language: python\n---\n\n"
        "# 2. New\n\nText.\n\n```{code-cell}\nx = 1\n```\n"
    )
    nb = nbtools.new(md, root)
    problems = nbtools.check_notebook(nb, root)
    assert problems == ["book/ch02_new is not listed in _toc.yml"], problems
    cells = json.loads(nb.read_text())["cells"]
    assert [c.get("id") for c in cells[1:3]] == ["colab-link", "colab-setup"]
    assert nbtools.colab_url(nb, root) in "".join(cells[1]["source"])
    assert nbtools.setup_source(root) in md.read_text()  # the twin carries the setup cell too


def test_sync_replaces_an_old_setup_cell_and_keeps_one(fake_book):
    root, nb = fake_book
    for _ in range(2):  # the first sync replaces whatever setup cell the copy had; the second finds its own
        nbtools.sync(nb, root)
        code = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
        assert "".join(code[0]["source"]) == nbtools.setup_source(root)
        assert sum(nbtools.SETUP_HEADER in "".join(c["source"]) for c in code) == 1
