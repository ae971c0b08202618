"""The base of every pattern: members, hooks, a result transform, and `invoke` as a process.

`invoke(task, runtime, context)` is a generator to run as (or inside) a SimPy process:
`result = yield from orchestration.invoke(work, runtime, context)`. It brackets the pattern's
work between `orch.start` and `orch.end` events, catches an exception raised by the pattern,
a hook or a member's client into a failed result whose metadata names it (never swallowed:
it is in the result and in the record), and always sets `end_reason`. Members are agents or
other orchestrations, so patterns nest to any depth.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

from .model import (
    COMPLETED,
    END_REASONS,
    EXCEPTION,
    TIMEOUT,
    Context,
    OrchestrationResult,
)

if TYPE_CHECKING:
    from .runtime import Runtime

Steps = Generator[Any, Any, OrchestrationResult]
Member = Any  # a SimAgent or an Orchestration: anything with `name`, `members` and `invoke`


class Orchestration:
    """Members, a name, hooks and a result transform; subclasses implement `run`.

    - `pre_invoke(task, context)`: may return a replacement task;
    - `post_invoke(result, context)`: sees the final result (after the transform);
    - `result_transform(result)`: returns the result to hand back;
    - `retries`: how many times a failed member call is retried before it counts as failed;
    - `timeout`: a limit on this whole invocation (it becomes the members' deadline).
    """

    pattern = "base"

    def __init__(
        self,
        name: str,
        members: Sequence[Member],
        *,
        pre_invoke: Callable[[Any, Context], Any] | None = None,
        post_invoke: Callable[[OrchestrationResult, Context], None] | None = None,
        result_transform: Callable[[OrchestrationResult], OrchestrationResult] | None = None,
        retries: int = 0,
        timeout: float | None = None,
    ) -> None:
        if not members:
            raise ValueError(f"{name}: an orchestration needs at least one member")
        names = [m.name for m in members]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{name}: members listed twice: {', '.join(twice)}")
        if retries < 0:
            raise ValueError(f"{name}: retries must be >= 0, got {retries}")
        self.name = name
        self.members = list(members)
        self.pre_invoke = pre_invoke
        self.post_invoke = post_invoke
        self.result_transform = result_transform
        self.retries = retries
        self.timeout = timeout

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def run(self, task: Any, runtime: Runtime, context: Context) -> Steps:
        """The pattern itself; returns a result whose metadata has `end_reason`."""
        raise NotImplementedError

    # -- the process ----------------------------------------------------------------------
    def invoke(self, task: Any, runtime: Runtime, context: Context) -> Steps:
        invocation = runtime.invocation_id(context)
        ctx = context.child(
            parent=self.name, deadline=context.within(self.timeout, runtime.now), depth=context.depth + 1
        )
        payload = {
            "task": context.task,
            "invocation": invocation,
            "pattern": self.pattern,
            "caller": context.parent,
            "depth": ctx.depth,
        }
        ctx.cause = yield runtime.emit("orch.start", self.name, context.parent, payload, context.cause)
        try:
            if self.pre_invoke is not None:
                replaced = self.pre_invoke(task, ctx)
                task = task if replaced is None else replaced
            result = yield from self.run(task, runtime, ctx)
            if self.result_transform is not None:
                result = self.result_transform(result)
            if self.post_invoke is not None:
                self.post_invoke(result, ctx)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            result = OrchestrationResult(False, task, [], {"end_reason": EXCEPTION, "error": error})
        meta = result.metadata
        reason = meta.get("end_reason")
        problem = None
        if reason not in END_REASONS:
            problem = f"end reason {reason!r} is not one of {', '.join(END_REASONS)}"
        elif result.success != (reason == COMPLETED):
            problem = f"success={result.success} with end reason {reason!r} (success means {COMPLETED!r})"
        if problem:  # a pattern, manager or transform broke the contract: never report success
            error = f"{self.name}: {problem}"
            result = OrchestrationResult(
                False, result.output, result.messages, {**meta, "end_reason": EXCEPTION, "error": error}
            )
            meta = result.metadata
        meta.setdefault("pattern", self.pattern)
        meta["name"] = self.name
        meta["invocation"] = invocation
        end = {
            "task": context.task,
            "invocation": invocation,
            "success": result.success,
            "reason": meta["end_reason"],
        }
        if meta.get("error"):
            end["error"] = meta["error"]
        meta["seq"] = yield runtime.emit("orch.end", self.name, context.parent, end, ctx.cause)
        return result

    def call_member(
        self,
        member: Member,
        task: Any,
        runtime: Runtime,
        ctx: Context,
        instruction: str | None = None,
        timeout: float | None = None,
    ) -> Steps:
        """Invoke one member (with this orchestration's retries); moves `ctx.cause` to the
        event that ended the call. A call past the deadline is not made: it times out."""
        attempt = 0
        earlier: list = []
        while True:
            deadline = ctx.within(timeout, runtime.now)
            if deadline is not None and deadline <= runtime.now:
                return OrchestrationResult(
                    False,
                    task,
                    [],
                    {
                        "end_reason": TIMEOUT,
                        "member": member.name,
                        "error": f"no time left for {member.name}",
                    },
                )
            sub = ctx.child(deadline=deadline, instruction=instruction)
            result = yield from member.invoke(task, runtime, sub)
            ctx.cause = result.metadata.get("seq", ctx.cause)
            if result.success or attempt >= self.retries:
                result.messages = earlier + result.messages
                return result
            earlier += result.messages
            attempt += 1
            ctx.stats.retries += 1

    def done(
        self, success: bool, output: Any, messages: list, reason: str, **meta: Any
    ) -> OrchestrationResult:
        """A result of this pattern."""
        if success and reason != COMPLETED:
            raise ValueError(f"{self.name}: a successful result must end {COMPLETED!r}, not {reason!r}")
        return OrchestrationResult(success, output, messages, {"end_reason": reason, **meta})
