"""Checks for the book's exercises: ``check_*`` functions give a friendly verdict.

Each check takes the student's function (not its result), calls it on cases whose
answers are known from a formula or a hand computation, prints a green tick when
all agree, and otherwise raises :class:`CheckFailed` saying what was expected and
what came back. Checks are grouped by chapter in the submodules ``ch01`` ...
and re-exported here.
"""
from ._core import CheckFailed
from .ch01 import check_rank_gallery

__all__ = ["CheckFailed", "check_rank_gallery"]
