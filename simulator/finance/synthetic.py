"""Seeded synthetic prices for stress cases: geometric Brownian motion with regime switches.

Closes follow GBM whose drift and volatility switch between regimes (a Markov chain that
leaves its regime with probability `switch_prob` each day). Opens gap from the previous close,
highs and lows bracket the day. The stream is `seed_sequence(seed, "market/synthetic/<symbol>")`,
so a symbol's path depends only on the seed and its own name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ..engine import seed_sequence
from .market import Bars

TRADING_DAYS = 252


@dataclass(frozen=True)
class Regime:
    """Annualised drift and volatility."""

    drift: float
    vol: float


def synthetic_bars(
    symbol: str,
    seed: int,
    *,
    start: date | str = "2000-01-03",
    days: int = 2520,
    price: float = 100.0,
    regimes: tuple[Regime, ...] = (Regime(0.08, 0.15), Regime(-0.25, 0.45)),
    switch_prob: float = 0.02,
) -> Bars:
    """`days` business days of OHLCV for `symbol`, starting at `start` (rolled forward)."""
    if days < 2:
        raise ValueError(f"synthetic {symbol}: days must be >= 2, got {days}")
    if price <= 0:
        raise ValueError(f"synthetic {symbol}: price must be > 0, got {price}")
    if not regimes:
        raise ValueError(f"synthetic {symbol}: needs at least one regime")
    rng = np.random.Generator(np.random.PCG64(seed_sequence(seed, f"market/synthetic/{symbol}")))
    dt = 1.0 / TRADING_DAYS
    k = len(regimes)
    switch = rng.random(days)
    hop = rng.integers(1, max(k, 2), size=days)
    state = np.empty(days, dtype=np.int64)
    current = 0
    for i in range(days):
        if k > 1 and switch[i] < switch_prob:
            current = (current + int(hop[i])) % k
        state[i] = current
    mu = np.array([r.drift for r in regimes])[state]
    sigma = np.array([r.vol for r in regimes])[state]
    z = rng.standard_normal((4, days))
    step = sigma * np.sqrt(dt)
    log_ret = (mu - 0.5 * sigma**2) * dt + step * z[0]
    close = price * np.exp(np.cumsum(log_ret))
    prev = np.concatenate(([price], close[:-1]))
    open_ = prev * np.exp(0.25 * step * z[1])
    high = np.maximum(open_, close) * np.exp(0.5 * step * np.abs(z[2]))
    low = np.minimum(open_, close) * np.exp(-0.5 * step * np.abs(z[3]))
    volume = np.round(1e6 * np.exp(0.3 * rng.standard_normal(days)))
    first = np.busday_offset(np.datetime64(str(start), "D"), 0, roll="forward")
    dates = np.busday_offset(first, np.arange(days), roll="forward")
    return Bars(
        symbol,
        f"synthetic:{symbol}",
        dates.astype("datetime64[D]"),
        *(np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close, volume)),
    )
