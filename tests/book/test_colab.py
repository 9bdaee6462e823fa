"""Every chapter opens in Colab from its own path in the repository, and its setup cell installs
reidlib from that repository on Colab only. All of it derives from _config.yml's repository."""

import json
import re
import subprocess
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


FAKE_PYTHON = """#!{python}
import json, os, sys
with open(os.environ["FAKE_PIP_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
sys.stderr.write(os.environ.get("FAKE_PIP_STDERR", ""))
sys.exit(int(os.environ.get("FAKE_PIP_EXIT", "0")))
"""


def run_setup(source, tmp_path, monkeypatch, on_colab=True, missing=(), pip_exit=0):
    """Run a setup cell as IPython would, with ``sys.executable`` a stand-in that logs each pip command
    (and exits with ``pip_exit``), and the modules ``missing`` not importable -> the logged commands."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON.format(python=sys.executable))
    fake.chmod(0o755)
    log = tmp_path / "pip.log"
    monkeypatch.setenv("FAKE_PIP_LOG", str(log))
    monkeypatch.setenv("FAKE_PIP_EXIT", str(pip_exit))
    monkeypatch.setenv("FAKE_PIP_STDERR", "ERROR: Could not find a version that satisfies the requirement\n")
    monkeypatch.setattr(sys, "executable", str(fake))
    for module in missing:
        monkeypatch.setitem(sys.modules, module, None)  # importlib.util.find_spec(module) -> None
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    try:
        exec(TransformerManager().transform_cell(source), {})
    finally:
        commands = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return commands


REIDLIB = f"reidlib @ git+https://github.com/{REPO}@{BRANCH}"
DEPENDENCIES = tomllib.loads((nbtools.ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_starts_with_the_current_setup_cell(path):
    setup = _cells(path, "code")[0]
    extra = "course" if "assignments" in path.parts else None  # the assignments also install otter-grader
    assert setup == nbtools.setup_source(extra=extra), (
        f"{path.name}'s setup cell is not tools/nbtools.py's setup_source(): run `python tools/nbtools.py sync`"
    )


def test_the_setup_cell_does_nothing_off_colab(tmp_path, monkeypatch):
    assert run_setup(nbtools.setup_source(), tmp_path, monkeypatch, on_colab=False) == []


def test_on_colab_it_installs_reidlib_alone_when_every_dependency_is_there(tmp_path, monkeypatch):
    commands = run_setup(nbtools.setup_source(), tmp_path, monkeypatch)
    assert commands == [["-m", "pip", "install", "-q", "--no-deps", REIDLIB]]  # Colab's cv2 and torch stay


def test_on_colab_it_installs_only_the_missing_dependencies(tmp_path, monkeypatch):
    commands = run_setup(nbtools.setup_source(), tmp_path, monkeypatch, missing=("tqdm", "scipy"))
    want = [d for d in DEPENDENCIES if d.startswith(("tqdm", "scipy"))]
    assert commands == [["-m", "pip", "install", "-q", "--no-deps", REIDLIB], ["-m", "pip", "install", "-q", *want]]
    assert not any("opencv" in arg or "torch" in arg for c in commands for arg in c)  # cv2 and torch are there


def test_without_cv2_it_installs_the_headless_opencv(tmp_path, monkeypatch):
    commands = run_setup(nbtools.setup_source(), tmp_path, monkeypatch, missing=("cv2",))
    assert commands[1] == ["-m", "pip", "install", "-q", next(d for d in DEPENDENCIES if d.startswith("opencv"))]


def test_a_failed_install_stops_the_notebook_with_pips_message(tmp_path, monkeypatch):
    with pytest.raises(
        RuntimeError,
        match=r"(?s)Setup failed: pip could not install --no-deps reidlib @ .*"
        r"exit code 1.*Could not find a version.*run this cell again",
    ):
        run_setup(nbtools.setup_source(), tmp_path, monkeypatch, missing=("tqdm",), pip_exit=1)
    assert len((tmp_path / "pip.log").read_text().splitlines()) == 1  # nothing more was tried


def test_an_install_that_leaves_reidlib_unimportable_stops_the_notebook(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError, match="reidlib was installed but cannot be imported.*Restart the session"):
        run_setup(nbtools.setup_source(), tmp_path, monkeypatch, missing=("reidlib",))


def test_the_setup_cell_is_formatted_and_lint_clean_as_a_notebook_cell():
    """`make lint` checks the notebooks: the generated cell must pass as it is (88 columns)."""
    ruff = [sys.executable, "-m", "ruff"]
    config = ["--config", str(nbtools.ROOT / "book" / "ruff.toml"), "--stdin-filename", "setup.py", "-"]
    src = nbtools.setup_source() + "\n"
    formatted = subprocess.run([*ruff, "format", *config], input=src, capture_output=True, text=True, check=True)
    assert formatted.stdout == src
    subprocess.run([*ruff, "check", *config], input=src, capture_output=True, text=True, check=True)


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
