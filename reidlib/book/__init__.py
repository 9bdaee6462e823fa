"""The book's helpers: what the chapters show, computed from the library and its results files.

A leaf: nothing in the core library imports it. :mod:`.verdicts` turns the ablation's results
(end to end and the lab) into tables and sentences, so that no number in the book is typed by hand.
"""
