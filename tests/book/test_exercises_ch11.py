"""Chapter 11's statistics exercise against right and plausible wrong answers (used by
test_exercise_wrong_answers.py, like chapter 13's tables)."""

import numpy as np
from scipy import stats


def _right(a, b):
    d = a - b
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half


def _interval(crit, ddof=1, paired=True, n_of=len):
    def answer(a, b):
        d = a - b
        if paired:
            se = d.std(ddof=ddof) / np.sqrt(n_of(d))
        else:
            se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        c = crit(len(d))
        return d.mean(), d.mean() - c * se, d.mean() + c * se

    return answer


RIGHT = {"check_paired_interval": (_right,)}
WRONG = {
    "check_paired_interval": {
        "two standard errors": _interval(lambda n: 2.0),
        "normal 1.96": _interval(lambda n: 1.959964),
        "t with n degrees of freedom": _interval(lambda n: stats.t.ppf(0.975, n)),
        "std with ddof=0": _interval(lambda n: stats.t.ppf(0.975, n - 1), ddof=0),
        "unpaired (Welch) interval": _interval(lambda n: stats.t.ppf(0.975, n - 1), paired=False),
        "t at 0.95 (a 90% interval)": _interval(lambda n: stats.t.ppf(0.95, n - 1)),
        "no square root of n": _interval(lambda n: stats.t.ppf(0.975, n - 1), n_of=lambda d: 1),
        "mean of b - a": lambda a, b: tuple(-x for x in _right(a, b)[::-1][::-1]),
    }
}
