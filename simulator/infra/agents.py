"""Citizens, agencies and the central policy maker: actors and the reducers of their state.

Actors only emit, wait and observe. Citizens' demand really reaches the services and rises
with panic; agencies see services late and partially; the policy maker decides on what the
agencies reported, and its interventions arrive after institutional latency.
"""

from __future__ import annotations

import math

from ..engine import ActorContext, Event, Woken, World
from .scenario import AgencySpec, CitizenSpec, PolicySpec

# -- citizens --------------------------------------------------------------------------------
#
# A citizen's requests are a Poisson process whose rate follows its panic at every instant:
#     rate(t) = demand x (1 + p(t)) x (panic_surge if p(t) >= panic_threshold else 1),
#     p(t) = p(t0) x exp(-panic_decay x (t - t0)) between the events that raise it,
# and a rejection or a flood warning raises p by `panic_step` (up to `panic_max`) at once.
# Between jumps the rate can only fall (or, with a surge below 1, rise back to at most
# demand x (1 + threshold)), so `bound_factor` dominates it until the next jump. Both models
# draw candidates against that bound, keep a candidate with probability rate / bound
# (thinning: exact for the decay), and redraw at every jump (a reducer wakes the actor;
# the exponential is memoryless, so redrawing is exact).
#
# - individual: one process per citizen (the reference; small scenarios);
# - population: one process per group draws the group's next request from the sum of its
#   members' rates. The sum is split in a part every member has alike, `floor x demand`,
#   picked uniformly, and each member's excess over it, kept as a bound in a sum tree
#   (O(log n) update and pick) and thinned against the member's lazily decayed panic.


def rate_factor(p: float, threshold: float, surge: float) -> float:
    """rate / demand at panic `p`."""
    return (1.0 + p) * (surge if p >= threshold else 1.0)


def bound_factor(p: float, threshold: float, surge: float) -> float:
    """The most rate / demand can be while panic decays from `p` towards 0 (no jump)."""
    if p < threshold:
        return 1.0 + p
    return max((1.0 + p) * surge, 1.0 + threshold)


def floor_factor(threshold: float, surge: float) -> float:
    """The least rate / demand can be, at any panic."""
    return min(1.0, (1.0 + threshold) * surge)


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


def panic_now(c: dict, now: float, decay: float | None = None) -> float:
    """Panic decays exponentially between the events that raise it."""
    if not c["panic"]:
        return 0.0
    rate = c["panic_decay"] if decay is None else decay
    return c["panic"] * math.exp(-rate * (now - c["panic_at"]))


def citizen(ctx: ActorContext):
    """Individual model: this citizen's own exact Poisson stream (see the module notes)."""
    me, rng = ctx.me, ctx.rng
    uses, demand, choices = me["uses"], me["demand"], len(me["uses"])
    threshold, surge = me["panic_threshold"], me["panic_surge"]
    while True:
        calm = not me["panic"]
        bound = demand if calm else demand * bound_factor(panic_now(me, ctx.now), threshold, surge)
        try:
            yield ctx.sleep((1.0 / bound) * rng.standard_exponential())  # rng.exponential(1 / bound)
        except Woken:  # panic jumped: redraw at the new rate
            continue
        if not calm:
            rate = demand * rate_factor(panic_now(me, ctx.now), threshold, surge)
            if rng.random() * bound >= rate:
                continue
        ctx.emit("request", uses[int(rng.random() * choices)] if choices > 1 else uses[0])


# -- the population model: one process per group ---------------------------------------------


def member_state(group: str, index: int) -> dict:
    """A member of a population group: its panic, lazily decayed (the group holds the rest)."""
    return {"group": group, "index": index, "panic": 0.0, "panic_at": 0.0, "rejections": 0}


def group_state(spec: CitizenSpec, members: list[str]) -> dict:
    size = 1
    while size < len(members):
        size *= 2
    return {
        **citizen_state(spec),
        "members": members,
        "floor": floor_factor(spec.panic_threshold, spec.panic_surge),
        "size": size,
        # a sum tree: leaf `size + i` bounds member i's rate above the floor; node j = 2j + 2j+1
        "excess": [0.0] * (2 * size),
    }


def tree_set(tree: list[float], size: int, i: int, value: float) -> None:
    j = size + i
    tree[j] = value
    j >>= 1
    while j:
        tree[j] = tree[2 * j] + tree[2 * j + 1]
        j >>= 1


def tree_pick(tree: list[float], size: int, u: float) -> int:
    """The leaf whose cumulative range holds `u` (0 <= u < tree[1])."""
    j = 1
    while j < size:
        j *= 2
        left = tree[j]
        if u >= left:
            u -= left
            j += 1
    return j - size


def citizen_group(ctx: ActorContext):
    """Population model: the group's requests, from the sum of its members' current rates."""
    me, world = ctx.me, ctx.world
    members, entities, emit = me["members"], world.entities, world.emit
    n, uses, demand = len(members), me["uses"], me["demand"]
    choices = len(uses)
    threshold, surge, decay = me["panic_threshold"], me["panic_surge"], me["panic_decay"]
    tree, size, floor = me["excess"], me["size"], me["floor"]
    base = n * demand * floor
    pairs = n * choices
    # Two streams, each drawn in blocks (`simulator.engine.rng`): the waits, as
    # `(1 / total) * standard_exponential()` (numpy's `exponential(1 / total)`), and the
    # uniforms that pick a member and a service and thin
    sleep = ctx.sleep
    standard_exponential = world.rng.exponentials(f"actor/{ctx.id}")
    random = world.rng.uniforms(f"actor/{ctx.id}/picks")
    while True:
        total = base + tree[1]
        try:
            yield sleep((1.0 / total) * standard_exponential())
        except Woken:  # a member's panic jumped: redraw at the new sum
            continue
        u = random() * total
        if u < base:  # the part every member has alike: a uniform member and service
            k = int(u / base * pairs)
            if k >= pairs:  # `min(k, pairs - 1)`: u / base rounds up to 1 at most
                k = pairs - 1
            member, service = divmod(k, choices)
        else:
            member = tree_pick(tree, size, u - base)
            bound = tree[size + member]
            p = panic_now(entities[members[member]], ctx.now, decay)
            # tighten the member's bound to what it can still reach, then thin. The one write
            # an actor makes: the tree is the sampler's bookkeeping (bounds, never recorded);
            # the model's state, each member's panic, is changed by reducers only.
            tree_set(tree, size, member, demand * (bound_factor(p, threshold, surge) - floor))
            if random() * bound >= demand * (rate_factor(p, threshold, surge) - floor):
                continue
            service = int(random() * choices)
        emit(Event("request", members[member], uses[service]))


def on_panic(w: World, ev: Event) -> None:
    """`request_rejected` or `flood_warning`: the citizen's panic rises by one step, up to its
    ceiling (panic saturates; without a ceiling rejections and demand feed each other forever),
    and its rate jumps: the process drawing its requests is woken to redraw."""
    c = w.entity(ev.target)
    group = c.get("group")
    spec = c if group is None else w.entities[group]
    p = min(panic_now(c, w.now, spec["panic_decay"]) + spec["panic_step"], spec["panic_max"])
    c["panic"] = p
    c["panic_at"] = w.now
    if ev.type == "request_rejected":
        c["rejections"] += 1
    if group is None:
        w.wake(ev.target)
    else:
        threshold, surge = spec["panic_threshold"], spec["panic_surge"]
        excess = spec["demand"] * (bound_factor(p, threshold, surge) - spec["floor"])
        tree_set(spec["excess"], spec["size"], c["index"], excess)
        w.wake(group)


def citizen_panics(w: World) -> list[float]:
    """Every citizen's panic now, in either model."""
    out = []
    for eid, kind in w.kinds.items():
        if kind == "citizen":
            c = w.entities[eid]
            group = c.get("group")
            out.append(panic_now(c, w.now, None if group is None else w.entities[group]["panic_decay"]))
    return out


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
    me = ctx.me
    random = ctx.world.rng.uniforms(f"actor/{ctx.id}")  # ctx.rng's `random()` draws, in blocks
    services = me["services"]
    while True:
        yield ctx.wait(me["patrol_every"])
        seen = yield ctx.observe(services, FIELDS_SEEN)
        visible = [sid for sid in services if me["coverage"] >= 1.0 or random() < me["coverage"]]
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
