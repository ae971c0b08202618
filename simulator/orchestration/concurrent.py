"""Concurrent: every member on the same input, at most `max_concurrent` in flight (a SimPy
resource), each with its own timeout; failures captured per member; results in member order
whatever the finishing order; success when at least `min_success` members succeeded."""

from __future__ import annotations

from typing import Any

import simpy

from .base import Orchestration, Steps
from .model import COMPLETED, EXCEPTION, MEMBER_FAILED, TIMEOUT, Context, merge_work


class ConcurrentOrchestration(Orchestration):
    """`min_success`: how many members must succeed (default 1; None means all of them)."""

    pattern = "concurrent"

    def __init__(
        self,
        name: str,
        members: list,
        *,
        max_concurrent: int = 10,
        member_timeout: float | None = None,
        min_success: int | None = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, members, **kwargs)
        if max_concurrent < 1:
            raise ValueError(f"{name}: max_concurrent must be >= 1, got {max_concurrent}")
        if member_timeout is not None and member_timeout <= 0:
            raise ValueError(f"{name}: member_timeout must be > 0, got {member_timeout}")
        need = len(self.members) if min_success is None else min_success
        if not 1 <= need <= len(self.members):
            raise ValueError(
                f"{name}: min_success must be between 1 and {len(self.members)}, got {min_success}"
            )
        self.max_concurrent = max_concurrent
        self.member_timeout = member_timeout
        self.min_success = need

    def _one(self, member: Any, work: Any, runtime: Any, ctx: Context, slots: simpy.Resource) -> Steps:
        with slots.request() as turn:
            yield turn
            return (yield from self.call_member(member, work, runtime, ctx, timeout=self.member_timeout))

    def run(self, task: Any, runtime: Any, context: Context) -> Steps:
        slots = simpy.Resource(runtime.env, capacity=self.max_concurrent)
        branches = [context.child() for _ in self.members]
        procs = [
            runtime.env.process(self._one(m, task, runtime, b, slots))
            for m, b in zip(self.members, branches, strict=True)
        ]
        yield runtime.env.all_of(procs)
        results = [p.value for p in procs]  # member order, whatever order they finished in
        context.cause = max((b.cause for b in branches if b.cause is not None), default=context.cause)
        messages = [m for r in results for m in r.messages]
        ok = [r.output for r in results if r.success]
        output = merge_work(task, ok)
        output["members"] = [
            {
                "member": m.name,
                "success": r.success,
                "reason": r.metadata["end_reason"],
                "text": r.output.get("text", "") if isinstance(r.output, dict) else str(r.output),
            }
            for m, r in zip(self.members, results, strict=True)
        ]
        failed = [m.name for m, r in zip(self.members, results, strict=True) if not r.success]
        if len(ok) >= self.min_success:
            return self.done(True, output, messages, COMPLETED, failed_members=failed)
        reasons = {r.metadata["end_reason"] for r in results if not r.success}
        reason = reasons.pop() if len(reasons) == 1 and reasons <= {TIMEOUT, EXCEPTION} else MEMBER_FAILED
        return self.done(
            False,
            output,
            messages,
            reason,
            failed_members=failed,
            error=f"{len(ok)} of {len(results)} members succeeded, {self.min_success} needed",
        )
