"""Handoff: the current agent works, then may hand the work to another member along a
declared relation. A handoff to an unknown or undeclared target ends with a failed result
that names it; `max_handoffs` bounds the chain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Orchestration, Steps
from .model import COMPLETED, INVALID_HANDOFF, MAX_HANDOFFS, MEMBER_FAILED, Context, failure_reason, pending


class HandoffOrchestration(Orchestration):
    """`relations`: member name -> the members it may hand to; `entry`: who starts."""

    pattern = "handoff"

    def __init__(
        self,
        name: str,
        members: list,
        *,
        entry: str,
        relations: Mapping[str, Sequence[str]],
        max_handoffs: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, members, **kwargs)
        names = [m.name for m in self.members]
        if entry not in names:
            raise ValueError(f"{name}: entry {entry!r} is not a member (members: {', '.join(names)})")
        for source, targets in relations.items():
            if source not in names:
                raise ValueError(
                    f"{name}: relation from {source!r}, not a member (members: {', '.join(names)})"
                )
            if not targets:
                raise ValueError(f"{name}: relation from {source!r} hands to nobody")
            for t in targets:
                if t not in names:
                    raise ValueError(
                        f"{name}: relation {source!r} -> {t!r}: not a member (members: {', '.join(names)})"
                    )
        if max_handoffs < 0:
            raise ValueError(f"{name}: max_handoffs must be >= 0, got {max_handoffs}")
        self.entry = entry
        self.relations = {k: list(v) for k, v in relations.items()}
        self.max_handoffs = max_handoffs

    def run(self, task: Any, runtime: Any, context: Context) -> Steps:
        messages: list = []
        work = task
        current = self.member(self.entry)
        handoffs = 0
        while True:
            result = yield from self.call_member(current, work, runtime, context)
            messages += result.messages
            if not result.success:
                return self.done(
                    False,
                    work,
                    messages,
                    failure_reason(result),
                    handoffs=handoffs,
                    failed_member=current.name,
                    error=result.metadata.get("error", ""),
                )
            work = result.output
            target = result.metadata.get("handoff_to")
            if not target:
                left = pending(work) if isinstance(work, dict) and "requires" in work else []
                if left:
                    return self.done(
                        False,
                        work,
                        messages,
                        MEMBER_FAILED,
                        handoffs=handoffs,
                        error=f"{current.name} stopped with steps pending: {', '.join(left)}",
                    )
                return self.done(True, work, messages, COMPLETED, handoffs=handoffs)
            allowed = self.relations.get(current.name, [])
            error = None
            if self.member(target) is None:
                error = (
                    f"handoff from {current.name!r} to unknown member {target!r} "
                    f"(members: {', '.join(m.name for m in self.members)})"
                )
            elif target not in allowed:
                error = (
                    f"handoff from {current.name!r} to {target!r} is not declared "
                    f"(declared: {', '.join(allowed) or 'none'})"
                )
            if error:
                return self.done(
                    False, work, messages, INVALID_HANDOFF, handoffs=handoffs, target=target, error=error
                )
            if handoffs >= self.max_handoffs:
                return self.done(
                    False,
                    work,
                    messages,
                    MAX_HANDOFFS,
                    handoffs=handoffs,
                    error=f"{self.max_handoffs} handoffs used; {current.name} asked for {target}",
                )
            handoffs += 1
            context.cause = yield runtime.emit(
                "handoff",
                current.name,
                target,
                {"task": context.task, "orchestration": self.name, "n": handoffs},
                context.cause,
            )
            current = self.member(target)
