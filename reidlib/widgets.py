"""``reidlib.widgets`` is :mod:`reidlib.book.widgets` (the explorers), under the name the chapters and users import."""

import sys

from .book import widgets

sys.modules[__name__] = widgets
