"""The book's helpers: what every chapter shows, computed from the library and its results files.

A leaf: nothing in the core library imports it (the import-linter contract in ``pyproject.toml``).

* :mod:`.verdicts` turns the ablation's results (end to end and the lab) into tables and sentences,
  so that no number in the book is typed by hand; :mod:`.figures` draws them;
* :mod:`.viz` (figures of videos, attention and rankings), :mod:`.diagrams` (concept figures and the
  chapters' charts) and :mod:`.widgets` (explorers with a static rendering), all in the colours of
  :mod:`.palette`;
* :mod:`.exercises`: the ``check_*`` functions of the chapters' exercises.

The chapters import ``reidlib.viz``, ``reidlib.widgets``, ``reidlib.diagrams`` and ``reidlib.exercises``:
those names are these modules.
"""
