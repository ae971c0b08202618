"""The trading game: each strategy runs the same market window through the finance world's
6-phase executor; the higher composite score wins, equal scores draw.

A strategy's run on a fixed window does not depend on its opponent, so it is computed once
(one batch task per strategy, all on the same seed: common random numbers for the services)
and reused in every match: a round robin of N strategies costs N simulations, not N^2.
`finance_outcomes(params, seed)` is the finance world's batch run function.
"""

from __future__ import annotations

from typing import Any

from ..finance import SimulationRuntime, load_market, parse_config
from ..finance.config import FinanceConfig

OUTCOMES = ("roi", "sharpe_ratio", "max_drawdown", "win_rate", "final_capital", "total_trades")


_MARKETS: dict[str, Any] = {}


def _market(config: FinanceConfig) -> Any:
    """The market of a config, loaded once per process (every entrant shares the window)."""
    key = repr((config.seed, config.market.model_dump(mode="json")))
    if key not in _MARKETS:
        if len(_MARKETS) >= 8:
            _MARKETS.clear()
        _MARKETS[key] = load_market(config)
    return _MARKETS[key]


def finance_outcomes(params: dict[str, Any], seed: int) -> dict[str, float]:
    """One finance run (no store): ROI, Sharpe, max drawdown, win rate, capital, trades."""
    config = parse_config({**params, "seed": int(seed)})
    result = SimulationRuntime(None).run(config, market=_market(config)).result
    return {key: float(getattr(result, key)) for key in OUTCOMES}


def finance_params(game: Any, base: str, params: dict[str, Any], label: str) -> dict[str, Any]:
    """The finance config (plain data) of strategy `base` with `params` in trading game `game`."""
    market = game.market.model_dump(mode="json", exclude_defaults=False)
    market = {k: v for k, v in market.items() if v not in (None, {}, [])}
    return {
        "name": label,
        "initial_capital": game.initial_capital,
        "market": market,
        "strategy": {"name": base, "params": dict(params)},
        "services": dict(game.services),
        "executor": {"record_events": False, **game.executor},
    }
