"""The infra scenario schema: services, citizens, agencies, a policy maker and a flood."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from ..scenario import ScenarioError, Strict, load_yaml, validate

Id = str


class ChannelSpec(Strict):
    """A latency channel: source kind -> target kind for one event type (`*` = any)."""

    source: str = "*"
    target: str = "*"
    event: str = "*"
    base: NonNegativeFloat = 0.0
    dist: Literal["fixed", "exponential", "uniform", "normal", "lognormal"] = "fixed"
    scale: NonNegativeFloat = 0.0
    congestion: NonNegativeFloat = 0.0


class LatencySpec(Strict):
    default: ChannelSpec = ChannelSpec()
    channels: list[ChannelSpec] = []


class ServiceSpec(Strict):
    """A queueing service: `servers` parallel channels sharing a service rate `capacity`."""

    id: Id
    sector: str = "general"
    capacity: PositiveFloat
    servers: PositiveInt = 1
    depends_on: list[Id] = []
    max_queue: PositiveInt = 100
    service_time: Literal["exponential", "deterministic"] = "exponential"
    overload_at: PositiveFloat = 1.0
    fail_at: PositiveFloat = 3.0
    recover_below: PositiveFloat = 0.5
    fail_resource: NonNegativeFloat = 0.2
    recover_resource: NonNegativeFloat = 0.5
    dep_overloaded_factor: float = Field(0.75, ge=0, le=1)
    dep_failed_factor: float = Field(0.4, ge=0, le=1)


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
    services: list[Id] = Field(min_length=1)
    patrol_every: PositiveFloat = 1.0
    coverage: float = Field(1.0, gt=0, le=1)
    crews: PositiveInt = 1
    repair_amount: NonNegativeFloat = 0.1


class PolicySpec(Strict):
    """The central policy maker: decides on agency reports; acts after institutional latency."""

    id: Id = "central_policy"
    intervention_delay: NonNegativeFloat = 3.0
    budget: NonNegativeFloat = 1.0
    per_decision: PositiveFloat = 1.0
    review_every: PositiveFloat = 1.0
    trigger: PositiveInt = 1
    mode: Literal["budget_release", "capacity_reallocation", "both"] = "budget_release"
    reallocate: NonNegativeFloat = 0.5


class FloodSpec(Strict):
    """A flood: damages resources and raises demand on `services`, spreading over time."""

    kind: Literal["flood"] = "flood"
    id: Id = "flood"
    intensity: PositiveFloat = 1.0
    start: NonNegativeFloat = 1.0
    duration: PositiveFloat = 3.0
    services: list[Id] = Field(min_length=1)
    spread: NonNegativeFloat = 0.5
    tick: PositiveFloat = 0.25
    damage_rate: NonNegativeFloat = 0.25
    surge_rate: NonNegativeFloat = 2.0
    warn: list[Id] = []


class RecordingSpec(Strict):
    mode: Literal["all", "changed", "off"] = "all"
    snapshot_every: PositiveInt = 10_000
    trace: bool = True
    background: bool = False
    """Format and hash records in a second process (same bytes; for large worlds on 2+ cores).
    Used only when nothing in this process needs the records themselves (no trace)."""


class InfraScenario(Strict):
    name: str
    description: str = ""
    world: Literal["infra"] = "infra"
    seed: int = 0
    until: PositiveFloat | None = None
    recording: RecordingSpec = RecordingSpec()
    latency: LatencySpec = LatencySpec()
    services: list[ServiceSpec] = Field(min_length=1)
    citizens: list[CitizenSpec] = []
    citizen_model: Literal["auto", "individual", "population"] = "auto"
    """How citizens' requests are drawn (the same process either way): `individual`, one
    process per citizen; `population`, one per group; `auto`, population from 1,000 citizens."""
    agencies: list[AgencySpec] = []
    policy: PolicySpec | None = None
    stressors: list[FloodSpec] = []

    def citizen_count(self) -> int:
        return sum(c.count for c in self.citizens)


def check_references(s: InfraScenario, source: str) -> None:
    """Cross-reference checks pydantic cannot express: every named service exists, ids unique."""
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
    ids = services + [c.id for c in s.citizens] + [a.id for a in s.agencies]
    ids += [f.id for f in s.stressors] + ([s.policy.id] if s.policy else [])
    dupes = sorted(k for k, n in Counter(ids).items() if n > 1)
    if dupes:
        raise ScenarioError(f"{source}: ids must be unique, repeated: {', '.join(dupes)}")


def load_scenario(path: str, overrides: dict | None = None) -> InfraScenario:
    data = load_yaml(path)
    if "strategy" in data or "initial_capital" in data:
        raise ScenarioError(f"{path}: this is a finance config; run it with `simulator finance-run {path}`")
    if overrides:
        from ..scenario import set_dotted

        for key, value in overrides.items():
            set_dotted(data, key, value)
    scenario = validate(InfraScenario, data, str(path))
    check_references(scenario, str(path))
    return scenario


def parse_scenario(data: dict, source: str = "<scenario>") -> InfraScenario:
    scenario = validate(InfraScenario, data, source)
    check_references(scenario, source)
    return scenario
