"""Sequential: each member's output feeds the next; the first failure stops the pipeline."""

from __future__ import annotations

from typing import Any

from .base import Orchestration, Steps
from .model import COMPLETED, Context, failure_reason


class SequentialOrchestration(Orchestration):
    pattern = "sequential"

    def run(self, task: Any, runtime: Any, context: Context) -> Steps:
        messages: list = []
        work = task
        for member in self.members:
            result = yield from self.call_member(member, work, runtime, context)
            messages += result.messages
            if not result.success:
                return self.done(
                    False,
                    work,
                    messages,
                    failure_reason(result),
                    failed_member=member.name,
                    error=result.metadata.get("error", f"{member.name} failed"),
                )
            work = result.output
        return self.done(True, work, messages, COMPLETED)
