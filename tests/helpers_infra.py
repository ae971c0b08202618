"""Hand-built infra worlds for property tests: services, citizens and a scripted driver.

The driver applies a fixed script of events at fixed times, so every test knows its answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.engine import Event, MemorySink, RecordLayout, World
from simulator.infra import agents, services
from simulator.infra.scenario import CitizenSpec, ServiceSpec

FIELDS = (
    "status",
    "stress_level",
    "resource_level",
    "load",
    "queue",
    "busy",
    "served",
    "rejected",
    "started",
    "total_wait",
    "dep_factor",
    "degraded_by",
    "overloads",
    "failures",
    "cascade_failures",
)
LAYOUT = RecordLayout(kinds=("service",), fields=FIELDS, id_column="service_id")

Step = tuple[float, str, str, str, dict | None]
"""(time, source, event type, target, payload)"""


def service_world(
    specs: Iterable[dict], citizens: Iterable[str] = (), script: Iterable[Step] = ()
) -> tuple[World, MemorySink]:
    """A world of services (ServiceSpec fields as dicts), idle citizens and a script."""
    sink = MemorySink()
    w = World(seed=7, layout=LAYOUT, sinks=[sink])
    services.install(w)
    agents.install(w)
    specs = [ServiceSpec(**spec) for spec in specs]
    for spec in specs:
        dependents = sorted(s.id for s in specs if spec.id in s.depends_on)
        w.register(spec.id, "service", services.service_state(spec, dependents))
    for cid in citizens:
        w.register(cid, "citizen", agents.citizen_state(CitizenSpec(id=cid, demand=1.0, uses=[specs[0].id])))
    w.register("driver", "driver", {})
    steps = sorted(script, key=lambda step: step[0])

    def drive(ctx):
        for time, source, kind, target, payload in steps:
            if time > ctx.now:
                yield ctx.wait(time - ctx.now)
            ctx.world.emit(Event(kind, source, target, payload))
        yield ctx.wait(0)

    w.spawn("driver", drive)
    return w, sink


def states_of(sink: MemorySink, sid: str) -> list[tuple[int, str, dict]]:
    """(seq, event type, post-event state of `sid`) for every record."""
    out = []
    for r in sink.records:
        for eid, state in r.states:
            if eid == sid:
                out.append((r.seq, r.type, state))
    return out


def statuses(sink: MemorySink, sid: str) -> list[str]:
    """The successive distinct statuses of `sid`."""
    seen: list[str] = []
    for _, _, state in states_of(sink, sid):
        if not seen or seen[-1] != state["status"]:
            seen.append(state["status"])
    return seen
