"""A session: a World with the orchestration runtime, a task source, and the per-task rows.

Each task is a SimPy process: `task.arrive` (from the source `tasks`), the root
orchestration's invocation, then `task.done` (caused by the root's `orch.end`) carrying the
task's row: pattern, success, end reason, makespan, messages, agent calls, retries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..engine import LatencyModel, Sink, World
from .model import Context, OrchestrationResult, new_work
from .runtime import LAYOUT, SOURCE, Runtime

TASK_COLUMNS = (
    "task",
    "kind",
    "pattern",
    "root",
    "arrived",
    "finished",
    "makespan",
    "success",
    "end_reason",
    "messages",
    "agent_calls",
    "retries",
    "faults",
)


class Session:
    """`record=False` runs without a record layout (no metrics, no chain)."""

    def __init__(
        self,
        seed: int,
        sinks: Sequence[Sink] = (),
        latency: LatencyModel | None = None,
        record: bool = True,
        keep_results: bool = False,
        background: bool = False,
    ) -> None:
        layout = LAYOUT if record else None
        self.world = World(seed, latency=latency, layout=layout, sinks=sinks, background=background)
        self.runtime = Runtime(self.world)
        self.world.register("tasks", SOURCE, {"arrived": 0})
        self.rows: list[dict[str, Any]] = []
        self.results: dict[str, OrchestrationResult] = {}
        self.keep_results = keep_results
        self.on_done: Callable[[dict[str, Any], OrchestrationResult], None] | None = None

    def add(self, member: Any) -> None:
        self.runtime.add(member)

    def task(self, root: Any, task: dict[str, Any], data: dict[str, Any] | None = None):
        """The process of one task through `root`."""
        rt = self.runtime
        self.add(root)
        arrived = rt.now
        info = {"task": task["id"], "kind": task.get("kind", ""), "requires": list(task["requires"])}
        cause = yield rt.emit("task.arrive", "tasks", root.name, info, None)
        ctx = Context(task=task["id"], parent="tasks", cause=cause, data=dict(data or {}))
        result = yield from root.invoke(new_work(task), rt, ctx)
        meta = result.metadata
        row = {
            "task": task["id"],
            "kind": task.get("kind", ""),
            "pattern": meta.get("pattern", ""),
            "root": root.name,
            "arrived": arrived,
            "finished": rt.now,
            "makespan": rt.now - arrived,
            "success": bool(result.success),
            "end_reason": result.end_reason,
            "messages": ctx.stats.messages,
            "agent_calls": ctx.stats.calls,
            "retries": ctx.stats.retries,
            "faults": ctx.stats.faults,
        }
        done = {k: row[k] for k in ("task", "success", "end_reason", "messages", "agent_calls", "retries")}
        done["makespan"] = round(row["makespan"], 9)
        yield rt.emit("task.done", root.name, "tasks", done, meta.get("seq"))
        self.rows.append(row)
        if self.keep_results:
            self.results[task["id"]] = result
        if self.on_done is not None:
            self.on_done(row, result)
        return result

    def submit(self, root: Any, task: dict[str, Any], data: dict[str, Any] | None = None):
        """Start one task now; returns its SimPy process (its value is the result)."""
        return self.world.env.process(self.task(root, task, data))

    def stream(self, root: Any, tasks: Sequence[dict[str, Any]], rate: float) -> None:
        """Poisson arrivals at `rate` (from the stream `tasks/arrivals`), one process per task."""
        rng = self.world.rng("tasks/arrivals")
        self.add(root)

        def source():
            for task in tasks:
                yield self.world.env.timeout(rng.exponential(1.0 / rate))
                self.submit(root, task)

        self.world.env.process(source())

    def run(self, until: float | None = None) -> None:
        self.world.run(until=until)

    def invoke(
        self, root: Any, task: dict[str, Any], data: dict[str, Any] | None = None
    ) -> OrchestrationResult:
        """Run one task alone to the end and return its result (tests, demos)."""
        proc = self.submit(root, task, data)
        self.run()
        return proc.value
