"""Shared helpers for the finance tests (no tests of its own)."""

from __future__ import annotations

from typing import Any

from simulator.finance import FinanceConfig, load_market, parse_config
from simulator.finance.config import set_path
from simulator.finance.context import SimulationContext
from simulator.finance.market import MarketData

# A busy, faulty configuration over two months of real S&P 500 history: a short-lookback
# mean-reversion strategy trades often, and every service fails some of the time.
FAULTY: dict[str, Any] = {
    "seed": 11,
    "initial_capital": 100_000,
    "market": {"symbols": ["sp500"], "start": "2008-06-02", "end": "2008-12-31"},
    "strategy": {
        "name": "mean_reversion",
        "params": {"window": 5, "entry_z": 0.5},
        "risk_profile": "aggressive",
    },
    "services": {
        "payments": {"failure_rate": 0.25, "fee_rate": 0.001, "fee_fixed": 0.3},
        "compliance": {"approval_rate": 0.75},
        "exchange": {"reject_rate": 0.2, "slippage_bps": 3, "slippage_jitter_bps": 5, "fee_rate": 0.001},
    },
}


def make_config(base: dict[str, Any] | None = None, **overrides: Any) -> FinanceConfig:
    """`make_config(FAULTY, **{"services.exchange.allow_short": True})`."""
    data: dict[str, Any] = _copy(base or FAULTY)
    for key, value in overrides.items():
        set_path(data, key, value)
    return parse_config(data)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def service_world(**overrides: Any) -> tuple[SimulationContext, MarketData]:
    """A context whose World has the services installed, for driving them event by event."""
    cfg = make_config(
        {
            "seed": 1,
            "initial_capital": 10_000,
            "market": {"symbols": ["sp500"], "start": "2010-01-04", "end": "2010-01-29"},
        },
        **overrides,
    )
    market = load_market(cfg)
    return SimulationContext(cfg, market), market
