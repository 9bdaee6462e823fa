"""The layers of docs/architecture.md at run time: the core never loads the book's helpers, and the names
that moved to another layer stay importable where chapters, course masters and users import them."""

import importlib
import subprocess
import sys

import pytest

import reidlib._io
import reidlib.book.exercises
import reidlib.models
from reidlib.models import build, checkpoint_file

CORE = ["reidlib.cli", "reidlib.experiments", "reidlib.experiments.lab", "reidlib.training", "reidlib.evaluation"]


BOOK = ("reidlib.book", "reidlib.viz", "reidlib.widgets", "reidlib.exercises", "reidlib.diagrams")


@pytest.mark.slow
def test_the_core_never_loads_the_book():
    imports = "; ".join(f"import {m}" for m in CORE)
    code = f"import sys; {imports}; print(sorted(m for m in sys.modules if m.startswith({BOOK!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "old, new",
    [
        ("reidlib.viz", "reidlib.book.viz"),
        ("reidlib.widgets", "reidlib.book.widgets"),
        ("reidlib.diagrams", "reidlib.book.diagrams"),
        ("reidlib.diagrams.charts", "reidlib.book.diagrams.charts"),
        ("reidlib.diagrams.palette", "reidlib.book.palette"),
        ("reidlib.exercises", "reidlib.book.exercises"),
        ("reidlib.exercises._core", "reidlib.book.exercises._core"),
        ("reidlib.exercises.ch09", "reidlib.book.exercises.ch09"),
    ],
)
def test_the_book_helpers_old_names_are_the_same_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_every_exercise_module_has_its_old_name():
    for name in ("ch01", "ch05", "ch13"):
        assert importlib.import_module(f"reidlib.exercises.{name}") is getattr(reidlib.book.exercises, name)


@pytest.mark.parametrize(
    "old, names, home",
    [
        ("reidlib.data.tempfiles", ["atomic_file", "folder_lock", "temp_tag", "remove_stale", "HOST"], reidlib._io),
        ("reidlib.data.integrity", ["CacheRebuiltWarning", "ChecksumWriter", "problem", "trust"], reidlib._io),
        ("reidlib.training", ["atomic_write_text"], reidlib._io),
        ("reidlib.training.checkpoint", ["atomic_save", "atomic_write_text", "file_sha256"], reidlib._io),
        ("reidlib.training", ["build_model", "load_model", "export_weights", "model_config", "load_weights"], build),
        ("reidlib.training.checkpoint", ["build_model", "load_model", "export_weights", "model_config"], build),
        ("reidlib.training", ["read_checkpoint"], checkpoint_file),
        (
            "reidlib.training.checkpoint",
            ["read_checkpoint", "check_plain", "FORMAT", "FORMAT_VERSION"],
            checkpoint_file,
        ),
        ("reidlib.models", ["build_model", "load_model", "export_weights", "read_checkpoint"], reidlib.models),
    ],
)
def test_moved_names_are_importable_where_they_were(old, names, home):
    module = importlib.import_module(old)
    for name in names:
        assert getattr(module, name) is getattr(home, name), f"{old}.{name}"


def test_the_loaders_keep_their_import_path():
    from reidlib.data import load_dataset
    from reidlib.data.loaders import LOADERS
    from reidlib.data.loaders import load_dataset as same
    from reidlib.data.loaders.mars import load_mars
    from reidlib.data.mars import load_mars as old_mars
    from reidlib.data.mars import mars_like

    assert load_dataset is same and LOADERS["mars"] is load_mars is old_mars and callable(mars_like)
    assert sorted(LOADERS) == ["folder", "ilidsvid", "mars", "prid2011", "sduvid", "synthetic"]
