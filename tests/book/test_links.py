"""tools/link_check.py on small hand-written builds: what resolves, what does not, what is listed."""

import shutil

import pytest

from tools import link_check, nbtools


def _write(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><head></head><body>{body}</body></html>")


@pytest.fixture
def build(tmp_path):
    html = tmp_path / "html"
    _write(html / "index.html", "")
    (html / "index.html").write_text(
        '<html><head><meta http-equiv="refresh" content="0; url=book/intro.html" /></head></html>'
    )
    _write(
        html / "book" / "intro.html",
        '<h1 id="intro">Intro</h1><a href="ch01.html">ok</a> <a href="ch01.html#goals">ok anchor</a>'
        '<a href="#intro">self</a> <a href="#">top</a> <a href="../_static/logo.png?v=1">ok asset</a>'
        '<a href="https://example.org/paper">paper</a> <a href="mailto:a@b.c">mail</a>'
        '<img src="data:image/png;base64,AAAA">',
    )
    _write(
        html / "book" / "ch01.html",
        '<section id="goals"><h1>One</h1></section><a href="ch02.html">missing page</a>'
        '<a href="intro.html#nowhere">missing anchor</a><img src="../_images/gone.png">'
        '<script src="../_static/app.js?v=abc"></script><a href="https://example.org/paper">again</a>',
    )
    (html / "_static").mkdir()
    (html / "_static" / "logo.png").write_bytes(b"png")
    (html / "_static" / "app.js").write_text("")
    _write(html / "_static" / "ignored.html", '<a href="nowhere.html">not a page of the book</a>')
    return html


def test_internal_links_and_assets_must_resolve(build):
    problems, external = link_check.check_links(build)
    assert set(problems) == {"book/ch01.html"}
    found = "\n".join(problems["book/ch01.html"])
    assert "link 'ch02.html': no file" in found
    assert "link 'intro.html#nowhere': no id 'nowhere' in intro.html" in found
    assert "asset '../_images/gone.png': no file" in found
    assert len(problems["book/ch01.html"]) == 3


def test_external_links_are_listed_once_not_fetched(build):
    _, external = link_check.check_links(build)
    assert external == ["https://example.org/paper", "mailto:a@b.c"]


def test_a_missing_build_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="index.html.*make book"):
        link_check.check_links(tmp_path)


def test_main_lists_external_links_and_fails_on_problems(build, tmp_path, capsys):
    shutil.copy(nbtools.ROOT / "_config.yml", tmp_path / "_config.yml")
    listed = tmp_path / "external.txt"
    assert link_check.main([str(build), "--root", str(tmp_path), "--external", str(listed)]) == 1
    assert listed.read_text().splitlines() == ["https://example.org/paper", "mailto:a@b.c"]
    assert "book/ch01.html: link 'ch02.html'" in capsys.readouterr().out


@pytest.fixture
def colab_book(tmp_path):
    """A source root with the book's _config.yml and two notebooks, and a build of their pages."""
    root, html = tmp_path, tmp_path / "html"
    shutil.copy(nbtools.ROOT / "_config.yml", root / "_config.yml")
    (root / "book").mkdir()
    for name in ("ch01", "ch02"):
        (root / "book" / f"{name}.ipynb").write_text("{}")
    repo, branch = link_check.repository(root)
    base = f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
    return root, html, base


def test_colab_links_must_point_at_the_page_notebook(colab_book):
    root, html, base = colab_book
    _write(html / "book" / "ch01.html", f'<a href="{base}book/ch01.ipynb">launch</a>')
    _write(
        html / "book" / "ch02.html",
        f'<a href="{base}book/ch01.ipynb">wrong chapter</a><a href="{base}book/ch09.ipynb">no such notebook</a>',
    )
    _write(html / "book" / "intro.html", "")  # made from a .md page: no Colab link needed
    problems = link_check.check_colab(html, root)
    assert set(problems) == {"book/ch02.html"}
    found = "\n".join(problems["book/ch02.html"])
    assert "points at book/ch01.ipynb, expected this page's notebook book/ch02.ipynb" in found
    assert "points at book/ch09.ipynb, which is not a file of the repository" in found


def test_colab_links_must_use_the_configured_repository_and_branch(colab_book):
    root, html, base = colab_book
    repo, branch = link_check.repository(root)
    _write(html / "book" / "ch01.html", f'<a href="{base.replace(branch, "dev")}book/ch01.ipynb">branch</a>')
    _write(html / "book" / "ch02.html", f'<a href="{base.replace(repo, "someone/fork")}book/ch02.ipynb">fork</a>')
    problems = link_check.check_colab(html, root)
    assert f"points at {repo}@dev, expected {repo}@{branch}" in problems["book/ch01.html"][0]
    assert f"points at someone/fork@{branch}" in problems["book/ch02.html"][0]


def test_a_notebook_page_without_colab_link_fails(colab_book):
    root, html, _ = colab_book
    _write(html / "book" / "ch01.html", "<h1>no launch button</h1>")
    assert link_check.check_colab(html, root) == {"book/ch01.html": ["no Colab link on the page of book/ch01.ipynb"]}


def test_colab_target_rejects_other_addresses():
    with pytest.raises(ValueError, match="expected a link starting with https://colab"):
        link_check.colab_target("https://example.org/x.ipynb")
    with pytest.raises(ValueError, match="<owner>/<repo>/blob/<branch>/<path>"):
        link_check.colab_target("https://colab.research.google.com/github/a/b/tree/main/x.ipynb")
