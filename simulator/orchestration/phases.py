"""Orchestration teams for a phase executor: analysts gather concurrently before analyze's
targets are used, a research -> strategy -> risk pipeline (or a magentic team) signs off the
plan, and validate hands the orders from the trader's desk to a compliance agent.

The team reviews each phase's result inside the trader's own process, on the trader's World
(the orchestration reducers are installed there, its agents registered as entities), so the
conversations are kernel events in the same record and chain as the trades. A failed review
changes the phase's result the way a desk would: analyze holds the current weights, plan
places no orders, validate denies every order, each with the end reason. Works on plain
phase-result dicts; nothing here imports a world.

Opt-in: a run without a team is untouched (same events, same chain heads). A finance config
turns a team on with `team:` (its agents' faults and latency, `TeamConfig`) or with the
strategy parameter `orchestration:` (the patterns, `PhaseOrchestration`); the patterns not
given there are chosen by the strategy's risk profile (`PhasePatterns.for_strategy`).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..engine import Channel, World
from .agents import SimAgent
from .base import Orchestration
from .concurrent import ConcurrentOrchestration
from .handoff import HandoffOrchestration
from .magentic import MagenticOrchestration
from .model import Context, new_work
from .runtime import Runtime
from .sequential import SequentialOrchestration

TASKS = {
    "analyze": ["macro", "flows", "news"],
    "plan": ["research", "strategy", "risk"],
    "validate": ["desk_check", "compliance"],
}


# the desk's agents and the steps each declares by default
ROSTER: dict[str, tuple[str, ...]] = {
    "macro_analyst": ("macro",),
    "flows_analyst": ("flows",),
    "news_analyst": ("news",),
    "researcher": ("research",),
    "research_backup": ("research",),
    "strategist": ("strategy",),
    "risk_officer": ("risk",),
    "desk": ("desk_check",),
    "compliance_officer": ("compliance",),
}
CAPABILITIES = tuple(dict.fromkeys(c for caps in TASKS.values() for c in caps))
PHASE_PATTERNS = {
    "analyze": ("concurrent", "none"),
    "plan": ("sequential", "magentic", "none"),
    "validate": ("handoff", "none"),
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PhaseOrchestration(_Data):
    """The strategy parameter `orchestration`: which pattern reviews each phase ("none": no
    review). Keys left out keep the risk profile's choice."""

    analyze: Literal["concurrent", "none"] | None = None
    plan: Literal["sequential", "magentic", "none"] | None = None
    validate_: Literal["handoff", "none"] | None = Field(None, alias="validate")
    analysts_needed: int | None = Field(None, ge=1, le=3, description="analysts that must deliver")

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            allowed = (*PHASE_PATTERNS, "analysts_needed")
            for key, value in data.items():
                if key not in allowed:
                    raise ValueError(f"{key}: unknown phase {key!r} (allowed: {', '.join(allowed)})")
                if key in PHASE_PATTERNS and value not in PHASE_PATTERNS[key]:
                    raise ValueError(
                        f"{key}: unknown pattern {value!r} for {key} "
                        f"(allowed: {', '.join(PHASE_PATTERNS[key])})"
                    )
        return data

    def chosen(self) -> dict[str, Any]:
        """The keys given, as `PhasePatterns` fields."""
        return self.model_dump(exclude_none=True, by_alias=True)


class TeamAgent(_Data):
    """One desk agent's overrides: its declared steps and its own fault rates."""

    capabilities: tuple[str, ...] | None = Field(
        None, min_length=1, description=f"steps it declares, from {', '.join(CAPABILITIES)} (null: its own)"
    )
    failure_rate: float | None = Field(None, ge=0, le=1, description="reports failure (null: fault_rate/3)")
    timeout_rate: float | None = Field(None, ge=0, le=1, description="never answers (null: fault_rate/3)")
    exception_rate: float | None = Field(None, ge=0, le=1, description="raises (null: fault_rate/3)")

    @field_validator("capabilities")
    @classmethod
    def _known(cls, caps: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for i, cap in enumerate(caps or ()):
            if cap not in CAPABILITIES:
                allowed = ", ".join(CAPABILITIES)
                raise ValueError(f"capability {i}: unknown capability {cap!r} (allowed: {allowed})")
        return caps


class TeamConfig(_Data):
    """A finance config's `team:`: the desk's agents' fault rate (split evenly between failure,
    no answer and exception), latency and deadline per call in days, per-agent overrides."""

    fault_rate: float = Field(0.0, ge=0, le=1, description="every agent's fault rate per call")
    latency: float = Field(0.002, ge=0, le=1, description="days per agent call")
    deadline: float = Field(0.02, gt=0, le=1, description="days a caller waits for an agent's answer")
    agents: dict[str, TeamAgent] = Field(
        {}, description=f"per-agent overrides, by name: {', '.join(ROSTER)}"
    )

    @field_validator("agents")
    @classmethod
    def _roster(cls, agents: dict[str, TeamAgent]) -> dict[str, TeamAgent]:
        for name in agents:
            if name not in ROSTER:
                raise ValueError(f"{name}: unknown agent {name!r} (allowed: {', '.join(ROSTER)})")
        return agents

    @model_validator(mode="after")
    def _rates(self) -> TeamConfig:
        for name, agent in self.agents.items():
            rates = (agent.failure_rate, agent.timeout_rate, agent.exception_rate)
            if sum(self.fault_rate / 3 if r is None else r for r in rates) > 1:
                raise ValueError(
                    f"agents.{name}: failure + timeout + exception rates must be <= 1 "
                    "(a rate not given is a third of fault_rate)"
                )
        return self


@dataclass(frozen=True)
class PhasePatterns:
    """Which pattern reviews which phase, and the agents' fault rate (split evenly between
    failure, no answer and exception). `analysts_needed`: how many of the three analysts must
    deliver for analyze's targets to stand."""

    analyze: str = "concurrent"  # or "none"
    plan: str = "sequential"  # or "magentic", "none"
    validate: str = "handoff"  # or "none"
    analysts_needed: int = 2
    fault_rate: float = 0.0
    latency: float = 0.002  # days per agent call

    @classmethod
    def for_strategy(cls, risk_profile: str, fault_rate: float = 0.0) -> PhasePatterns:
        """The strategy's risk profile chooses the patterns: a conservative desk wants all
        three analysts and a magentic plan review that re-plans around a failing member;
        an aggressive one acts on one analyst and skips the compliance handoff."""
        if risk_profile == "conservative":
            return cls(plan="magentic", analysts_needed=3, fault_rate=fault_rate)
        if risk_profile == "aggressive":
            return cls(validate="none", analysts_needed=1, fault_rate=fault_rate)
        return cls(fault_rate=fault_rate)

    @classmethod
    def configured(
        cls, risk_profile: str, team: TeamConfig | None, orchestration: PhaseOrchestration | None
    ) -> PhasePatterns:
        """The profile's choice, with the strategy's `orchestration` keys and the team's rates."""
        team = team or TeamConfig()
        chosen = cls.for_strategy(risk_profile, team.fault_rate)
        chosen = replace(chosen, latency=team.latency)
        return replace(chosen, **(orchestration.chosen() if orchestration else {}))


class PhaseTeam:
    """Installs the orchestration runtime and the team on `world`; `review` is used by the
    executor as `result = yield from team.review(phase, cycle, result)`."""

    def __init__(
        self,
        world: World,
        patterns: PhasePatterns,
        caller: str,
        failure_rates: dict[str, float] | None = None,
        agents: Mapping[str, TeamAgent] | None = None,
        deadline: float = 0.02,
    ) -> None:
        """`failure_rates`: per-agent overrides of the reported-failure rate (e.g. an unreliable
        researcher, to watch a magentic team re-plan around it). `agents`: per-agent overrides
        of capabilities and each fault rate (a finance config's `team.agents`)."""
        self.patterns = patterns
        self.caller = caller
        self.runtime = Runtime(world)
        third = patterns.fault_rate / 3

        def agent(name: str, caps: list[str], **kw: Any) -> SimAgent:
            rates = {"failure_rate": third, "timeout_rate": third, "exception_rate": third, **kw}
            if failure_rates and name in failure_rates:
                rates.update(failure_rate=failure_rates[name], timeout_rate=0.0, exception_rate=0.0)
            own = (agents or {}).get(name)
            if own is not None:
                given = own.model_dump(exclude_none=True)
                caps = list(given.pop("capabilities", caps))
                rates.update(given)
            return SimAgent(name, tuple(caps), Channel(base=patterns.latency), deadline=deadline, **rates)

        analysts = [
            agent("macro_analyst", ["macro"]),
            agent("flows_analyst", ["flows"]),
            agent("news_analyst", ["news"]),
        ]
        researcher = agent("researcher", ["research"])
        backup = agent("research_backup", ["research"])
        strategist, risk = agent("strategist", ["strategy"]), agent("risk_officer", ["risk"])
        desk = agent("desk", ["desk_check"], routes={"compliance": "compliance_officer"})
        officer = agent("compliance_officer", ["compliance"])
        self.roots: dict[str, Orchestration] = {}
        if patterns.analyze == "concurrent":
            self.roots["analyze"] = ConcurrentOrchestration(
                "analysts", analysts, max_concurrent=3, min_success=patterns.analysts_needed
            )
        if patterns.plan == "sequential":
            self.roots["plan"] = SequentialOrchestration("plan_pipeline", [researcher, strategist, risk])
        elif patterns.plan == "magentic":
            self.roots["plan"] = MagenticOrchestration(
                "plan_team", [researcher, backup, strategist, risk], max_stall=2, max_resets=2, max_rounds=12
            )
        if patterns.validate == "handoff":
            self.roots["validate"] = HandoffOrchestration(
                "validation",
                [desk, officer],
                entry="desk",
                relations={"desk": ["compliance_officer"]},
                max_handoffs=2,
            )
        for root in self.roots.values():
            self.runtime.add(root)

    def review(self, phase: str, cycle: int, result: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
        root = self.roots.get(phase)
        if root is None:
            return result
        task = {"id": f"d{cycle}.{phase}", "requires": TASKS[phase]}
        outcome = yield from root.invoke(
            new_work(task), self.runtime, Context(task=task["id"], parent=self.caller)
        )
        note = {"pattern": root.pattern, "success": outcome.success, "end_reason": outcome.end_reason}
        result = {**result, "orchestration": note}
        if outcome.success:
            return result
        if phase == "analyze":
            result["targets"] = dict(result["current"])
        elif phase == "plan":
            result["orders"] = []
        elif phase == "validate":
            reason = f"orchestration: {outcome.end_reason}"
            denied = [{"id": i, "reason": reason} for i in result["approved"]]
            result["denied"] = result["denied"] + denied
            result["approved"] = []
        return result
