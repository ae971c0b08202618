"""Assemble an infra World from a validated scenario."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from ..engine import Channel, LatencyModel, RecordLayout, Sink, World
from . import agents, flood, services
from .scenario import InfraScenario

SERVICE_FIELDS = (
    "stress_level",
    "resource_level",
    "status",
    "load",
    "queue",
    "busy",
    "effective_capacity",
    "dep_factor",
    "served",
    "rejected",
    "degraded_by",
)


def dependency_graph(s: InfraScenario) -> nx.DiGraph:
    """Edge u -> v when v depends on u (degradation flows along the edges)."""
    g = nx.DiGraph()
    for svc in s.services:
        g.add_node(svc.id, sector=svc.sector, capacity=svc.capacity)
    for svc in s.services:
        for dep in svc.depends_on:
            g.add_edge(dep, svc.id)
    return g


def layout_for(s: InfraScenario) -> RecordLayout | None:
    if s.recording.mode == "off":
        return None
    return RecordLayout(
        kinds=("service",),
        fields=SERVICE_FIELDS,
        id_column="service_id",
        mode=s.recording.mode,
        snapshot_every=s.recording.snapshot_every,
    )


def latency_for(s: InfraScenario) -> LatencyModel:
    def channel(c) -> Channel:
        return Channel(base=c.base, dist=c.dist, scale=c.scale, congestion=c.congestion)

    model = LatencyModel(default=channel(s.latency.default))
    if s.policy:
        institutional = Channel(base=s.policy.intervention_delay)
        model.set("policy", "service", "budget_release", institutional)
        model.set("policy", "service", "capacity_reallocation", institutional)
    for c in s.latency.channels:
        model.set(c.source, c.target, c.event, channel(c))
    return model


POPULATION_FROM = 1_000
"""`citizen_model: auto` runs the population model from this many citizens on, else individual."""


def citizen_model(s: InfraScenario) -> str:
    """The citizen model a scenario runs: its `citizen_model`, or by size when `auto`."""
    if s.citizen_model != "auto":
        return s.citizen_model
    return "population" if s.citizen_count() >= POPULATION_FROM else "individual"


def group_id(group: str) -> str:
    """The entity (and actor) that draws a population group's requests."""
    return f"group:{group}"


def citizen_ids(s: InfraScenario) -> dict[str, list[str]]:
    return {c.id: [c.id] if c.count == 1 else [f"{c.id}_{i}" for i in range(c.count)] for c in s.citizens}


def build_world(s: InfraScenario, sinks: Sequence[Sink] = ()) -> World:
    w = World(
        seed=s.seed,
        latency=latency_for(s),
        layout=layout_for(s),
        sinks=sinks,
        background=s.recording.background,
        block_draws=True,  # an infra run never checkpoints its random streams
    )
    services.install(w)
    agents.install(w)
    flood.install(w)
    graph = dependency_graph(s)
    for svc in s.services:
        w.register(svc.id, "service", services.service_state(svc, sorted(graph.successors(svc.id))))
    groups = citizen_ids(s)
    population = citizen_model(s) == "population"
    for spec in s.citizens:
        if population:
            gid = group_id(spec.id)
            w.register(gid, "citizen_group", agents.group_state(spec, groups[spec.id]))
            for i, cid in enumerate(groups[spec.id]):
                w.register(cid, "citizen", agents.member_state(gid, i))
        else:
            for cid in groups[spec.id]:
                w.register(cid, "citizen", agents.citizen_state(spec))
    policy_id = s.policy.id if s.policy else None
    if s.policy:
        w.register(s.policy.id, "policy", agents.policy_state(s.policy))
    for spec in s.agencies:
        w.register(spec.id, "agency", agents.agency_state(spec, policy_id))
    for spec in s.stressors:
        warned = [cid for group in spec.warn for cid in groups[group]]
        w.register(spec.id, "stressor", flood.flood_state(spec, warned))
    # Actors start in a fixed order: stressors, policy, agencies, citizens.
    for spec in s.stressors:
        w.spawn(spec.id, flood.flood)
    if s.policy:
        w.spawn(s.policy.id, agents.policy)
    for spec in s.agencies:
        w.spawn(spec.id, agents.agency)
    for spec in s.citizens:
        if population:
            w.spawn(group_id(spec.id), agents.citizen_group)
        else:
            for cid in groups[spec.id]:
                w.spawn(cid, agents.citizen)
    return w
