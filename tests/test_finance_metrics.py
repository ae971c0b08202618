"""Metrics agree with a reference finance library (empyrical-reloaded) on the same returns."""

from __future__ import annotations

import empyrical
import numpy as np
import pytest

from simulator.finance import SimulationRuntime, max_drawdown, sharpe_ratio
from simulator.finance.metrics import returns_of, roi, win_rate

from .test_finance_support import make_config


@pytest.fixture(scope="module")
def run():
    cfg = make_config(
        **{
            "market.start": "2008-01-02",
            "market.end": "2009-06-30",
            "strategy.name": "ma_trend",
            "strategy.params": {"fast": 5, "slow": 20},
        }
    )
    return SimulationRuntime().run(cfg).result


def test_sharpe_and_drawdown_of_a_run_match_empyrical(run):
    returns = np.array(run.phase_returns)
    assert len(returns) == run.cycles > 300 and np.std(returns) > 0
    assert run.sharpe_ratio == pytest.approx(empyrical.sharpe_ratio(returns, period="daily"), rel=1e-12)
    assert run.sharpe_per_period == pytest.approx(empyrical.sharpe_ratio(returns, annualization=1), rel=1e-12)
    assert run.max_drawdown == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-9)
    assert run.max_drawdown > 0.05  # 2008 hurt
    assert run.roi == pytest.approx(empyrical.cum_returns_final(returns), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metric_functions_match_empyrical_on_random_series(seed):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.012, 750)
    capital = 1000.0 * np.concatenate(([1.0], np.cumprod(1 + returns)))
    assert sharpe_ratio(returns, 252) == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-12)
    assert sharpe_ratio(returns, 52) == pytest.approx(
        empyrical.sharpe_ratio(returns, period="weekly"), rel=1e-12
    )
    assert max_drawdown(capital) == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-9)
    assert returns_of(capital) == pytest.approx(returns.tolist(), rel=1e-9, abs=1e-12)


def test_edge_cases():
    assert sharpe_ratio([], 252) == 0.0 and sharpe_ratio([0.01], 252) == 0.0
    assert sharpe_ratio([0.01, 0.01, 0.01], 252) == 0.0  # no dispersion
    assert max_drawdown([100.0]) == 0.0 and max_drawdown([100.0, 120.0, 90.0, 130.0]) == pytest.approx(0.25)
    assert roi(100.0, 90.0) == pytest.approx(-0.1)
    trades = [
        {"closes": True, "realised": 5},
        {"closes": True, "realised": -1},
        {"closes": False, "realised": 0},
    ]
    assert win_rate(trades) == 0.5 and win_rate([]) == 0.0
