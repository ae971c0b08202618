"""Strategies: small parameterised policies with declared parameters and a risk profile.

A strategy maps what is known at a day's open (closes before today, today's open, its current
weights) to target weights per symbol, in [-1, 1] (negative is short). It holds no state of
its own: everything it needs is market data or the run's plain-data state, so a run restored
from a checkpoint decides exactly as the original did. The risk profile then caps the weights
and sets the band inside which the planner does not bother to trade.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError, one_line
from .market import MarketData

TRADING_DAYS = 252


class RiskProfile(BaseModel):
    """Caps on target weights and the rebalancing band."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    max_weight: float = Field(gt=0, le=1)
    max_gross: float = Field(gt=0, le=1)
    rebalance_band: float = Field(ge=0, le=1)

    def apply(self, weights: Mapping[str, float]) -> dict[str, float]:
        capped = {s: max(-self.max_weight, min(self.max_weight, w)) for s, w in weights.items()}
        gross = sum(abs(w) for w in capped.values())
        if gross > self.max_gross:
            capped = {s: w * self.max_gross / gross for s, w in capped.items()}
        return capped


RISK_PROFILES = {
    "conservative": RiskProfile(name="conservative", max_weight=0.5, max_gross=0.5, rebalance_band=0.1),
    "moderate": RiskProfile(name="moderate", max_weight=1.0, max_gross=1.0, rebalance_band=0.05),
    "aggressive": RiskProfile(name="aggressive", max_weight=1.0, max_gross=1.0, rebalance_band=0.02),
}


@dataclass(frozen=True)
class MarketView:
    """What a strategy may see on aligned day `index`: earlier closes and today's open."""

    market: MarketData
    index: int

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.market.symbols

    def history(self, symbol: str, n: int | None = None) -> np.ndarray:
        closes = self.market.history(symbol, self.index)
        return closes if n is None else closes[-n:]

    def open(self, symbol: str) -> float:
        return self.market.open_price(symbol, self.index)


class StrategyParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Strategy(ABC):
    """A policy: `weights(view, current)` -> target weight per symbol."""

    name: ClassVar[str]
    version: ClassVar[str] = "1.0.0"
    description: ClassVar[str] = ""
    risk_profile: ClassVar[str] = "moderate"
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, **params: Any) -> None:
        self.params = self.Params(**params)
        self.orchestration: Any = None  # the `orchestration` parameter, set by `make_strategy`

    @abstractmethod
    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        """Target weights per symbol given the view and the current (signed) weights."""

    def parameters(self) -> dict[str, Any]:
        params = self.params.model_dump()
        if self.orchestration is not None:
            params["orchestration"] = self.orchestration.chosen()
        return params

    @classmethod
    def describe(cls) -> dict[str, Any]:
        schema = cls.Params.model_json_schema().get("properties", {})
        params = {k: {"default": v.get("default"), "type": v.get("type", "")} for k, v in schema.items()}
        return {
            "name": cls.name,
            "version": cls.version,
            "risk_profile": cls.risk_profile,
            "description": cls.description,
            "parameters": params,
        }


def _per_symbol(view: MarketView, fn: Any) -> dict[str, float]:
    n = len(view.symbols)
    return {s: fn(s) / n for s in view.symbols}


class _Sided(StrategyParams):
    weight: float = Field(1.0, gt=0, le=1, description="weight when in the market")
    short: bool = Field(False, description="go short on a sell signal instead of flat")


class BuyAndHold(Strategy):
    name = "buy_and_hold"
    description = "Hold a fixed weight, split equally across symbols."
    risk_profile = "moderate"

    class Params(StrategyParams):
        weight: float = Field(1.0, gt=0, le=1)

    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        return _per_symbol(view, lambda s: self.params.weight)


class Momentum(Strategy):
    name = "momentum"
    description = "Long when the return over `lookback` days beats `threshold`; flat (or short) below."
    risk_profile = "aggressive"

    class Params(_Sided):
        lookback: int = Field(60, ge=2, le=2000)
        threshold: float = Field(0.0, ge=0, le=1)

    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        p = self.params

        def one(s: str) -> float:
            h = view.history(s, p.lookback)
            if len(h) < p.lookback:
                return 0.0
            ret = h[-1] / h[0] - 1.0
            if ret > p.threshold:
                return p.weight
            return -p.weight if p.short and ret < -p.threshold else 0.0

        return _per_symbol(view, one)


class MeanReversion(Strategy):
    name = "mean_reversion"
    description = "Buy when the open is `entry_z` deviations below the rolling mean; exit near it."
    risk_profile = "moderate"

    class Params(_Sided):
        window: int = Field(20, ge=2, le=2000)
        entry_z: float = Field(1.0, gt=0, le=10)
        exit_z: float = Field(0.0, ge=0, le=10)

        @model_validator(mode="after")
        def _order(self) -> MeanReversion.Params:
            if self.exit_z >= self.entry_z:
                raise ValueError(f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z})")
            return self

    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        p = self.params

        def one(s: str) -> float:
            h = view.history(s, p.window)
            held = current.get(s, 0.0)
            side = p.weight if held > 0 else -p.weight if held < 0 else 0.0
            if len(h) < p.window:
                return side
            std = float(np.std(h, ddof=1))
            if std == 0.0:
                return side
            z = (view.open(s) - float(np.mean(h))) / std
            if held > 0:
                return 0.0 if z >= -p.exit_z else side
            if held < 0:
                return 0.0 if z <= p.exit_z else side
            if z <= -p.entry_z:
                return p.weight
            return -p.weight if p.short and z >= p.entry_z else 0.0

        return _per_symbol(view, one)


class _Trend(_Sided):
    fast: int = Field(20, ge=1, le=2000)
    slow: int = Field(100, ge=2, le=2000)

    @model_validator(mode="after")
    def _order(self) -> _Trend:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


def _trend(view: MarketView, s: str, fast: int, slow: int) -> int:
    """+1 if the fast moving average is above the slow one, -1 if below, 0 without history."""
    h = view.history(s, slow)
    if len(h) < slow:
        return 0
    f, sl = float(np.mean(h[-fast:])), float(np.mean(h))
    return 1 if f > sl else -1 if f < sl else 0


def _realised_vol(view: MarketView, s: str, window: int) -> float:
    h = view.history(s, window + 1)
    if len(h) < window + 1:
        return 0.0
    return float(np.std(np.diff(np.log(h)), ddof=1)) * float(np.sqrt(TRADING_DAYS))


class MovingAverageTrend(Strategy):
    name = "ma_trend"
    description = "Long while the fast moving average is above the slow one; flat (or short) below."
    risk_profile = "moderate"
    Params = _Trend

    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        p = self.params

        def one(s: str) -> float:
            t = _trend(view, s, p.fast, p.slow)
            return p.weight if t > 0 else -p.weight if (t < 0 and p.short) else 0.0

        return _per_symbol(view, one)


class VolTargetTrend(Strategy):
    name = "vol_target_trend"
    description = "Moving-average trend sized so the position's volatility is `target_vol` (risk-budgeted)."
    risk_profile = "moderate"

    class Params(_Trend):
        target_vol: float = Field(0.15, gt=0, le=2)
        vol_window: int = Field(20, ge=2, le=2000)

    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        p = self.params

        def one(s: str) -> float:
            t = _trend(view, s, p.fast, p.slow)
            vol = _realised_vol(view, s, p.vol_window)
            if t == 0 or vol == 0.0 or (t < 0 and not p.short):
                return 0.0
            return t * min(p.weight, p.target_vol / vol)

        return {s: one(s) for s in view.symbols}


class RiskParity(Strategy):
    name = "risk_parity"
    description = "Long every symbol with weights inversely proportional to volatility (risk-budgeted)."
    risk_profile = "conservative"

    class Params(StrategyParams):
        vol_window: int = Field(60, ge=2, le=2000)
        gross: float = Field(1.0, gt=0, le=1)

    def weights(self, view: MarketView, current: Mapping[str, float]) -> dict[str, float]:
        p = self.params
        vols = {s: _realised_vol(view, s, p.vol_window) for s in view.symbols}
        if any(v == 0.0 for v in vols.values()):
            return _per_symbol(view, lambda s: p.gross)
        inv = {s: 1.0 / v for s, v in vols.items()}
        total = sum(inv.values())
        return {s: p.gross * inv[s] / total for s in view.symbols}


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (BuyAndHold, Momentum, MeanReversion, MovingAverageTrend, VolTargetTrend, RiskParity)
}


def make_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """Build a registered strategy, validating its parameters (one-line errors)."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ConfigError(
            f"strategy.name: unknown strategy {name!r}; allowed: {', '.join(sorted(STRATEGIES))}"
        )
    params = dict(params or {})
    orchestration = params.pop("orchestration", None)
    try:
        strategy = cls(**params)
    except ValidationError as exc:
        raise ConfigError(one_line(exc, prefix="strategy.params")) from None
    if orchestration is not None:  # every strategy takes it: which patterns review its phases
        from ..orchestration.phases import PhaseOrchestration

        if not isinstance(orchestration, Mapping):
            raise ConfigError(
                "strategy.params.orchestration: expected a mapping of phase -> pattern, "
                f"e.g. {{plan: magentic}} (got {orchestration!r})"
            )
        try:
            strategy.orchestration = PhaseOrchestration.model_validate(orchestration)
        except ValidationError as exc:
            raise ConfigError(one_line(exc, prefix="strategy.params.orchestration")) from None
    return strategy
