"""The published book's Colab edition: each notebook installs the reidlib of the commit the book was
built from, shows its model answers folded, and links to itself; `relink` points a build at it."""

import json
import re
import shutil

import pytest
from markdown_it import MarkdownIt

from tests.book.test_colab import run_setup
from tools import link_check, nbtools

SHA = "0123456789abcdef0123456789abcdef01234567"
REPO, BRANCH = link_check.repository()
DROPDOWN = re.compile(r"```\{admonition\}[^\n]*\n:class: dropdown")


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("edition")
    written = nbtools.write_edition(dest, SHA)
    assert len(written) == len(nbtools.book_notebooks())
    return dest


def _cells(path, kind):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("path", nbtools.book_notebooks(), ids=lambda p: p.name)
def test_the_edition_installs_reidlib_at_the_build_commit(path, edition, tmp_path, monkeypatch):
    rel = path.relative_to(nbtools.ROOT)
    setup = _cells(edition / rel, "code")[0]
    assert f"@{SHA}" in setup and f"@{BRANCH}" not in setup
    commands = run_setup(setup, tmp_path, monkeypatch)
    assert commands[0] == ["-m", "pip", "install", "-q", "--no-deps", f"reidlib @ git+https://github.com/{REPO}@{SHA}"]
    links = re.findall(
        r"https://colab\.research\.google\.com/github/[^\s)]+", "\n".join(_cells(edition / rel, "markdown"))
    )
    assert links and all(link_check.colab_target(u) == (REPO, f"colab-{SHA}", rel.as_posix()) for u in links)


@pytest.mark.parametrize("path", nbtools.book_notebooks(), ids=lambda p: p.name)
def test_the_edition_folds_every_model_answer(path, edition):
    before = "\n".join(_cells(path, "markdown"))
    after = "\n".join(_cells(edition / path.relative_to(nbtools.ROOT), "markdown"))
    assert not DROPDOWN.search(after)
    assert after.count("<details>") == len(DROPDOWN.findall(before))
    assert _cells(path, "code")[1:] == _cells(edition / path.relative_to(nbtools.ROOT), "code")[1:]  # code as is


def test_a_model_answer_renders_folded_with_its_markdown_and_math():
    """Colab renders markdown as CommonMark with HTML: the answer's text stays markdown inside <details>."""
    source = (
        "**Exercise 9.9.** Why?\n\n"
        "```{admonition} Model answer (check your reasoning)\n:class: dropdown\n\n"
        "Because **ties** count against the model, $100/Q$ points each.\n\nA second paragraph.\n```\n\nAfter."
    )
    html = MarkdownIt("commonmark").render(nbtools.colab_markdown(source))
    folded = html[html.index("<details>") : html.index("</details>")]
    assert "<summary>Model answer (check your reasoning)</summary>" in folded
    assert "<strong>ties</strong>" in folded and "$100/Q$" in folded and "<p>A second paragraph.</p>" in folded
    assert "<p>After.</p>" in html[html.index("</details>") :] and "admonition" not in html
    assert nbtools.colab_markdown("no answer here") == "no answer here"


def test_relink_points_a_build_at_the_edition(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(nbtools.ROOT / "book", root / "book", ignore=shutil.ignore_patterns("*.md", "_static"))
    shutil.copy(nbtools.ROOT / "_config.yml", root / "_config.yml")
    nbtools.relink(f"colab-{SHA}", SHA, root=root)
    assert f"branch: colab-{SHA}" in (root / "_config.yml").read_text()
    for path in nbtools.book_notebooks(root):
        rel = path.relative_to(root).as_posix()
        links = re.findall(r"https://colab\.research\.google\.com/github/[^\s)]+", "\n".join(_cells(path, "markdown")))
        assert links and all(link_check.colab_target(u) == (REPO, f"colab-{SHA}", rel) for u in links)
    assert nbtools.book_notebooks(root) and (nbtools.ROOT / "_config.yml").read_text().count(f"branch: {BRANCH}") == 1


def test_the_benchmark_chapter_11_asks_for_is_linked_at_the_build_commit(edition):
    """ch11 (and ch04, ch08, ch12) name benchmarks/bench_models.py, which a pip install lacks: the edition
    and the published pages link to it in the repository, at the commit they were built from."""
    want = f"[`benchmarks/bench_models.py`](https://github.com/{REPO}/blob/{SHA}/benchmarks/bench_models.py)"
    source = "\n".join(_cells(nbtools.ROOT / "book" / "ch11_fcn_vs_rnn.ipynb", "markdown"))
    text = "\n".join(_cells(edition / "book" / "ch11_fcn_vs_rnn.ipynb", "markdown"))
    assert "`benchmarks/bench_models.py`" in source and want in text
    assert "`benchmarks/bench_models.py`" not in text.replace(want, "")  # every mention is linked
    assert nbtools.link_repository_files("`benchmarks/no_such.py`", SHA) == "`benchmarks/no_such.py`"
    assert nbtools.link_repository_files(want, SHA) == want  # a link stays one link
