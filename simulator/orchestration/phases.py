"""Orchestration teams for a phase executor: analysts gather concurrently before analyze's
targets are used, a research -> strategy -> risk pipeline (or a magentic team) signs off the
plan, and validate hands the orders from the trader's desk to a compliance agent.

The team reviews each phase's result inside the trader's own process, on the trader's World
(the orchestration reducers are installed there, its agents registered as entities), so the
conversations are kernel events in the same record and chain as the trades. A failed review
changes the phase's result the way a desk would: analyze holds the current weights, plan
places no orders, validate denies every order, each with the end reason. Works on plain
phase-result dicts; nothing here imports a world.

Opt-in: a run without a team is untouched (same events, same chain heads).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

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


class PhaseTeam:
    """Installs the orchestration runtime and the team on `world`; `review` is used by the
    executor as `result = yield from team.review(phase, cycle, result)`."""

    def __init__(
        self,
        world: World,
        patterns: PhasePatterns,
        caller: str,
        failure_rates: dict[str, float] | None = None,
    ) -> None:
        """`failure_rates`: per-agent overrides of the reported-failure rate (e.g. an unreliable
        researcher, to watch a magentic team re-plan around it)."""
        self.patterns = patterns
        self.caller = caller
        self.runtime = Runtime(world)
        third = patterns.fault_rate / 3

        def agent(name: str, caps: list[str], **kw: Any) -> SimAgent:
            rates = {"failure_rate": third, "timeout_rate": third, "exception_rate": third, **kw}
            if failure_rates and name in failure_rates:
                rates.update(failure_rate=failure_rates[name], timeout_rate=0.0, exception_rate=0.0)
            return SimAgent(name, tuple(caps), Channel(base=patterns.latency), deadline=0.02, **rates)

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
