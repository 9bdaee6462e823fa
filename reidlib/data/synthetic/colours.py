"""The colours of the synthetic benchmark (chapter 2): clothes, skin, hair, and the scenes' walls and objects."""

from __future__ import annotations

import numpy as np

# RGB clothing colours; identities share them, so colour alone does not identify a person.
PALETTE = np.array(
    [
        [30, 30, 35],
        [225, 225, 220],
        [128, 128, 128],
        [35, 45, 100],
        [50, 100, 190],
        [180, 40, 40],
        [50, 130, 60],
        [220, 190, 50],
        [110, 70, 40],
        [200, 180, 140],
        [110, 60, 140],
        [225, 120, 40],
        [30, 130, 130],
        [220, 140, 170],
    ],
    np.float32,
)
SKIN = np.array([[240, 200, 170], [215, 165, 130], [170, 120, 85], [110, 75, 50]], np.float32)
HAIR = np.array([[20, 18, 15], [70, 45, 25], [130, 90, 50], [220, 190, 120], [160, 160, 160]], np.float32)


def colour(rng: np.random.Generator, table: np.ndarray, jitter: float = 12.0) -> np.ndarray:
    """A random colour (3,) float32 of ``table`` (n, 3), jittered by a Gaussian of std ``jitter`` per channel."""
    return np.clip(table[rng.integers(len(table))] + rng.normal(0, jitter, 3), 0, 255).astype(np.float32)
