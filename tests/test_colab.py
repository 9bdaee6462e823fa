"""Every chapter opens in Colab from its own path in the repository, and its setup cell installs
reidlib from that repository on Colab only. All of it derives from _config.yml's repository."""

import json
import re
import sys
import types

import pytest
import tomllib
from IPython.core.inputtransformer2 import TransformerManager

from tools import link_check, nbtools

NOTEBOOKS = nbtools.book_notebooks()
REPO, BRANCH = link_check.repository()
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'>]+")


def _cells(path, kind):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_links_point_at_this_notebook(path):
    links = COLAB_LINK.findall("\n".join(_cells(path, "markdown")))
    assert links, f"{path.name} has no Colab link (tools/nbtools.py build adds one)"
    own = path.relative_to(nbtools.ROOT).as_posix()
    for url in links:
        assert link_check.colab_target(url) == (REPO, BRANCH, own), url
        assert (nbtools.ROOT / own).is_file()


def _run_setup(source, on_colab, monkeypatch):
    """Run a setup cell as IPython would, with %pip recorded instead of run."""
    calls = []
    fake_ipython = types.SimpleNamespace(run_line_magic=lambda name, line: calls.append((name, line)))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(TransformerManager().transform_cell(source), {"get_ipython": lambda: fake_ipython})
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_installs_from_the_repository_on_colab_only(path, monkeypatch):
    setup = _cells(path, "code")[0]
    assert _run_setup(setup, on_colab=False, monkeypatch=monkeypatch) == []
    calls = _run_setup(setup, on_colab=True, monkeypatch=monkeypatch)
    assert len(calls) == 1 and calls[0][0] == "pip", calls
    name = tomllib.loads((nbtools.ROOT / "pyproject.toml").read_text())["project"]["name"]
    extras = "[course]" if "assignments" in path.parts else ""  # the assignments also install otter-grader
    assert f'"{name}{extras} @ git+https://github.com/{REPO}@{BRANCH}"' in calls[0][1], calls[0][1]


def test_colab_url_follows_the_repository_setting(tmp_path):
    """Point _config.yml at another repository: the link follows (one setting, nothing hard-coded)."""
    cfg = (nbtools.ROOT / "_config.yml").read_text().replace(f"github.com/{REPO}", "github.com/someone/fork")
    (tmp_path / "_config.yml").write_text(cfg)
    (tmp_path / "book").mkdir()
    nb = tmp_path / "book" / "ch01_x.ipynb"
    assert link_check.colab_target(nbtools.colab_url(nb, tmp_path)) == ("someone/fork", BRANCH, "book/ch01_x.ipynb")
    assert "git+https://github.com/someone/fork@" in nbtools.setup_source(tmp_path)


def test_explorer_turns_on_colab_widget_manager_only_on_colab(monkeypatch):
    import matplotlib.pyplot as plt

    from reidlib.widgets import explorer

    calls = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("on"))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    explorer(lambda a: plt.figure(figsize=(1, 1)), static=[{"a": 1}])
    assert calls == []
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    explorer(lambda a: plt.figure(figsize=(1, 1)), static=[{"a": 1}])
    assert calls == ["on"]
