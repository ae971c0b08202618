"""Magentic: a manager keeps a task ledger (facts, plan) and, each round, a progress ledger
(request satisfied? in a loop? progress being made? next speaker, instruction). A stall
counter rises on a round without progress or in a loop and falls on progress; at `max_stall`
the manager re-plans from what it has learned, at most `max_resets` times, and the task ends
`stalled` after that; `max_rounds` bounds the rounds. Success only when the ledger says the
request is satisfied; then the manager writes the final answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import Orchestration, Steps
from .model import COMPLETED, OUT_OF_ROUNDS, STALLED, Context, pending


@dataclass
class TaskLedger:
    """Facts learned and the plan: one subtask per pending capability, with its agent."""

    facts: list[str] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    attempts: list[tuple[str, str, bool]] = field(default_factory=list)  # under the current plan


PROGRESS_FIELDS = (
    "is_request_satisfied",
    "is_in_loop",
    "is_progress_being_made",
    "next_speaker",
    "instruction_or_question",
)


class MagenticManager:
    """The deterministic manager: subtasks assigned by declared capability, members that
    failed a subtask least come first (member order breaks ties), so a re-plan moves a
    subtask away from whoever kept failing it. A model-backed manager would replace
    `plan`, `progress` and `final_answer`."""

    def plan(self, left: list[str], members: list[Any], ledger: TaskLedger) -> list[dict[str, Any]]:
        plan = []
        for step in left:
            able = [m for m in members if step in getattr(m, "capabilities", ())]
            able.sort(key=lambda m: ledger.failures.get((m.name, step), 0))  # stable: member order on ties
            plan.append({"step": step, "agent": able[0].name if able else None})
        return plan

    def progress(self, work: dict[str, Any], left: list[str], ledger: TaskLedger) -> dict[str, Any]:
        step = left[0] if left else None
        assigned = next((p["agent"] for p in ledger.plan if p["step"] == step), None)
        last = ledger.attempts[-2:]
        in_loop = len(last) == 2 and last[0] == last[1] and not last[1][2]
        made = not ledger.attempts or ledger.attempts[-1][2]
        return {
            "is_request_satisfied": not left,
            "is_in_loop": in_loop,
            "is_progress_being_made": made,
            "next_speaker": assigned,
            "instruction_or_question": f"do {step!r} for {work['task']}" if step else "",
        }

    def final_answer(self, work: dict[str, Any], ledger: TaskLedger) -> str:
        return f"{work['task']}: {', '.join(work['done'])} done; facts: {'; '.join(ledger.facts)}"


class MagenticOrchestration(Orchestration):
    """`scope`: "task" (the request is every pending step of the task) or "team" (only the
    steps some member declares, for a magentic team that is one stage of a larger pipeline)."""

    pattern = "magentic"

    def __init__(
        self,
        name: str,
        members: list,
        *,
        manager: MagenticManager | None = None,
        max_stall: int = 3,
        max_resets: int = 2,
        max_rounds: int = 20,
        scope: str = "task",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, members, **kwargs)
        for key, value, low in (
            ("max_stall", max_stall, 1),
            ("max_resets", max_resets, 0),
            ("max_rounds", max_rounds, 1),
        ):
            if value < low:
                raise ValueError(f"{name}: {key} must be >= {low}, got {value}")
        if scope not in ("task", "team"):
            raise ValueError(f"{name}: scope must be 'task' or 'team', got {scope!r}")
        self.scope = scope
        self.manager = manager or MagenticManager()
        self.max_stall, self.max_resets, self.max_rounds = max_stall, max_resets, max_rounds

    def _left(self, work: dict[str, Any]) -> list[str]:
        left = pending(work)
        if self.scope == "team":
            declared = {c for m in self.members for c in getattr(m, "capabilities", ())}
            left = [c for c in left if c in declared]
        return left

    def _plan(self, work: Any, ledger: TaskLedger, runtime: Any, context: Context, reset: int) -> Steps:
        ledger.plan = self.manager.plan(self._left(work), self.members, ledger)
        ledger.attempts = []  # progress is judged afresh under a new plan
        payload = {"task": context.task, "reset": reset, "plan": ledger.plan, "facts": len(ledger.facts)}
        context.cause = yield runtime.emit("magentic.plan", self.name, self.name, payload, context.cause)

    def run(self, task: Any, runtime: Any, context: Context) -> Steps:
        work, ledger, messages = task, TaskLedger(), []
        rounds = stall = resets = 0
        yield from self._plan(work, ledger, runtime, context, resets)
        while True:
            progress = self.manager.progress(work, self._left(work), ledger)
            stuck = progress["is_in_loop"] or not progress["is_progress_being_made"]
            stall = stall + 1 if stuck else max(0, stall - 1)
            meta = {"rounds": rounds, "resets": resets, "stall": stall}
            payload = {"task": context.task, "round": rounds, "stall": stall, **progress}
            context.cause = yield runtime.emit(
                "magentic.progress", self.name, self.name, payload, context.cause
            )
            if progress["is_request_satisfied"]:
                answer = self.manager.final_answer(work, ledger)
                context.cause = yield runtime.emit(
                    "magentic.final",
                    self.name,
                    context.parent,
                    {"task": context.task, "answer": answer},
                    context.cause,
                )
                output = {**work, "text": answer}
                return self.done(True, output, messages, COMPLETED, facts=list(ledger.facts), **meta)
            if stall >= self.max_stall:
                if resets >= self.max_resets:
                    return self.done(
                        False,
                        work,
                        messages,
                        STALLED,
                        facts=list(ledger.facts),
                        **meta,
                        error=f"no progress after {resets} re-plans",
                    )
                resets += 1
                stall = 0
                yield from self._plan(work, ledger, runtime, context, resets)
                continue
            if rounds >= self.max_rounds:
                return self.done(
                    False,
                    work,
                    messages,
                    OUT_OF_ROUNDS,
                    facts=list(ledger.facts),
                    **meta,
                    error=f"{self.max_rounds} rounds used",
                )
            rounds += 1
            step, name = self._left(work)[0], progress["next_speaker"]
            if name is None:  # nobody declares this capability: a round without progress
                ledger.facts.append(f"nobody can do {step}")
                ledger.attempts.append(("", step, False))
                continue
            result = yield from self.call_member(self.member(name), work, runtime, context, instruction=step)
            messages += result.messages
            done = result.success and step in result.output["done"]
            ledger.attempts.append((name, step, done))
            if done:
                work = result.output
                ledger.facts.append(f"{name} did {step}")
            else:
                ledger.failures[(name, step)] = ledger.failures.get((name, step), 0) + 1
                ledger.facts.append(f"{name} failed {step} ({result.metadata['end_reason']})")
