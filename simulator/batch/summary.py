"""Summaries of replications: mean and confidence interval per outcome and sweep point.

scipy and pandas are imported inside the functions: worker processes import this package to
run tasks, and should not pay for libraries only the summaries need.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .results import TaskResult

if TYPE_CHECKING:
    import pandas as pd


class Interval(NamedTuple):
    """A point estimate with a two-sided confidence interval."""

    estimate: float
    low: float
    high: float


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Mean with a Student-t interval: mean +/- t_{(1+c)/2, n-1} * s / sqrt(n).

    NaN values are dropped. With fewer than two values the bounds are NaN; with zero
    spread the interval collapses to the mean.
    """
    from scipy import stats

    _check_confidence(confidence)
    x = np.asarray(list(values), dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half)


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a proportion `successes / n` (sensible near 0 and 1)."""
    from scipy import stats

    _check_confidence(confidence)
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    p = successes / n
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def summarise(
    results: Sequence[TaskResult],
    outcomes: Sequence[str] | None = None,
    proportions: Iterable[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per (sweep point, outcome) over the successful replications.

    Columns: point, the swept parameters (dotted paths), outcome, method (``t`` or
    ``wilson``), n (values used; NaN outcomes are left out), n_failed (failed tasks at that
    point), mean, std, ci_low, ci_high. Outcomes named in `proportions` must be 0/1 per run
    and get a Wilson interval instead of a Student-t one. Points whose runs all failed still
    appear, with n = 0.
    """
    import pandas as pd

    proportions = set(proportions)
    if outcomes is None:
        outcomes = sorted({k for r in results for k in r["outcomes"]})
    override_keys = list(dict.fromkeys(k for r in results for k in r["overrides"]))
    by_point: dict[int, list[TaskResult]] = {}
    for r in sorted(results, key=lambda r: r["index"]):
        by_point.setdefault(r["point"], []).append(r)

    rows = []
    for point in sorted(by_point):
        group = by_point[point]
        ok = [r for r in group if r["status"] == "ok"]
        for name in outcomes:
            x = np.array([r["outcomes"].get(name, math.nan) for r in ok], dtype=float)
            x = x[~np.isnan(x)]
            row: dict[str, Any] = {"point": point}
            row.update({k: group[0]["overrides"].get(k) for k in override_keys})
            if name in proportions:
                if not np.isin(x, (0.0, 1.0)).all():
                    raise ValueError(f"outcome {name!r} is a proportion but has non-0/1 values")
                interval = wilson_interval(float(x.sum()), int(x.size), confidence)
                method = "wilson"
            else:
                interval = mean_ci(x, confidence)
                method = "t"
            row.update(
                outcome=name,
                method=method,
                n=int(x.size),
                n_failed=len(group) - len(ok),
                mean=interval.estimate,
                std=float(x.std(ddof=1)) if x.size > 1 else math.nan,
                ci_low=interval.low,
                ci_high=interval.high,
            )
            rows.append(row)
    columns = ["point", *override_keys, "outcome", "method", "n", "n_failed", "mean", "std",
               "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)
