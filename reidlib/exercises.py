"""``reidlib.exercises`` is :mod:`reidlib.book.exercises` (the chapters' checks), under the name the chapters,
the course and users import; ``reidlib.exercises.ch05`` and the other submodules are those of that package."""

import importlib
import pkgutil
import sys

from .book import exercises

for _sub in pkgutil.iter_modules(exercises.__path__):
    sys.modules[f"{__name__}.{_sub.name}"] = importlib.import_module(f"{exercises.__name__}.{_sub.name}")
sys.modules[__name__] = exercises
