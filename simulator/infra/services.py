"""Service reducers: a queue with `servers` channels, health states, and degradation that
spreads along the dependency graph.

A service's potential capacity is `capacity x resource_level x dep_factor + bonus` (requests
per time unit). Its stress is the work in the system over that capacity: the time, in time
units, it would take to clear. Thresholds move it between ok, overloaded and failed; every
change is followed by a `service_<status>` event whose reducer tells the dependents.
"""

from __future__ import annotations

from ..engine import Event, World
from .scenario import ServiceSpec

STATUS_EVENT = {"ok": "service_recovered", "overloaded": "service_overloaded", "failed": "service_failed"}
RESOURCE_FLOOR = 0.05


def service_state(spec: ServiceSpec, dependents: list[str]) -> dict:
    """The plain-data state of one service."""
    return {
        "sector": spec.sector,
        "stream": f"service/{spec.id}",  # the name of its random stream (service times)
        "capacity": spec.capacity,
        "servers": spec.servers,
        "max_queue": spec.max_queue,
        "exponential": spec.service_time == "exponential",
        "thresholds": (spec.overload_at, spec.fail_at, spec.recover_below),
        "resources": (spec.fail_resource, spec.recover_resource),
        "dep_factors": {"overloaded": spec.dep_overloaded_factor, "failed": spec.dep_failed_factor},
        "deps": {dep: "ok" for dep in spec.depends_on},
        "dependents": dependents,
        "status": "ok",
        "stress_level": 0.0,
        "resource_level": 1.0,
        "dep_factor": 1.0,
        "bonus": 0.0,
        "effective_capacity": spec.capacity,
        "load": 0,
        "busy": 0,
        "queue": 0,
        "waiting": [],
        "served": 0,
        "rejected": 0,
        "started": 0,
        "total_wait": 0.0,
        "degraded_by": "",
        "overloads": 0,
        "failures": 0,
        "cascade_failures": 0,
        "first_failure_at": None,
        "interventions": 0,
        "first_intervention_at": None,
    }


def _start(w: World, sid: str, s: dict, arrived: float) -> Event:
    """Take one request into service; its completion is scheduled by the world."""
    rate = s["effective_capacity"] / s["servers"]
    # `rng.exponential(1 / rate)`: the same draws, taken in blocks (simulator.engine.rng)
    duration = (1.0 / rate) * w.rng.exponentials(s["stream"])() if s["exponential"] else 1.0 / rate
    s["busy"] += 1
    s["started"] += 1
    s["total_wait"] += w.now - arrived
    return Event("complete", sid, sid, delay=duration)


def _reject(w: World, sid: str, s: dict, requester: str, out: list[Event]) -> None:
    """Refuse a request; a citizen is told (and panics)."""
    s["rejected"] += 1
    if w.kinds.get(requester) == "citizen":
        out.append(Event("request_rejected", sid, requester))


def _health(w: World, sid: str, s: dict, out: list[Event]) -> None:
    """Recompute capacity and stress; move between states; start waiting work."""
    potential = s["capacity"] * s["resource_level"] * s["dep_factor"] + s["bonus"]
    if potential < 0.0:  # `max(potential, 0.0)` without the call
        potential = 0.0
    overload_at, fail_at, recover_below = s["thresholds"]
    fail_resource, recover_resource = s["resources"]
    s["load"] = load = s["busy"] + s["queue"]
    stress = load / potential if potential > 0 else float(fail_at if load else 0)
    old = s["status"]
    if old == "failed":
        healthy = s["resource_level"] >= recover_resource and potential > 0
        new = "ok" if healthy and stress < recover_below else "failed"
    elif s["resource_level"] < fail_resource or stress >= fail_at or potential == 0:
        new = "failed"
    elif stress >= overload_at:
        new = "overloaded"
    elif old == "overloaded" and stress >= recover_below:
        new = "overloaded"
    else:
        new = "ok"
    s["stress_level"] = stress
    s["effective_capacity"] = 0.0 if new == "failed" else potential
    if new != old:
        s["status"] = new
        if new == "failed":
            s["failures"] += 1
            if s["first_failure_at"] is None:
                s["first_failure_at"] = w.now
            for _arrived, requester in s["waiting"]:
                _reject(w, sid, s, requester, out)
            s["waiting"].clear()
            s["queue"] = 0
            s["load"] = s["busy"]
        elif new == "overloaded" and old == "ok":
            s["overloads"] += 1
        if new != "ok" and s["dep_factor"] < 1.0 and (new == "failed" or old == "ok"):
            s["cascade_failures"] += 1
        out.append(Event(STATUS_EVENT[new], sid, sid, {"from": old}))
    while new != "failed" and s["waiting"] and s["busy"] < s["servers"]:
        arrived, _ = s["waiting"].pop(0)
        s["queue"] -= 1
        out.append(_start(w, sid, s, arrived))


def on_request(w: World, ev: Event) -> list[Event]:
    sid = ev.target
    s = w.entity(sid)
    out: list[Event] = []
    if s["status"] == "failed":
        _reject(w, sid, s, ev.source, out)
    elif s["busy"] < s["servers"]:  # a free server first: with `max_queue: 0`, a loss system
        out.append(_start(w, sid, s, w.now))
    elif s["queue"] >= s["max_queue"]:
        _reject(w, sid, s, ev.source, out)
    else:
        s["waiting"].append((w.now, ev.source))
        s["queue"] += 1
    _health(w, sid, s, out)
    return out


def on_complete(w: World, ev: Event) -> list[Event]:
    sid = ev.target
    s = w.entity(sid)
    s["busy"] -= 1
    s["served"] += 1
    out: list[Event] = []
    _health(w, sid, s, out)
    return out


def on_status_change(w: World, ev: Event) -> list[Event]:
    """`service_overloaded|failed|recovered`: tell every dependent, in declared order."""
    s = w.entity(ev.target)
    kind = "dependency_restored" if s["status"] == "ok" else "dependency_degraded"
    return [
        Event(kind, ev.target, dep, {"dependency": ev.target, "status": s["status"]})
        for dep in s["dependents"]
    ]


def on_dependency_change(w: World, ev: Event) -> list[Event]:
    sid = ev.target
    s = w.entity(sid)
    s["deps"][ev.payload["dependency"]] = ev.payload["status"]
    factor, worst = 1.0, ""
    for dep, status in s["deps"].items():
        if status != "ok":
            factor *= s["dep_factors"][status]
            worst = worst or dep
    s["dep_factor"] = factor
    s["degraded_by"] = worst
    out: list[Event] = []
    _health(w, sid, s, out)
    return out


def _restore(w: World, ev: Event, counts_as_intervention: bool) -> list[Event]:
    sid = ev.target
    s = w.entity(sid)
    s["resource_level"] = min(1.0, s["resource_level"] + ev.payload.get("amount", 0.0))
    s["bonus"] += ev.payload.get("bonus", 0.0)
    if counts_as_intervention:
        s["interventions"] += 1
        if s["first_intervention_at"] is None:
            s["first_intervention_at"] = w.now
    out: list[Event] = []
    _health(w, sid, s, out)
    return out


def on_repair(w: World, ev: Event) -> list[Event]:
    return _restore(w, ev, counts_as_intervention=False)


def on_intervention(w: World, ev: Event) -> list[Event]:
    gives = ev.payload.get("amount", 0.0) > 0 or ev.payload.get("bonus", 0.0) > 0
    return _restore(w, ev, counts_as_intervention=gives)


def on_flood_damage(w: World, ev: Event) -> list[Event]:
    sid = ev.target
    s = w.entity(sid)
    s["resource_level"] = max(RESOURCE_FLOOR, s["resource_level"] - ev.payload["damage"])
    out: list[Event] = []
    _health(w, sid, s, out)
    return out


def install(w: World) -> None:
    """Register the service reducers on a world."""
    w.on("request", on_request)
    w.on("complete", on_complete)
    for event_type in STATUS_EVENT.values():
        w.on(event_type, on_status_change)
    w.on("dependency_degraded", on_dependency_change)
    w.on("dependency_restored", on_dependency_change)
    w.on("repair", on_repair)
    w.on("budget_release", on_intervention)
    w.on("capacity_reallocation", on_intervention)
    w.on("flood_damage", on_flood_damage)
