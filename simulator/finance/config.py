"""Finance run configuration: pydantic models, loaded from YAML, every error one line.

Money in configs is in dollars (floats); the world keeps integer cents. Rates are fractions
(0.02 = 2%). Service capacities are requests per simulated trading day (None = unlimited).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..orchestration.phases import TeamConfig
from ..scenario import load_yaml
from .errors import ConfigError, one_line
from .market import ARCH_SERIES, Bars, MarketData, load_arch, load_csv
from .strategies import RISK_PROFILES, STRATEGIES, make_strategy
from .synthetic import Regime, synthetic_bars


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Rate = Field(ge=0.0, le=1.0)


class _Service(_Model):
    capacity: float | None = Field(None, gt=0, description="requests per trading day; None = unlimited")


class PaymentsConfig(_Service):
    failure_rate: float = Field(0.0, ge=0, le=1, description="share of payment intents that fail")
    fee_rate: float = Field(0.0, ge=0, lt=0.5)
    fee_fixed: float = Field(0.0, ge=0, description="dollars per successful payment")


class BankConfig(_Service):
    pass


class ComplianceConfig(_Service):
    approval_rate: float = Field(1.0, ge=0, le=1, description="share of rule-passing actions approved")
    max_notional: float | None = Field(None, gt=0, description="largest single trade in dollars")
    blocked_symbols: tuple[str, ...] = ()
    blocked_counterparties: tuple[str, ...] = ()


class ExchangeConfig(_Service):
    venue: str = Field("SIMX", min_length=1)
    fee_rate: float = Field(0.0005, ge=0, lt=0.1)
    min_fee: float = Field(1.0, ge=0, description="dollars")
    slippage_bps: float = Field(2.0, ge=0, le=1000)
    slippage_jitter_bps: float = Field(0.0, ge=0, le=1000, description="extra random slippage, uniform")
    reject_rate: float = Field(0.0, ge=0, le=1, description="share of orders rejected at random")
    allow_short: bool = False
    short_margin: float = Field(
        1.0, ge=0, le=10, description="cash kept at the broker on top of a short's proceeds, x its value"
    )


class LatencyRule(_Model):
    """A latency channel between entity kinds (trader, payments, bank, compliance, exchange)."""

    source: str = "*"
    target: str = "*"
    event: str = "*"
    base: float = Field(0.0, ge=0, description="days")
    dist: Literal["fixed", "exponential", "uniform", "normal", "lognormal"] = "fixed"
    scale: float = Field(0.0, ge=0)
    congestion: float = Field(0.0, ge=0)


class ServicesConfig(_Model):
    payments: PaymentsConfig = PaymentsConfig()
    bank: BankConfig = BankConfig()
    compliance: ComplianceConfig = ComplianceConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    latency: tuple[LatencyRule, ...] = ()


class RegimeConfig(_Model):
    drift: float = Field(ge=-5, le=5, description="annualised")
    vol: float = Field(ge=0, le=5, description="annualised")


class SyntheticConfig(_Model):
    start: date = date(2000, 1, 3)
    days: int = Field(2520, ge=2, le=200_000)
    price: float = Field(100.0, gt=0)
    regimes: tuple[RegimeConfig, ...] = Field(
        (RegimeConfig(drift=0.08, vol=0.15), RegimeConfig(drift=-0.25, vol=0.45)), min_length=1
    )
    switch_prob: float = Field(0.02, ge=0, le=1)
    seed: int | None = Field(None, ge=0, description="defaults to the run's seed")


class MarketConfig(_Model):
    """Symbols to trade: arch series names (sp500, nasdaq, wti, vix), or names defined under
    `csv` (symbol -> path) or `synthetic` (symbol -> generator settings)."""

    symbols: tuple[str, ...] = Field(("sp500",), min_length=1)
    csv: dict[str, str] = {}
    synthetic: dict[str, SyntheticConfig] = {}
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _known(self) -> MarketConfig:
        for i, sym in enumerate(self.symbols):
            if sym not in self.csv and sym not in self.synthetic and sym not in ARCH_SERIES:
                raise ValueError(
                    f"symbols[{i}]: unknown symbol {sym!r}; allowed: arch series "
                    f"{', '.join(sorted(ARCH_SERIES))}, "
                    "or a name defined under market.csv or market.synthetic"
                )
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"symbols: duplicates in {list(self.symbols)}")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class StrategyConfig(_Model):
    name: str = "buy_and_hold"
    params: dict[str, Any] = {}
    risk_profile: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v not in STRATEGIES:
            raise ValueError(f"unknown strategy {v!r}; allowed: {', '.join(sorted(STRATEGIES))}")
        return v

    @field_validator("risk_profile")
    @classmethod
    def _profile(cls, v: str | None) -> str | None:
        if v is not None and v not in RISK_PROFILES:
            raise ValueError(f"unknown risk profile {v!r}; allowed: {', '.join(RISK_PROFILES)}")
        return v


class ExecutorConfig(_Model):
    poll: float = Field(0.001, gt=0, le=1, description="days between checks for service replies")
    sweep: bool = Field(True, description="return idle brokerage cash to the bank each cycle")
    order_type: Literal["market", "limit"] = "market"
    limit_offset_bps: float = Field(10.0, ge=0, le=5000, description="limit price distance from the open")
    checkpoint_batch: int = Field(500, ge=1, le=100_000, description="checkpoints per SQLite transaction")
    record_events: bool = Field(True, description="keep the kernel's per-event record chain")
    strict: bool = Field(True, description="stop with an error if the books ever disagree")
    periods_per_year: int = Field(252, ge=1)


class FinanceConfig(_Model):
    name: str = "finance"
    seed: int = Field(0, ge=0, lt=2**63)
    initial_capital: float = Field(100_000.0, ge=1.0, le=1e12, description="dollars")
    market: MarketConfig = MarketConfig()
    strategy: StrategyConfig = StrategyConfig()
    services: ServicesConfig = ServicesConfig()
    executor: ExecutorConfig = ExecutorConfig()
    team: TeamConfig | None = Field(
        None, description="a desk of agents reviewing each phase (simulator.orchestration.phases)"
    )

    @model_validator(mode="after")
    def _strategy_params(self) -> FinanceConfig:
        make_strategy(self.strategy.name, self.strategy.params)
        return self

    def resolved(self) -> dict[str, Any]:
        """The full config as plain JSON data (what the store keeps and replay rebuilds from).
        A run without a team leaves the key out, so its stored config is what it always was."""
        data = self.model_dump(mode="json")
        if data["team"] is None:
            del data["team"]
        return data


def parse_config(data: dict[str, Any] | None, base_dir: str | Path | None = None) -> FinanceConfig:
    """Validate a config mapping. Relative CSV paths resolve against `base_dir`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a mapping, got {type(data).__name__}")
    if "world" in data:  # `world: finance` names the world for `simulator batch`
        data = dict(data)
        world = data.pop("world")
        if world != "finance":
            raise ConfigError(f"world: {world!r} is not the finance world (allowed: finance, or no key)")
    try:
        config = FinanceConfig.model_validate(data)
    except ConfigError:
        raise
    except ValidationError as exc:
        raise ConfigError(one_line(exc)) from None
    if base_dir is not None and config.market.csv:
        base = Path(base_dir)
        paths = {
            s: str((base / p).resolve()) if not Path(p).is_absolute() else p
            for s, p in config.market.csv.items()
        }
        config = config.model_copy(update={"market": config.market.model_copy(update={"csv": paths})})
    return config


def read_config(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a YAML config file (validate it with `parse_config`)."""
    try:
        return load_yaml(path, "config", ConfigError, allow_empty=True)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not a UTF-8 text file (expected a YAML config)") from None


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> FinanceConfig:
    """Load and validate a YAML config file; `overrides` maps dotted paths to values."""
    data = read_config(path)
    for key, value in (overrides or {}).items():
        set_path(data, key, value)
    try:
        return parse_config(data, base_dir=Path(path).parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """`set_path(d, "services.exchange.fee_rate", 0.001)`: set a nested value, creating mappings."""
    keys = dotted.split(".")
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(keys[: i + 1])}: is not a mapping, cannot set {dotted}")
        node = child
    node[keys[-1]] = value


def load_market(config: FinanceConfig) -> MarketData:
    """Load, align and window the configured instruments."""
    m = config.market
    bars: list[Bars] = []
    for sym in m.symbols:
        if sym in m.csv:
            bars.append(load_csv(m.csv[sym], symbol=sym))
        elif sym in m.synthetic:
            s = m.synthetic[sym]
            bars.append(
                synthetic_bars(
                    sym,
                    config.seed if s.seed is None else s.seed,
                    start=s.start,
                    days=s.days,
                    price=s.price,
                    regimes=tuple(Regime(r.drift, r.vol) for r in s.regimes),
                    switch_prob=s.switch_prob,
                )
            )
        else:
            bars.append(load_arch(sym))
    return MarketData(
        bars,
        start=m.start.isoformat() if m.start else None,
        end=m.end.isoformat() if m.end else None,
    )
