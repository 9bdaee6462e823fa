"""``reidlib.viz`` is :mod:`reidlib.book.viz` (the book's figures), under the name the chapters and users import."""

import sys

from .book import viz

sys.modules[__name__] = viz
