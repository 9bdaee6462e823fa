"""``reidlib.diagrams`` is :mod:`reidlib.book.diagrams` (concept figures and charts), under the name the chapters
and users import; ``reidlib.diagrams.charts``, ``.concepts`` and ``.palette`` are those of the book."""

import importlib
import pkgutil
import sys

from .book import diagrams, palette

for _sub in pkgutil.iter_modules(diagrams.__path__):
    sys.modules[f"{__name__}.{_sub.name}"] = importlib.import_module(f"{diagrams.__name__}.{_sub.name}")
sys.modules[f"{__name__}.palette"] = palette
sys.modules[__name__] = diagrams
