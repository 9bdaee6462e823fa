"""Train/test splits of persons (never of tracklets): the 10-split protocol (chapter 2).

A split is a dict ``{"train": [pid, ...], "test": [pid, ...]}``. Splitting persons,
not tracklets, is what makes the test honest: nobody seen in training is ever a query.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

Split = dict[str, list[int]]


def make_splits(pids: Iterable[int], num_splits: int = 10, train_fraction: float = 0.5, seed: int = 0) -> list[Split]:
    """``num_splits`` random partitions of the persons into train and test.

    Each split draws a fresh permutation; the first ``round(train_fraction * P)``
    persons train, the rest test. Both lists are sorted.
    """
    pids = [int(p) for p in pids]
    if len(set(pids)) != len(pids):
        raise ValueError(
            f"make_splits needs distinct person ids; found {len(pids) - len(set(pids))} "
            "duplicates. Pass the persons (e.g. dataset.pids), not one id per tracklet."
        )
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be strictly between 0 and 1; found {train_fraction}.")
    num_train = int(round(train_fraction * len(pids)))
    if not 0 < num_train < len(pids):
        raise ValueError(
            f"{len(pids)} persons with train_fraction={train_fraction} leaves "
            f"{num_train} to train and {len(pids) - num_train} to test; both need at least one. "
            "Use more persons or another fraction."
        )
    if int(num_splits) < 1:
        raise ValueError(f"num_splits must be at least 1; found {num_splits}.")
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(int(num_splits)):
        order = rng.permutation(len(pids))
        splits.append(
            {"train": sorted(pids[i] for i in order[:num_train]), "test": sorted(pids[i] for i in order[num_train:])}
        )
    return splits


def check_splits(splits: list[Split], pids: Iterable[int] | None = None) -> None:
    """Raise ValueError unless every split has disjoint, non-empty train and test lists
    whose persons all belong to ``pids`` (when given)."""
    known = None if pids is None else {int(p) for p in pids}
    if not splits:
        raise ValueError("Expected at least one split; found none. Use make_splits(pids) to make some.")
    for i, s in enumerate(splits):
        if not isinstance(s, dict) or set(s) != {"train", "test"}:
            raise ValueError(
                f"Split {i} must be a dict with exactly the keys 'train' and 'test'; "
                f"found {type(s).__name__} {sorted(s) if isinstance(s, dict) else s!r}."
            )
        train, test = set(s["train"]), set(s["test"])
        if not train or not test:
            raise ValueError(f"Split {i} has {len(train)} train and {len(test)} test persons; both need some.")
        if train & test:
            raise ValueError(
                f"Split {i} puts persons {sorted(train & test)[:5]} in both train and test; "
                "a person must be on one side only."
            )
        if known is not None and (train | test) - known:
            unknown = sorted((train | test) - known)
            raise ValueError(
                f"Split {i} names {len(unknown)} persons that are not in the dataset "
                f"({unknown[:5]}{' ...' if len(unknown) > 5 else ''}); expected only the dataset's "
                f"{len(known)} persons. Were the splits made for another dataset? Make splits for "
                "this one with make_splits(dataset.pids), or pass the splits made for it."
            )


def save_splits(splits: list[Split], path: str | os.PathLike) -> Path:
    """Write splits as JSON (a list of {"train": [...], "test": [...]}); returns the path."""
    check_splits(splits)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            [{"train": [int(p) for p in s["train"]], "test": [int(p) for p in s["test"]]} for s in splits], indent=1
        )
    )
    return path


def load_splits(path: str | os.PathLike) -> list[Split]:
    """Read splits written by :func:`save_splits`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No splits file at {path}. Make one with save_splits(make_splits(pids), path).")
    try:
        splits = json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(
            f"{path} is not valid JSON ({e}); expected a list of "
            '{"train": [...], "test": [...]} written by save_splits.'
        ) from None
    if not isinstance(splits, list):
        raise ValueError(f"{path} holds a {type(splits).__name__}; expected a list of splits.")
    check_splits(splits)
    return [{"train": [int(p) for p in s["train"]], "test": [int(p) for p in s["test"]]} for s in splits]
