"""Run metrics: ROI, Sharpe ratio over phase returns, max drawdown, win rate, trade count.

Definitions match empyrical's: the Sharpe ratio is mean / sample std (ddof=1) of the per-cycle
returns times sqrt(periods per year); the max drawdown is the deepest fall of capital from its
running peak, the initial capital counting as the first peak (reported as a positive fraction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel


def roi(initial: float, final: float) -> float:
    return final / initial - 1.0 if initial else 0.0


def returns_of(capital_history: Sequence[float]) -> list[float]:
    """Per-period simple returns of a capital series."""
    c = np.asarray(capital_history, dtype=np.float64)
    if len(c) < 2:
        return []
    return (c[1:] / c[:-1] - 1.0).tolist()


def sharpe_ratio(returns: Sequence[float], periods_per_year: int = 252) -> float:
    """Annualised Sharpe ratio (risk-free 0); 0.0 for fewer than 2 returns or no dispersion."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2 or float(r.max()) == float(r.min()):
        return 0.0
    std = float(np.std(r, ddof=1))
    return float(np.mean(r)) / std * float(np.sqrt(periods_per_year)) if std > 0 else 0.0


def max_drawdown(capital_history: Sequence[float]) -> float:
    """Largest peak-to-trough fall as a positive fraction (0.25 = 25%)."""
    c = np.asarray(capital_history, dtype=np.float64)
    if len(c) < 2:
        return 0.0
    peak = np.maximum.accumulate(c)
    return float(np.max((peak - c) / peak))


def win_rate(trades: Sequence[dict[str, Any]]) -> float:
    """Share of closing trades that realised a profit (0.0 when nothing was closed)."""
    closed = [t["realised"] for t in trades if t.get("closes")]
    return sum(1 for r in closed if r > 0) / len(closed) if closed else 0.0


class SimulationResult(BaseModel):
    """The outcome of one run (the seed's SimulationResult, with the run's bookkeeping)."""

    simulation_id: str
    strategy_id: str
    initial_capital: float
    final_capital: float
    roi: float
    sharpe_ratio: float
    sharpe_per_period: float
    max_drawdown: float
    win_rate: float
    total_trades: int
    closed_trades: int
    realised_pnl: float
    fees: float
    cycles: int
    orders_rejected: int
    compliance_denied: int
    payments_failed: int
    checkpoints: int
    chain_head: str | None
    record_chain_head: str | None
    data_digest: str
    phase_returns: list[float]

    def summary(self) -> dict[str, Any]:
        """Everything but the per-cycle returns."""
        return self.model_dump(exclude={"phase_returns"})
