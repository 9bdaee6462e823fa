"""The teacher's tests of the demo's hidden tests: answers that must pass, and plausible wrong ones that
must fail (tests/course/test_course.py runs them for every assignment)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

RIGHT = {
    "check_distances": (lambda q, g: cdist(q, g),),
    "check_rank1": (
        lambda d, qp, gp: float(
            np.mean([gp[np.lexsort((gp == p, row))[0]] == p for row, p in zip(d, qp, strict=True)])
        ),
    ),
}
WRONG = {
    "check_distances": {
        "squared distances": lambda q, g: cdist(q, g) ** 2,
        "the transpose": lambda q, g: cdist(g, q),
        "city-block distances": lambda q, g: cdist(q, g, "cityblock"),
    },
    "check_rank1": {
        "ties counted for the model": lambda d, qp, gp: float(np.mean(gp[d.argmin(1)] == qp)),
        "the farthest item": lambda d, qp, gp: float(np.mean(gp[d.argmax(1)] == qp)),
        "a count, not a fraction": lambda d, qp, gp: float(
            np.sum(gp[np.lexsort((gp[None] == qp[:, None], d))[:, 0]] == qp)
        ),
    },
}
