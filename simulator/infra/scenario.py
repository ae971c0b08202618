"""The infra scenario schema: services, citizens, agencies, a policy maker and a flood."""

from __future__ import annotations

import math
from collections import Counter
from typing import Annotated, Literal

import networkx as nx
from pydantic import AfterValidator, Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from ..scenario import ScenarioError, Strict, load_yaml, validate


def _id(value: str) -> str:
    if not value or any(c in value for c in ',"\n\r'):
        raise ValueError("an id must be non-empty, without commas, quotes or line breaks")
    return value


Id = Annotated[str, AfterValidator(_id)]
MAX_EVENTS = 10_000_000
"""Default event budget: about 3 minutes at the kernel's ~55,000 events/s (flood_city: 152,194)."""


class ChannelSpec(Strict):
    """A latency channel: source kind -> target kind for one event type (`*` = any)."""

    source: str = "*"
    """Sending entity kind (service, citizen, agency, policy, stressor) or `*`."""
    target: str = "*"
    """Receiving entity kind, or `*`."""
    event: str = "*"
    """Event type (request, complete, repair, budget_release, ...), or `*`."""
    base: NonNegativeFloat = 0.0
    """Fixed part of the delay, in time units."""
    dist: Literal["fixed", "exponential", "uniform", "normal", "lognormal"] = "fixed"
    """Distribution of the random part, scaled by `scale`."""
    scale: NonNegativeFloat = 0.0
    """Scale of the random part (mean for exponential, width for uniform, sd for normal)."""
    congestion: NonNegativeFloat = 0.0
    """Extra delay per message already in flight on this channel."""


class LatencySpec(Strict):
    default: ChannelSpec = ChannelSpec()
    """The channel used where no rule in `channels` matches."""
    channels: list[ChannelSpec] = []
    """Rules by (source, target, event); the most specific match wins."""


class ServiceSpec(Strict):
    """A queueing service: `servers` parallel channels sharing a service rate `capacity`.
    `max_queue: 0` is a loss system (no waiting room: beds, ambulances)."""

    id: Id
    """Unique name; other keys refer to the service by it."""
    sector: str = "general"
    """Free label (transport, health, power, ...), shown in reports."""
    capacity: PositiveFloat
    """Requests served per time unit with all resources and dependencies healthy."""
    servers: PositiveInt = 1
    """Parallel channels sharing `capacity` (each serves at capacity / servers)."""
    depends_on: list[Id] = []
    """Services whose degradation cuts this one's capacity (no cycles)."""
    max_queue: NonNegativeInt = 100
    """Waiting room; a request finding it full (and no free server) is refused. 0: a loss system."""
    service_time: Literal["exponential", "deterministic"] = "exponential"
    """Distribution of one request's service time, mean servers / capacity."""
    overload_at: PositiveFloat = 1.0
    """Stress (work in system / capacity, in time units) at which it is overloaded."""
    fail_at: PositiveFloat = 3.0
    """Stress at which it fails (the waiting requests are refused)."""
    recover_below: PositiveFloat = 0.5
    """Stress below which an overloaded or failed service is ok again."""
    fail_resource: NonNegativeFloat = 0.2
    """Resource level (0..1) below which it fails."""
    recover_resource: NonNegativeFloat = 0.5
    """Resource level a failed service needs before it can recover."""
    dep_overloaded_factor: float = Field(0.75, ge=0, le=1)
    """Capacity multiplier for each overloaded dependency."""
    dep_failed_factor: float = Field(0.4, ge=0, le=1)
    """Capacity multiplier for each failed dependency."""


class CitizenSpec(Strict):
    """One citizen, or `count` alike ones named `<id>_<n>`."""

    id: Id
    count: PositiveInt = 1
    demand: PositiveFloat
    panic_threshold: PositiveFloat = 1.5
    panic_step: NonNegativeFloat = 0.5
    panic_decay: NonNegativeFloat = 0.2
    panic_surge: PositiveFloat = 2.0
    panic_max: PositiveFloat = 3.0
    uses: list[Id] = Field(min_length=1)


class AgencySpec(Strict):
    """Watches some services through delayed, partial observations and sends repair crews."""

    id: Id
    """Unique name."""
    services: list[Id] = Field(min_length=1)
    """Services it watches and repairs."""
    patrol_every: PositiveFloat = 1.0
    """Time units between patrols (observations arrive after the observe latency)."""
    coverage: float = Field(1.0, gt=0, le=1)
    """Share of its services seen on each patrol."""
    crews: PositiveInt = 1
    """Services repaired per patrol, the worst first."""
    repair_amount: NonNegativeFloat = 0.1
    """Resource level one repair restores."""


class PolicySpec(Strict):
    """The central policy maker: decides on agency reports; acts after institutional latency."""

    id: Id = "central_policy"
    """Unique name."""
    intervention_delay: NonNegativeFloat = 3.0
    """Institutional latency: time from a decision to its effect on a service."""
    budget: NonNegativeFloat = 1.0
    """Total that can be released over the run."""
    per_decision: PositiveFloat = 1.0
    """Budget spent by one decision."""
    review_every: PositiveFloat = 1.0
    """Time units between reviews of the agencies' reports."""
    trigger: PositiveInt = 1
    """Reported degraded services needed before it acts."""
    mode: Literal["budget_release", "capacity_reallocation", "both"] = "budget_release"
    """What a decision does: restore resources, move capacity, or both."""
    reallocate: NonNegativeFloat = 0.5
    """Share of a decision's amount moved as capacity from healthy to troubled services."""


class FloodSpec(Strict):
    """A flood: damages resources and raises demand on `services`, spreading over time."""

    kind: Literal["flood"] = "flood"
    """The stressor type."""
    id: Id = "flood"
    """Unique name."""
    intensity: PositiveFloat = 1.0
    """Multiplies damage and demand surge."""
    start: NonNegativeFloat = 1.0
    """Time the flood reaches its first service."""
    duration: PositiveFloat = 3.0
    """How long the flood lasts from `start`."""
    services: list[Id] = Field(min_length=1)
    """Services hit, in the order the water reaches them."""
    spread: NonNegativeFloat = 0.5
    """Time between reaching one service and the next."""
    tick: PositiveFloat = 0.25
    """Time between damage steps."""
    damage_rate: NonNegativeFloat = 0.25
    """Resource level lost per time unit (x intensity)."""
    surge_rate: NonNegativeFloat = 2.0
    """Extra requests per time unit on a hit service (x intensity)."""
    warn: list[Id] = []
    """Citizen groups warned at the onset (their panic rises)."""


class RecordingSpec(Strict):
    mode: Literal["all", "changed", "off"] = "all"
    """all: every service after each event; changed: the services that changed, plus
    snapshots; off: no metrics.csv."""
    snapshot_every: PositiveInt = 10_000
    """In `changed` mode, a full snapshot every this many records."""
    trace: bool = True
    """Print every applied event (`--trace`/`--no-trace` override it)."""
    background: bool = False
    """Format and hash records in a second process (same bytes; for large worlds on 2+ cores).
    Used only when nothing in this process needs the records themselves (no trace)."""


class InfraScenario(Strict):
    name: str
    """Shown in traces, summaries and reports."""
    description: str = ""
    """Free text."""
    world: Literal["infra"] = "infra"
    """The world this scenario runs in."""
    seed: NonNegativeInt = 0
    """Master seed: every random stream derives from it by name."""
    until: PositiveFloat
    """End time of the run (required: citizens and patrols never stop by themselves)."""
    max_events: PositiveInt = MAX_EVENTS
    """A run that would apply more events than this is refused up front when its expected
    work already exceeds it, and otherwise stopped with an error and nothing written."""
    recording: RecordingSpec = RecordingSpec()
    """What is written to metrics.csv and printed."""
    latency: LatencySpec = LatencySpec()
    """Delays between entity kinds, per event type."""
    services: list[ServiceSpec] = Field(min_length=1)
    """The public services."""
    citizens: list[CitizenSpec] = []
    """Citizen groups sending requests."""
    agencies: list[AgencySpec] = []
    """Agencies that patrol, repair and report."""
    policy: PolicySpec | None = None
    """The central policy maker (none: nobody decides)."""
    stressors: list[FloodSpec] = []
    """Floods."""

    def citizen_count(self) -> int:
        return sum(c.count for c in self.citizens)


def check_references(s: InfraScenario, source: str) -> None:
    """Cross-reference checks pydantic cannot express: every named service exists, ids unique."""
    check_unique_ids(s, source)
    services = [svc.id for svc in s.services]
    allowed = ", ".join(services) if len(services) <= 12 else ", ".join(services[:12]) + ", ..."
    known = set(services)

    def need(path: str, ref: str) -> None:
        if ref not in known:
            raise ScenarioError(f"{source}: {path}: unknown service {ref!r} (allowed: {allowed})")

    for i, svc in enumerate(s.services):
        for j, dep in enumerate(svc.depends_on):
            need(f"services[{i}].depends_on[{j}]", dep)
            if dep == svc.id:
                raise ScenarioError(
                    f"{source}: services[{i}].depends_on[{j}]: a service cannot depend on itself"
                )
    for i, cit in enumerate(s.citizens):
        for j, ref in enumerate(cit.uses):
            need(f"citizens[{i}].uses[{j}]", ref)
    for i, ag in enumerate(s.agencies):
        for j, ref in enumerate(ag.services):
            need(f"agencies[{i}].services[{j}]", ref)
    groups = {c.id for c in s.citizens}
    for i, fl in enumerate(s.stressors):
        for j, ref in enumerate(fl.services):
            need(f"stressors[{i}].services[{j}]", ref)
        for j, ref in enumerate(fl.warn):
            if ref not in groups:
                raise ScenarioError(
                    f"{source}: stressors[{i}].warn[{j}]: unknown citizen group {ref!r} "
                    f"(allowed: {', '.join(sorted(groups)) or 'none defined'})"
                )
    check_cycles(s, source)
    check_thresholds(s, source)
    check_budget(s, source)


def check_unique_ids(s: InfraScenario, source: str) -> None:
    """Ids are unique across every entity, including the `<group>_<n>` names of citizens."""
    ids = [svc.id for svc in s.services] + [c.id for c in s.citizens] + [a.id for a in s.agencies]
    ids += [f.id for f in s.stressors] + ([s.policy.id] if s.policy else [])
    dupes = sorted(k for k, n in Counter(ids).items() if n > 1)
    if dupes:
        raise ScenarioError(
            f"{source}: ids must be unique across services, citizens, agencies, stressors and "
            f"the policy maker; repeated: {', '.join(dupes)}"
        )
    taken = set(ids)
    for i, group in enumerate(s.citizens):
        if group.count > 1:
            clash = next((f"{group.id}_{n}" for n in range(group.count) if f"{group.id}_{n}" in taken), None)
            if clash:
                raise ScenarioError(
                    f"{source}: citizens[{i}]: its {group.count} citizens are named {group.id}_0.."
                    f"{group.id}_{group.count - 1}, and {clash!r} is already an id (allowed: unique ids)"
                )
            taken.update(f"{group.id}_{n}" for n in range(group.count))


def check_cycles(s: InfraScenario, source: str) -> None:
    """Failures spread along `depends_on`; a cycle has no first cause."""
    graph = nx.DiGraph((dep, svc.id) for svc in s.services for dep in svc.depends_on)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    names = [v for _, v in cycle][::-1]  # edge (u, v): v depends on u
    chain = " depends on ".join([*names, names[0]])
    index = next(i for i, svc in enumerate(s.services) if svc.id == names[0])
    raise ScenarioError(
        f"{source}: services[{index}].depends_on: dependency cycle: {chain} "
        "(allowed: dependencies without cycles; a failure needs a first cause)"
    )


def check_thresholds(s: InfraScenario, source: str) -> None:
    """Health thresholds in an order the state machine can follow; flood ticks within the flood."""
    for i, svc in enumerate(s.services):
        pairs = (
            ("recover_below", svc.recover_below, "overload_at", svc.overload_at),
            ("overload_at", svc.overload_at, "fail_at", svc.fail_at),
            ("fail_resource", svc.fail_resource, "recover_resource", svc.recover_resource),
        )
        for low_name, low, high_name, high in pairs:
            if low > high:
                raise ScenarioError(
                    f"{source}: services[{i}].{low_name}: {low:g} is above {high_name} {high:g} "
                    f"(allowed: {low_name} <= {high_name})"
                )
    for i, flood in enumerate(s.stressors):
        if flood.tick > flood.duration:
            raise ScenarioError(
                f"{source}: stressors[{i}].tick: {flood.tick:g} is longer than the flood's duration "
                f"{flood.duration:g} (allowed: tick <= duration)"
            )


def expected_work(s: InfraScenario) -> float:
    """Actor steps a run takes at least: citizens' requests at their base demand (panic only
    adds), agency patrols, policy reviews, flood ticks and the flood's surge requests (the
    expected count), each over `until`."""
    work = sum(c.count * c.demand for c in s.citizens) * s.until
    work += sum(s.until / a.patrol_every for a in s.agencies)
    work += s.until / s.policy.review_every if s.policy else 0.0
    for f in s.stressors:
        ticks = math.ceil(min(f.duration, s.until) / f.tick)
        work += ticks * len(f.services) * (1 + f.intensity * f.surge_rate * f.tick)
    return work


def check_budget(s: InfraScenario, source: str) -> None:
    """Refuse up front a run that cannot finish within `max_events` (a run that gets there
    anyway, e.g. when panic multiplies demand, is stopped by the kernel with an error)."""
    work = expected_work(s)
    if work > s.max_events:
        raise ScenarioError(
            f"{source}: until: {s.until:g} time units need at least {work:,.3g} events (citizen "
            f"requests at base demand, patrols, reviews, flood ticks and surges), more than max_events "
            f"{s.max_events:,} (allowed: a shorter until, lower demand, or a larger max_events)"
        )


def load_scenario(path: str, overrides: dict | None = None) -> InfraScenario:
    data = load_yaml(path)
    if "strategy" in data or "initial_capital" in data:
        raise ScenarioError(f"{path}: this is a finance config; run it with `simulator finance-run {path}`")
    if overrides:
        from ..scenario import set_dotted

        for key, value in overrides.items():
            try:
                set_dotted(data, key, value)
            except ScenarioError as exc:
                raise ScenarioError(f"--set {exc}") from None
    scenario = validate(InfraScenario, data, str(path))
    check_references(scenario, str(path))
    return scenario


def parse_scenario(data: dict, source: str = "<scenario>") -> InfraScenario:
    scenario = validate(InfraScenario, data, source)
    check_references(scenario, source)
    return scenario
