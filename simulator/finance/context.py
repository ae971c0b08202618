"""SimulationContext: one run's World with its services, the trader's state, data and strategy.

The trader's runtime (the seed's capital, positions, trades, phase returns, capital history,
plus its position in the cycle) is the plain-data state of the `trader` entity, changed only
by the reducers installed here: replies from the services land in its inbox, fills are booked,
and `phase.complete` stores a phase's result and advances (cycle, phase).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..engine import Channel, Event, LatencyModel, RecordLayout, Sink, World
from .book import apply_fill
from .config import FinanceConfig, LatencyRule
from .market import MarketData
from .metrics import SimulationResult, max_drawdown, roi, sharpe_ratio, win_rate
from .money import to_cents
from .services import COMPLIANCE, EXCHANGE, LOG_FIELDS, PAYMENTS, TRADER, Services, install_services
from .strategies import RISK_PROFILES, RiskProfile, Strategy, make_strategy

PHASES = ("analyze", "plan", "validate", "execute", "evaluate", "consolidate")
TRADER_LOGS = ("trades", "phase_returns", "capital_history")
REPLIES = ("market.quote", "compliance.decision", "payment.result", "order.result", "withdraw.result")

# The kernel's per-event record: every account balance and the brokerage cash after each event.
FINANCE_LAYOUT = RecordLayout(kinds=("account", "brokerage"), fields=("balance",), id_column="account")


def new_trader_state(initial_cents: int, symbols: Sequence[str]) -> dict[str, Any]:
    return {
        "cycle": 0,
        "phase": 0,
        "initial": initial_cents,
        "capital": initial_cents / 100,
        "realised": 0,
        "fees": 0,
        "book": {s: {"qty": 0, "cost": 0} for s in symbols},
        "work": {},
        "inbox": {},
        "trades": [],
        "phase_returns": [],
        "capital_history": [initial_cents / 100],
    }


def on_reply(world: World, event: Event) -> None:
    """A service's answer to one of the trader's requests: file it; book fills and fees."""
    trader = world.entity(TRADER)
    p = event.payload
    trader["inbox"][p["request_id"]] = p
    if event.type == "order.result" and p["status"] == "filled":
        apply_fill(trader, p)
    elif event.type == "payment.result" and p["ok"]:
        trader["fees"] += p["fee"]


def on_phase_complete(world: World, event: Event) -> None:
    """Store a phase's result and advance the (cycle, phase) position."""
    trader = world.entity(TRADER)
    p = event.payload
    if (p["cycle"], p["phase"]) != (trader["cycle"], trader["phase"]):
        raise RuntimeError(
            f"phase.complete for cycle {p['cycle']} phase {p['phase']} arrived at "
            f"cycle {trader['cycle']} phase {trader['phase']}"
        )
    result = p["result"]
    trader["work"][PHASES[p["phase"]]] = result
    trader["inbox"] = {}
    if p["phase"] + 1 < len(PHASES):
        trader["phase"] += 1
        return
    trader["phase_returns"].append(result["phase_return"])
    trader["capital_history"].append(result["capital"])
    trader["capital"] = result["capital"]
    trader["work"] = {}
    trader["cycle"] += 1
    trader["phase"] = 0


def install_trader(world: World, initial_cents: int, symbols: Sequence[str]) -> None:
    world.register(TRADER, "trader", new_trader_state(initial_cents, symbols))
    for event_type in REPLIES:
        world.on(event_type, on_reply)
    world.on("phase.complete", on_phase_complete)


def latency_model(rules: Iterable[LatencyRule]) -> LatencyModel:
    model = LatencyModel()
    for r in rules:
        model.set(r.source, r.target, r.event, Channel(r.base, r.dist, r.scale, r.congestion))
    return model


class SimulationContext:
    """A run: its World, services, trader state, market data and strategy."""

    def __init__(
        self,
        config: FinanceConfig,
        market: MarketData,
        simulation_id: str = "",
        sinks: Sequence[Sink] = (),
    ) -> None:
        self.config = config
        self.market = market
        self.simulation_id = simulation_id
        layout = FINANCE_LAYOUT if config.executor.record_events else None
        self.world = World(config.seed, latency_model(config.services.latency), layout, sinks)
        self.initial_cents = to_cents(config.initial_capital)
        self.services: Services = install_services(
            self.world, config, market, self.initial_cents, self.date_of
        )
        install_trader(self.world, self.initial_cents, market.symbols)
        self.strategy: Strategy = make_strategy(config.strategy.name, config.strategy.params)
        self.profile: RiskProfile = RISK_PROFILES[config.strategy.risk_profile or self.strategy.risk_profile]
        self.log_fields: dict[str, tuple[str, ...]] = {**LOG_FIELDS, TRADER: TRADER_LOGS}
        self.strategy_id = ""
        self.team: Any = None  # the desk reviewing each phase, when the config asks for one
        if config.team is not None or self.strategy.orchestration is not None:
            from ..orchestration.phases import PhasePatterns, PhaseTeam

            team = config.team
            patterns = PhasePatterns.configured(self.profile.name, team, self.strategy.orchestration)
            agents, deadline = (team.agents, team.deadline) if team else ({}, 0.02)
            self.team = PhaseTeam(self.world, patterns, TRADER, agents=agents, deadline=deadline)

    def date_of(self, time: float) -> str:
        """The trading date at simulation time `time` (one day per time unit)."""
        return self.market.date(int(time))

    def get_service(self, name: str) -> Any:
        return getattr(self.services, name)

    # -- the seed's runtime view ------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        return self.world.entities[TRADER]

    @property
    def cycle(self) -> int:
        return self.state["cycle"]

    @property
    def current_phase(self) -> str:
        return PHASES[self.state["phase"]] if self.cycle < self.market.days else "done"

    @property
    def finished(self) -> bool:
        return self.cycle >= self.market.days

    @property
    def capital(self) -> float:
        return self.state["capital"]

    @property
    def positions(self) -> dict[str, int]:
        return {s: self.state["book"][s]["qty"] for s in self.market.symbols}

    @property
    def trades(self) -> list[dict[str, Any]]:
        return self.state["trades"]

    @property
    def phase_returns(self) -> list[float]:
        return self.state["phase_returns"]

    @property
    def capital_history(self) -> list[float]:
        return self.state["capital_history"]

    def compute_metrics(self, checkpoints: int = 0, chain_head: str | None = None) -> SimulationResult:
        s = self.state
        returns = s["phase_returns"]
        ents = self.world.entities
        return SimulationResult(
            simulation_id=self.simulation_id,
            strategy_id=self.strategy_id,
            initial_capital=self.initial_cents / 100,
            final_capital=s["capital"],
            roi=roi(self.initial_cents / 100, s["capital"]),
            sharpe_ratio=sharpe_ratio(returns, self.config.executor.periods_per_year),
            sharpe_per_period=sharpe_ratio(returns, 1),
            max_drawdown=max_drawdown(s["capital_history"]),
            win_rate=win_rate(s["trades"]),
            total_trades=len(s["trades"]),
            closed_trades=sum(1 for t in s["trades"] if t["closes"]),
            realised_pnl=s["realised"] / 100,
            fees=s["fees"] / 100,
            cycles=s["cycle"],
            orders_rejected=ents[EXCHANGE]["rejected"],
            compliance_denied=ents[COMPLIANCE]["denied"],
            payments_failed=ents[PAYMENTS]["failed"],
            checkpoints=checkpoints,
            chain_head=chain_head,
            record_chain_head=self.world.chain_head,
            data_digest=self.market.digest,
            phase_returns=list(returns),
        )
