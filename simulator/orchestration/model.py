"""Plain data shared by every pattern: results, end reasons, work items and invocation contexts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Why an invocation ended. Every OrchestrationResult's metadata carries one of these.
COMPLETED = "completed"
MEMBER_FAILED = "member failed"
TIMEOUT = "timeout"
EXCEPTION = "exception"
MAX_TURNS = "max turns"
MAX_HANDOFFS = "max handoffs"
INVALID_HANDOFF = "invalid handoff"
STALLED = "stalled"
OUT_OF_ROUNDS = "out of rounds"
END_REASONS = (
    COMPLETED,
    MEMBER_FAILED,
    TIMEOUT,
    EXCEPTION,
    MAX_TURNS,
    MAX_HANDOFFS,
    INVALID_HANDOFF,
    STALLED,
    OUT_OF_ROUNDS,
)


@dataclass
class OrchestrationResult:
    """What `invoke` returns: success, the output (a work item), the messages of the
    conversation (nested members' included, in order) and metadata with `end_reason`."""

    success: bool
    output: Any
    messages: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def end_reason(self) -> str:
        return self.metadata["end_reason"]


def failure_reason(member_result: OrchestrationResult) -> str:
    """The reason a caller ends with when this member's failure stops it."""
    reason = member_result.metadata.get("end_reason")
    return reason if reason in (TIMEOUT, EXCEPTION) else MEMBER_FAILED


# -- work items: what flows between members --------------------------------------------------


def new_work(task: dict[str, Any]) -> dict[str, Any]:
    """The work item for a task: its required capabilities, the steps done and facts found."""
    return {
        "task": task["id"],
        "requires": list(task["requires"]),
        "done": [],
        "facts": [],
        "text": task.get("text", ""),
    }


def pending(work: dict[str, Any]) -> list[str]:
    """Required capabilities not done yet, in the order the task lists them."""
    done = work["done"]
    return [c for c in work["requires"] if c not in done]


def merge_work(base: dict[str, Any], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """Union of several members' work on the same item, in member order."""
    merged = {**base, "done": list(base["done"]), "facts": list(base["facts"])}
    texts = []
    for out in outputs:
        merged["done"] += [c for c in out["done"] if c not in merged["done"]]
        merged["facts"] += [f for f in out["facts"] if f not in merged["facts"]]
        texts.append(out["text"])
    merged["text"] = " | ".join(texts) if texts else base["text"]
    return merged


# -- invocation context ------------------------------------------------------------------------


@dataclass
class TaskStats:
    """Counters for one task, shared by every invocation in its tree."""

    calls: int = 0
    invocations: int = 0
    retries: int = 0
    messages: int = 0
    faults: int = 0


@dataclass
class Context:
    """Where an invocation stands: its task, the caller node, the seq of the event that led
    here (the cause of the next event it emits), a deadline, an instruction, user data."""

    task: str
    parent: str
    cause: int | None = None
    deadline: float | None = None
    instruction: str | None = None
    stats: TaskStats = field(default_factory=TaskStats)
    data: dict[str, Any] = field(default_factory=dict)
    depth: int = 0

    def child(self, **changes: Any) -> Context:
        """A context for a member: same task, stats and data; its own cause and position."""
        values = {
            "task": self.task,
            "parent": self.parent,
            "cause": self.cause,
            "deadline": self.deadline,
            "instruction": None,
            "stats": self.stats,
            "data": self.data,
            "depth": self.depth,
        }
        values.update(changes)
        return Context(**values)

    def within(self, timeout: float | None, now: float) -> float | None:
        """The deadline tightened by `timeout` from `now`."""
        if timeout is None:
            return self.deadline
        limit = now + timeout
        return limit if self.deadline is None else min(self.deadline, limit)
