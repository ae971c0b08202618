"""Citizens, agencies and the central policy maker: actors and the reducers of their state.

Actors only emit, wait and observe. Citizens' demand really reaches the services and rises
with panic; agencies see services late and partially; the policy maker decides on what the
agencies reported, and its interventions arrive after institutional latency.
"""

from __future__ import annotations

import math

from ..engine import ActorContext, Event, World
from .scenario import AgencySpec, CitizenSpec, PolicySpec

# -- citizens --------------------------------------------------------------------------------


def citizen_state(spec: CitizenSpec) -> dict:
    return {
        "demand": spec.demand,
        "uses": list(spec.uses),
        "panic": 0.0,
        "panic_at": 0.0,
        "panic_threshold": spec.panic_threshold,
        "panic_step": spec.panic_step,
        "panic_decay": spec.panic_decay,
        "panic_surge": spec.panic_surge,
        "panic_max": spec.panic_max,
        "rejections": 0,
    }


def panic_now(c: dict, now: float) -> float:
    """Panic decays exponentially between the events that raise it."""
    return c["panic"] * math.exp(-c["panic_decay"] * (now - c["panic_at"]))


def citizen(ctx: ActorContext):
    """Request a service in a Poisson stream whose rate rises with panic."""
    me, rng = ctx.me, ctx.rng
    uses, demand, choices = me["uses"], me["demand"], len(me["uses"])
    while True:
        rate = demand
        if me["panic"]:
            panic = panic_now(me, ctx.now)
            rate *= (1.0 + panic) * (me["panic_surge"] if panic >= me["panic_threshold"] else 1.0)
        yield ctx.wait(rng.exponential(1.0 / rate))
        ctx.emit("request", uses[int(rng.random() * choices)] if choices > 1 else uses[0])


def on_panic(w: World, ev: Event) -> None:
    """`request_rejected` or `flood_warning`: the citizen's panic rises by one step, up to its
    ceiling (panic saturates; without a ceiling rejections and demand feed each other forever)."""
    c = w.entity(ev.target)
    c["panic"] = min(panic_now(c, w.now) + c["panic_step"], c["panic_max"])
    c["panic_at"] = w.now
    if ev.type == "request_rejected":
        c["rejections"] += 1


# -- agencies --------------------------------------------------------------------------------


def agency_state(spec: AgencySpec, policy: str | None) -> dict:
    return {
        "services": list(spec.services),
        "patrol_every": spec.patrol_every,
        "coverage": spec.coverage,
        "crews": spec.crews,
        "repair_amount": spec.repair_amount,
        "policy": policy,
    }


FIELDS_SEEN = ("status", "resource_level", "stress_level")


def agency(ctx: ActorContext):
    """Patrol: observe (late, partially), send crews to the worst services, report upward."""
    me, rng = ctx.me, ctx.rng
    services = me["services"]
    while True:
        yield ctx.wait(me["patrol_every"])
        seen = yield ctx.observe(services, FIELDS_SEEN)
        visible = [sid for sid in services if me["coverage"] >= 1.0 or rng.random() < me["coverage"]]
        troubled = sorted(
            (sid for sid in visible if seen[sid]["status"] != "ok" or seen[sid]["resource_level"] < 1.0),
            key=lambda sid: (seen[sid]["resource_level"], -seen[sid]["stress_level"], sid),
        )
        for sid in troubled[: me["crews"]]:
            if me["repair_amount"] > 0:
                ctx.emit("repair", sid, {"amount": me["repair_amount"]})
        if me["policy"] and visible:
            statuses = {sid: seen[sid]["status"] for sid in visible}
            ctx.emit("report", me["policy"], {"seen_at": seen.taken_at, "statuses": statuses})


# -- the central policy maker ----------------------------------------------------------------


def policy_state(spec: PolicySpec) -> dict:
    return {
        "budget": spec.budget,
        "per_decision": spec.per_decision,
        "review_every": spec.review_every,
        "trigger": spec.trigger,
        "mode": spec.mode,
        "reallocate": spec.reallocate,
        "known": {},
        "known_at": {},
        "reports": 0,
        "decisions": [],
    }


def on_report(w: World, ev: Event) -> None:
    p = w.entity(ev.target)
    p["reports"] += 1
    for sid, status in ev.payload["statuses"].items():
        if p["known_at"].get(sid, -1.0) <= ev.payload["seen_at"]:
            p["known"][sid] = status
            p["known_at"][sid] = ev.payload["seen_at"]


def stressed_known(p: dict) -> list[str]:
    return sorted(sid for sid, status in p["known"].items() if status != "ok")


def policy(ctx: ActorContext):
    """Review what the agencies reported; decide when enough services are known in trouble."""
    me = ctx.me
    while True:
        yield ctx.wait(me["review_every"])
        targets = stressed_known(me)
        if me["budget"] > 0 and len(targets) >= me["trigger"]:
            known_at = max(me["known_at"][sid] for sid in targets)
            ctx.emit("policy_decision", ctx.id, {"targets": targets, "based_on": known_at})


def on_policy_decision(w: World, ev: Event) -> list[Event]:
    """Spend budget: releases to the troubled services, reallocation from the healthy ones.
    Each follow-up crosses the policy -> service channel, i.e. institutional latency."""
    p = w.entity(ev.target)
    targets = [sid for sid in ev.payload["targets"] if p["known"].get(sid) != "ok"]
    amount = min(p["budget"], p["per_decision"])
    if not targets or amount <= 0:
        return []
    p["budget"] -= amount
    p["decisions"].append({"at": w.now, "targets": targets, "amount": amount})
    share = amount / len(targets)
    out: list[Event] = []
    if p["mode"] in ("budget_release", "both"):
        out += [Event("budget_release", ev.target, sid, {"amount": share}) for sid in targets]
    if p["mode"] in ("capacity_reallocation", "both"):
        donors = sorted(sid for sid, status in p["known"].items() if status == "ok")
        if donors:
            moved = p["reallocate"] * amount
            out += [
                Event("capacity_reallocation", ev.target, sid, {"bonus": moved / len(targets)})
                for sid in targets
            ]
            out += [
                Event("capacity_reallocation", ev.target, sid, {"bonus": -moved / len(donors)})
                for sid in donors
            ]
    return out


def install(w: World) -> None:
    w.on("request_rejected", on_panic)
    w.on("flood_warning", on_panic)
    w.on("report", on_report)
    w.on("policy_decision", on_policy_decision)
