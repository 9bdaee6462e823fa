"""Chapter 10: which frames does the model trust least, and does it agree with the truth?"""

from __future__ import annotations

import numpy as np

from ._core import as_numpy, call, close, fail, passed


def check_least_trusted(least_trusted) -> bool:
    """Check ``least_trusted(scores (T,), k) -> indices (k,)``: the k lowest-scored frames, lowest first.

    Ties go to the earlier frame (a stable sort).
    """
    title = "least_trusted"
    rng = np.random.default_rng(10)
    cases = [
        (np.array([0.9, 0.2, 0.5, 0.2, 0.8]), 2, [1, 3]),  # a tie: frame 1 before frame 3
        (np.array([0.3, 0.1, 0.7]), 3, [1, 0, 2]),
        (np.array([0.6]), 1, [0]),
    ]
    for t in (16, 40):
        s = np.round(rng.uniform(size=t), 2)  # rounding makes ties likely
        cases.append((s, 5, np.argsort(s, kind="stable")[:5].tolist()))
    for scores, k, want in cases:
        got = as_numpy(call(title, least_trusted, scores.copy(), k)).ravel()
        if got.shape != (k,):
            fail(title, f"{k} frame indices", f"shape {got.shape}", "return the first k entries of the sorted order")
        got = got.astype(int).tolist()
        if got != list(want):
            hint = "sort the scores from low to high (np.argsort) and keep the first k indices"
            if sorted(got) == sorted(want):
                hint = "the right frames in the wrong order: lowest score first, ties by frame index (kind='stable')"
            elif got == np.argsort(-scores, kind="stable")[:k].tolist():
                hint = "these are the most trusted frames; the least trusted have the lowest scores"
            fail(title, f"{list(want)} for scores {scores.tolist()} and k={k}", got, hint)
    return passed(title, "These are the frames the model would rather ignore.")


def check_pearson(pearson) -> bool:
    """Check ``pearson(a (n,), b (n,)) -> float``, the Pearson correlation coefficient."""
    title = "pearson"
    rng = np.random.default_rng(11)
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]), 1.0),  # b = 2a: perfectly correlated
        (np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0]), -1.0),  # reversed
        (np.array([1.0, 0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0, -1.0]), 0.0),
    ]  # orthogonal
    for _ in range(3):
        a = rng.uniform(size=30)
        b = 0.7 * a + 0.3 * rng.uniform(size=30) + 5.0  # an offset the formula must remove
        cases.append((a, b, float(np.corrcoef(a, b)[0, 1])))
    for a, b, want in cases:
        got = call(title, pearson, a.copy(), b.copy())
        try:
            got = float(as_numpy(got))
        except (TypeError, ValueError):
            fail(title, "one number", repr(got), "return a float, e.g. float(r)")
        if abs(got - want) > 1e-6:
            hint = "r = sum((a - mean a)(b - mean b)) / sqrt(sum((a - mean a)^2) * sum((b - mean b)^2))"
            if abs(got - float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))) < 1e-6:
                hint = "subtract the means of a and b first (this is the cosine similarity, not the correlation)"
            fail(title, f"{want:.4f} for a = {np.round(a[:4], 3).tolist()}...", f"{got:.4f}", hint)
    close(title, 1.0, call(title, pearson, np.arange(5.0), 3 * np.arange(5.0) - 1))
    return passed(title, "Your correlation agrees with np.corrcoef.")
