"""Confidence intervals against scipy, and summaries per sweep point."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simulator.batch import mean_ci, summarise, sweep, wilson_interval
from simulator.batch.examples import noisy_mean


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [2, 5, 40])
def test_mean_ci_matches_scipy_t_interval(n, confidence):
    x = np.random.default_rng(n).gamma(2.0, 3.0, size=n)
    low, high = stats.t.interval(confidence, n - 1, loc=x.mean(), scale=stats.sem(x))
    interval = mean_ci(x, confidence)
    assert interval.estimate == pytest.approx(x.mean(), rel=1e-12)
    assert interval.low == pytest.approx(low, rel=1e-10)
    assert interval.high == pytest.approx(high, rel=1e-10)


def test_mean_ci_edge_cases():
    assert all(math.isnan(v) for v in mean_ci([]))
    one = mean_ci([3.0])
    assert one.estimate == 3.0 and math.isnan(one.low) and math.isnan(one.high)
    assert tuple(mean_ci([2.0, 2.0, 2.0])) == (2.0, 2.0, 2.0)
    assert mean_ci([1.0, float("nan"), 3.0]) == mean_ci([1.0, 3.0])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=95)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (7, 10), (10, 10), (37, 200)])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_wilson_matches_scipy(k, n, confidence):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    interval = wilson_interval(k, n, confidence)
    assert interval.estimate == k / n
    assert interval.low == pytest.approx(ci.low, abs=1e-12)
    assert interval.high == pytest.approx(ci.high, abs=1e-12)


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_interval(5, 4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_summarise_per_sweep_point():
    grid = {"mu": [0.0, 3.0], "fail": [False, True]}
    base = {"mu": 0.0, "samples": 32, "fail": False}
    results = sweep(noisy_mean, base, grid, 5, 1, progress=False)
    table = summarise(results, proportions=["exceeded"])
    assert list(table.columns) == ["point", "mu", "fail", "outcome", "method", "n", "n_failed",
                                   "mean", "std", "ci_low", "ci_high"]
    assert len(table) == 4 * 3
    row = table[(table.point == 2) & (table.outcome == "mean")].iloc[0]
    values = [r["outcomes"]["mean"] for r in results if r["point"] == 2]
    expected = mean_ci(values)
    assert (row.mu, row.fail, row.n, row.n_failed, row.method) == (3.0, False, 5, 0, "t")
    assert (row["mean"], row.ci_low, row.ci_high) == tuple(expected)
    exceeded = table[(table.point == 2) & (table.outcome == "exceeded")].iloc[0]
    assert exceeded.method == "wilson" and exceeded["mean"] == 1.0
    failed = table[table.point == 1]
    assert (failed.n == 0).all() and (failed.n_failed == 5).all() and failed["mean"].isna().all()


def test_summarise_rejects_non_binary_proportions():
    results = sweep(noisy_mean, {"mu": 0.0}, {"mu": [0.0]}, 3, 1, progress=False)
    with pytest.raises(ValueError, match="'mean' is a proportion"):
        summarise(results, proportions=["mean"])
