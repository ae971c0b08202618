"""The orchestration runtime on a World: its reducers, agent calls and emit-and-wait.

Orchestrations are SimPy processes that act only through kernel events. `emit` schedules an
intent and returns a SimPy event that fires with the intent's sequence number once it is
applied, so the next intent can name it as its cause: every conversation is one causal chain
in the record (task.arrive -> orch.start -> agent.call -> agent.start -> agent.message ->
agent.result -> agent.call ... -> orch.end -> task.done). `call` resolves with the agent's
result or fault, whichever the reducers apply first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy

from ..engine import Event, RecordLayout, World
from .agents import SimAgent
from .model import Context

if TYPE_CHECKING:
    from .base import Orchestration

AGENT, NODE, SOURCE = "agent", "orchestration", "source"
FIELDS = ("status", "in_flight", "calls", "succeeded", "failed", "exceptions", "timeouts")
LAYOUT = RecordLayout(kinds=(AGENT, NODE), fields=FIELDS, id_column="member", mode="changed")
NOTES = (
    "task.arrive",
    "chat.select",
    "chat.human",
    "handoff",
    "magentic.plan",
    "magentic.progress",
    "magentic.final",
)


def counters() -> dict[str, Any]:
    return {
        "status": "idle",
        "in_flight": 0,
        "calls": 0,
        "succeeded": 0,
        "failed": 0,
        "exceptions": 0,
        "timeouts": 0,
    }


@dataclass(eq=False)
class _Call:
    agent: SimAgent
    caller: str
    work: dict[str, Any]
    instruction: str | None
    deadline: float
    waiter: simpy.Event
    reply: dict[str, Any] | None = None


class Runtime:
    """Installs the orchestration reducers on `world` and runs orchestrations on it."""

    def __init__(self, world: World) -> None:
        if "agent.call" in world.reducers:
            raise ValueError("this world already has an orchestration runtime")
        self.world = world
        self.env = world.env
        self.agents: dict[str, SimAgent] = {}
        self.nodes: dict[str, Orchestration] = {}
        self._applied: dict[Event, simpy.Event] = {}
        self._calls: dict[str, _Call] = {}
        for event_type, reducer in (
            ("agent.call", self._on_call),
            ("agent.start", self._on_start),
            ("agent.message", self._on_message),
            ("agent.result", self._on_result),
            ("agent.fault", self._on_fault),
            ("orch.start", self._on_orch_start),
            ("orch.end", self._on_orch_end),
            ("task.done", self._on_task_done),
        ):
            world.on(event_type, reducer)
        for event_type in NOTES:
            world.on(event_type, self._on_note)

    @property
    def now(self) -> float:
        return self.env.now

    # -- building -------------------------------------------------------------------------
    def add(self, member: SimAgent | Orchestration) -> None:
        """Register an agent, or an orchestration and (recursively) its members, as entities."""
        if isinstance(member, SimAgent):
            known = self.agents.get(member.name)
            if known is None:
                self.world.register(member.name, AGENT, counters())
                self.agents[member.name] = member
            elif known is not member:
                raise ValueError(f"two different agents are named {member.name!r}")
            return
        known = self.nodes.get(member.name)
        if known is member:
            return
        if known is not None or member.name in self.agents:
            raise ValueError(f"two members are named {member.name!r}")
        self.world.register(member.name, NODE, counters())
        self.nodes[member.name] = member
        for m in member.members:
            self.add(m)

    @staticmethod
    def invocation_id(context: Context) -> str:
        """`<task>/i<n>`: numbered within the task, so ids never depend on other tasks."""
        context.stats.invocations += 1
        return f"{context.task}/i{context.stats.invocations}"

    # -- process side ---------------------------------------------------------------------
    def emit(
        self, type: str, source: str, target: str, payload: dict[str, Any], cause: int | None
    ) -> simpy.Event:
        """Schedule an intent with its cause; the returned event fires with its seq once applied."""
        event = Event(type, source, target, payload, cause=cause)
        applied = self.env.event()
        self._applied[event] = applied
        self.world.emit(event)
        return applied

    def call(self, context: Context, agent: SimAgent, work: dict[str, Any], deadline: float) -> simpy.Event:
        """Ask `agent` to work on `work`; fires with the reply dict (`success`, `content`,
        `output`, `fault`: None / "exception" / "timeout", `seq` of the resolving event)."""
        context.stats.calls += 1
        call_id = f"{context.task}/c{context.stats.calls}"
        waiter = self.env.event()
        self._calls[call_id] = _Call(agent, context.parent, work, context.instruction, deadline, waiter)
        payload = {"call": call_id, "task": context.task, "deadline": round(deadline, 9)}
        if context.instruction is not None:
            payload["instruction"] = context.instruction
        self.world.emit(Event("agent.call", context.parent, agent.name, payload, cause=context.cause))
        return waiter

    # -- reducers -------------------------------------------------------------------------
    def _applied_now(self, event: Event) -> None:
        waiter = self._applied.pop(event, None)
        if waiter is not None:
            waiter.succeed(self.world.seq)

    def _on_note(self, w: World, ev: Event) -> None:
        self._applied_now(ev)

    def _on_call(self, w: World, ev: Event) -> Iterable[Event]:
        a = w.entity(ev.target)
        a["in_flight"] += 1
        a["calls"] += 1
        a["status"] = "busy"
        return [
            Event(
                "agent.start", ev.target, ev.source, {"call": ev.payload["call"], "task": ev.payload["task"]}
            )
        ]

    def _on_start(self, w: World, ev: Event) -> Iterable[Event]:
        """The agent works: one fault draw and one think-time draw from its own stream."""
        call = self._calls[ev.payload["call"]]
        agent = call.agent
        rng = w.rng(f"agent/{agent.name}")
        u = rng.random()
        think = agent.latency.sample(rng, w.entities[agent.name]["in_flight"] - 1)
        base = {"call": ev.payload["call"], "task": ev.payload["task"]}
        hangs = agent.exception_rate <= u < agent.exception_rate + agent.timeout_rate
        if hangs or think > call.deadline:  # no answer (or none in time): the call times out
            return [
                self._fault(
                    ev,
                    base,
                    "timeout",
                    f"{agent.name} gave no answer within {call.deadline:g}",
                    call.deadline,
                )
            ]
        if u < agent.exception_rate:
            return [self._fault(ev, base, "exception", f"{agent.name} raised AgentError", think)]
        if u < agent.exception_rate + agent.timeout_rate + agent.failure_rate:
            reply = {"success": False, "content": f"{agent.name} could not finish", "output": call.work}
        else:
            request = {
                "work": call.work,
                "instruction": call.instruction,
                "caller": call.caller,
                "task": ev.payload["task"],
            }
            try:
                reply = agent.client.respond(agent, request)
            except Exception as exc:  # a client's error is the agent's exception, with its text
                error = f"{agent.name} raised {type(exc).__name__}: {exc}"
                return [self._fault(ev, base, "exception", error, think)]
        call.reply = reply
        return [
            Event(
                "agent.message", agent.name, call.caller, {**base, "content": reply["content"]}, delay=think
            )
        ]

    @staticmethod
    def _fault(ev: Event, base: dict[str, Any], kind: str, error: str, delay: float) -> Event:
        return Event("agent.fault", ev.source, ev.target, {**base, "kind": kind, "error": error}, delay=delay)

    def _on_message(self, w: World, ev: Event) -> Iterable[Event]:
        call = self._calls[ev.payload["call"]]
        reply = call.reply
        payload = {"call": ev.payload["call"], "task": ev.payload["task"], "success": bool(reply["success"])}
        if reply.get("handoff_to"):
            payload["handoff_to"] = reply["handoff_to"]
        return [Event("agent.result", ev.source, ev.target, payload)]

    def _finish(self, w: World, ev: Event, counter: str) -> None:
        a = w.entity(ev.source)
        a["in_flight"] -= 1
        a[counter] += 1
        a["status"] = "busy" if a["in_flight"] else "idle"

    def _on_result(self, w: World, ev: Event) -> None:
        self._finish(w, ev, "succeeded" if ev.payload["success"] else "failed")
        call = self._calls.pop(ev.payload["call"])
        reply = call.reply
        call.waiter.succeed(
            {
                "success": bool(reply["success"]),
                "content": reply["content"],
                "output": reply.get("output", call.work),
                "handoff_to": reply.get("handoff_to"),
                "fault": None,
                "seq": w.seq,
            }
        )

    def _on_fault(self, w: World, ev: Event) -> None:
        kind = ev.payload["kind"]
        self._finish(w, ev, "exceptions" if kind == "exception" else "timeouts")
        call = self._calls.pop(ev.payload["call"])
        call.waiter.succeed(
            {
                "success": False,
                "content": ev.payload["error"],
                "output": call.work,
                "fault": kind,
                "seq": w.seq,
            }
        )

    def _on_orch_start(self, w: World, ev: Event) -> None:
        n = w.entity(ev.source)
        n["in_flight"] += 1
        n["calls"] += 1
        n["status"] = "busy"
        self._applied_now(ev)

    def _on_orch_end(self, w: World, ev: Event) -> None:
        reason = ev.payload["reason"]
        counter = "succeeded" if ev.payload["success"] else "failed"
        if reason in ("exception", "timeout"):
            counter = "exceptions" if reason == "exception" else "timeouts"
        self._finish(w, ev, counter)
        self._applied_now(ev)

    def _on_task_done(self, w: World, ev: Event) -> None:
        self._applied_now(ev)
