"""Every notebook in book/ is stored clean, listed in the toc, starts with the setup cell."""
import json
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


def test_setup_cell_is_a_no_op_without_colab():
    """Run the setup cell's logic outside Colab: nothing is installed."""
    src = nbtools.setup_source()
    assert nbtools.repository_url() in src
    guarded = src.replace("%pip install", "raise SystemExit  # would install:")
    exec(compile(guarded, "<setup>", "exec"), {})
