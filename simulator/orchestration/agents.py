"""Simulated agents: declared capabilities, a latency, fault rates and a deterministic policy.

An agent is an entity of kind `agent` in the World. A call to it is a chain of kernel events
(`agent.call` -> `agent.start` -> `agent.message` -> `agent.result`, or `agent.fault`), each
caused by the one before, applied by the runtime's reducers. What it answers comes from an
`AgentClient`; the default `PolicyClient` is a deterministic policy. When it answers, and
whether it fails, hangs or raises, is drawn from the agent's own named stream `agent/<name>`:
one uniform draw for the fault and one think-time draw from its latency `Channel` (the
kernel's channel: base + distribution + congestion x the agent's calls in flight) per call,
whatever the outcome, so fault rates change outcomes without shifting anyone's draws.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..engine import Channel
from .model import (
    COMPLETED,
    EXCEPTION,
    MEMBER_FAILED,
    TIMEOUT,
    Context,
    OrchestrationResult,
    pending,
)

if TYPE_CHECKING:
    from .runtime import Runtime


class AgentClient(Protocol):
    """Where an agent's answer comes from.

    `respond` receives the agent and the request (`work`: the work item, `instruction`: the
    step asked for or None, `caller`, `task`) and returns a reply: `success` (bool),
    `content` (the message text), `output` (the new work item) and optionally `handoff_to`.
    A real model could answer here (a client that builds a prompt from the request and
    parses the model's reply into these fields); the simulated latency and fault draws
    still decide when, and whether, its answer arrives, so runs stay replayable from the
    record. Nothing in this package calls a network; only `PolicyClient` is exercised.
    """

    def respond(self, agent: SimAgent, request: dict[str, Any]) -> dict[str, Any]: ...


class PolicyClient:
    """The deterministic policy: do the asked-for step (or every pending step this agent
    can do), note a fact per step, and route the next pending step along `routes`."""

    def respond(self, agent: SimAgent, request: dict[str, Any]) -> dict[str, Any]:
        work = request["work"]
        step = request.get("instruction")
        if step is not None and step not in agent.capabilities:
            return {
                "success": False,
                "content": f"{agent.name} cannot do {step!r} (can: {', '.join(agent.capabilities)})",
                "output": work,
            }
        todo = [step] if step is not None else pending(work)
        mine = [c for c in todo if c in agent.capabilities and c not in work["done"]]
        facts = [f"{c}:{work['task']}@{agent.name}" for c in mine]
        output = {
            **work,
            "done": work["done"] + mine,
            "facts": work["facts"] + facts,
            "text": f"{agent.name} did {', '.join(mine)}" if mine else f"{agent.name}: nothing to add",
        }
        reply: dict[str, Any] = {"success": True, "content": output["text"], "output": output}
        left = pending(output)
        if left and left[0] in agent.routes:
            reply["handoff_to"] = agent.routes[left[0]]
        return reply


@dataclass(eq=False)
class SimAgent:
    """A simulated agent, usable wherever an orchestration member is expected.

    - `capabilities`: the steps it declares it can do;
    - `latency`: its think time per call (a kernel `Channel`; congestion counts its own calls
      in flight);
    - `failure_rate`, `timeout_rate`, `exception_rate`: per-call probabilities that it reports
      failure, never answers (the call times out at its deadline) or raises;
    - `deadline`: how long a caller waits for it when the caller sets no tighter limit;
    - `routes`: capability -> agent to hand the work to when that step is next (handoff).
    """

    name: str
    capabilities: tuple[str, ...] = ()
    latency: Channel = field(default_factory=lambda: Channel(base=1.0))
    failure_rate: float = 0.0
    timeout_rate: float = 0.0
    exception_rate: float = 0.0
    deadline: float = 60.0
    routes: dict[str, str] = field(default_factory=dict)
    client: AgentClient = field(default_factory=PolicyClient)

    def __post_init__(self) -> None:
        self.capabilities = tuple(self.capabilities)
        rates = (self.failure_rate, self.timeout_rate, self.exception_rate)
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise ValueError(f"agent {self.name!r}: fault rates must be >= 0 and sum to <= 1, got {rates}")
        if self.deadline <= 0:
            raise ValueError(f"agent {self.name!r}: deadline must be > 0, got {self.deadline}")

    @property
    def members(self) -> list:
        return []

    def invoke(
        self, task: dict[str, Any], runtime: Runtime, context: Context
    ) -> Generator[Any, Any, OrchestrationResult]:
        """One call: emit `agent.call`, wait for its result or fault; a one-message result."""
        limit = self.deadline
        if context.deadline is not None:
            limit = min(limit, context.deadline - runtime.now)
        reply = yield runtime.call(context, self, task, limit)
        message = {
            "seq": reply["seq"],
            "time": runtime.now,
            "task": context.task,
            "from": self.name,
            "to": context.parent,
            "content": reply["content"],
        }
        context.stats.messages += 1
        if reply["fault"]:
            context.stats.faults += 1
            reason = TIMEOUT if reply["fault"] == "timeout" else EXCEPTION
        else:
            reason = COMPLETED if reply["success"] else MEMBER_FAILED
        metadata = {"end_reason": reason, "seq": reply["seq"], "member": self.name, "pattern": "agent"}
        if reply.get("handoff_to"):
            metadata["handoff_to"] = reply["handoff_to"]
        if reply["fault"]:
            metadata["error"] = reply["content"]
        return OrchestrationResult(reason == COMPLETED, reply["output"], [message], metadata)
