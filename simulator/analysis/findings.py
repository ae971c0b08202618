"""The findings of a post-mortem, computed once from a recorded run.

`compute_findings(run)` returns one typed `Findings`; `failure_analysis.json` is its
`to_json()`, and the Markdown and the plots are renderings of it (see `markdown.py`,
`plots.py`). Nothing here writes a file.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from .cascade import CascadeLink, cascade, roots
from .episodes import Episode, episodes, service_effects
from .policy_timeline import Decision, Detection, decisions, detections
from .run_data import RunData

MAX_PLOTTED = 8


@dataclass
class ServiceEffect:
    service: str
    peak_stress: float
    min_resource: float
    episodes: int
    time_not_ok: float
    first_failure: float | None
    served: int
    rejected: int
    final_status: str


@dataclass
class TimelineEntry:
    time: float
    seq: int | None
    kind: str  # flood | degraded | recovered | decision | intervention
    service: str | None
    text: str
    failed_episode: bool = False  # a degradation or recovery belonging to an episode that failed


@dataclass
class RootCause:
    """Degradations grouped by their root event, with citizens grouped by their spec."""

    root: str
    overloaded: int
    failed: int
    services: list[str]


@dataclass
class DependencyDamage:
    """What degradations of `upstream` did to `downstream` (one hop, along one edge)."""

    upstream: str
    downstream: str
    episodes: int  # distinct downstream episodes it caused or contributed to
    failed_episodes: int
    rejected: int  # requests the downstream rejected during those episodes
    time_not_ok: float


@dataclass
class ServiceDamage:
    """A service's own damage and the damage downstream of it, directly and transitively."""

    service: str
    own_rejected: int
    own_time_not_ok: float
    direct_episodes: int
    downstream_episodes: int  # transitive: episodes reached through the cascade
    downstream_failed: int
    downstream_rejected: int
    downstream_time_not_ok: float


@dataclass
class GatFindings:
    target_word: str  # "failed" or "overloaded": which services the edges lead into
    candidates: int
    feature_names: list[str]
    top_edges: list[dict]  # source, target, attention, in_cascade
    paths: list[dict]  # nodes, score; highest score first
    agreement: list[dict]
    verdict: str


@dataclass
class Findings:
    scenario: str
    description: str
    folder: str
    seed: int
    chain_head: str
    events: int
    end_time: float
    recording_mode: str
    config: dict
    outcomes: dict
    flood: tuple[float, float] | None
    services: list[ServiceEffect]
    episodes: list[Episode]
    cascade: list[CascadeLink]
    root_causes: list[RootCause]
    detections: list[Detection]
    undetected: list[Episode]
    decisions: list[Decision]
    timeline: list[TimelineEntry]
    dependency_damage: list[DependencyDamage]
    service_damage: list[ServiceDamage]
    failure_cleared_at: float | None = None  # when the last failed service left `failed`
    gat: GatFindings | None = None
    what_if: list[dict] = field(default_factory=list)  # filled by whatif.compare
    attention: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    # -- derived ---------------------------------------------------------------------------
    @property
    def unmet_demand(self) -> int:
        return int(self.outcomes["unmet_demand"])

    def worst_status(self) -> dict[str, str]:
        """service -> the worst status it ever reached ("failed" or "overloaded")."""
        worst: dict[str, str] = {}
        for e in self.episodes:
            if e.worst == "failed" or worst.get(e.service) != "failed":
                worst[e.service] = e.worst
        return worst

    def final_status(self) -> dict[str, str]:
        return {s.service: s.final_status for s in self.services}

    def affected(self) -> list[str]:
        """Services that left ok, in order of their first degradation."""
        return list(dict.fromkeys(e.service for e in self.episodes))

    def to_json(self) -> dict:
        """What failure_analysis.json holds: numbers as numbers, NaN/inf as null."""
        data = {
            "scenario": self.scenario,
            "seed": self.seed,
            "chain_head": self.chain_head,
            "events": self.events,
            "end_time": self.end_time,
            "recording_mode": self.recording_mode,
            "unmet_demand": self.unmet_demand,
            "unmet_share": self.outcomes["unmet_share"],
            "recovered": self.outcomes["recovered"],
            "final_failed": self.outcomes["final_failed"],
            "first_failure_at": self.outcomes.get("first_failure_at"),
            "last_failure_cleared_at": self.failure_cleared_at,
            "flood": list(self.flood) if self.flood else None,
            "services": [asdict(s) for s in self.services],
            "episodes": [asdict(e) | {"duration": e.duration} for e in self.episodes],
            "cascade": [asdict(link) | {"delay": link.delay} for link in self.cascade],
            "root_causes": [asdict(r) for r in self.root_causes],
            "detections": [asdict(d) | {"detection_delay": d.delay} for d in self.detections],
            "undetected_episodes": [asdict(e) for e in self.undetected],
            "decisions": [
                asdict(d) | {"staleness": d.staleness, "first_effect": d.first_effect} for d in self.decisions
            ],
            "timeline": [asdict(t) for t in self.timeline],
            "dependency_damage": [asdict(d) for d in self.dependency_damage],
            "service_damage": [asdict(d) for d in self.service_damage],
            "gat": asdict(self.gat) if self.gat else None,
            "what_if": self.what_if,
        }
        return _clean(data)


def _clean(value: Any) -> Any:
    """JSON-safe plain data: numpy scalars to Python, NaN and inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- the pieces ----------------------------------------------------------------------------
def dependency_graph(run: RunData) -> nx.DiGraph:
    """Edge u -> v when v depends on u, with the interaction flows seen along it."""
    g = nx.DiGraph()
    for svc in run.config["services"]:
        g.add_node(svc["id"], sector=svc.get("sector", "general"))
    for svc in run.config["services"]:
        for dep in svc.get("depends_on", []):
            g.add_edge(dep, svc["id"], flows=0)
    events = run.events
    flows = events[events["event_type"].isin(["dependency_degraded", "dependency_restored"])]
    for (u, v), n in flows.groupby(["source", "target"], observed=True).size().items():
        if g.has_edge(u, v):
            g.edges[u, v]["flows"] = int(n)
    requests = events[events["event_type"] == "request"].groupby("target", observed=True).size()
    for node in g.nodes:
        g.nodes[node]["requests"] = int(requests.get(node, 0))
    return g


def flood_window(config: dict) -> tuple[float, float] | None:
    """(first start, last end) over the run's stressors."""
    stressors = config.get("stressors", [])
    if not stressors:
        return None
    return (
        min(float(s["start"]) for s in stressors),
        max(float(s["start"]) + float(s["duration"]) for s in stressors),
    )


def citizen_group(config: dict) -> dict[str, str]:
    """Citizen id prefix -> group id (a group of `count` citizens is `<id>_<i>`)."""
    return {c["id"]: c["id"] for c in config.get("citizens", [])}


def group_of(source: str, groups: dict[str, str]) -> str:
    if source in groups:
        return source
    head, _, tail = source.rpartition("_")
    return f"{head} (citizens)" if head in groups and tail.isdigit() else source


def root_causes(run: RunData) -> list[RootCause]:
    """Degradations by root event; citizens of one group counted together."""
    causes = roots(run)
    groups = citizen_group(run.config)
    counts: dict[str, Counter] = defaultdict(Counter)
    services: dict[str, set[str]] = defaultdict(set)
    for root, became, service in causes[["root", "became", "service"]].itertuples(index=False):
        kind, _, source = root.partition(" from ")
        name = f"{kind} from {group_of(source, groups)}" if source else root
        counts[name][became] += 1
        services[name].add(service)
    out = [
        RootCause(name, c["overloaded"], c["failed"], sorted(services[name])) for name, c in counts.items()
    ]
    return sorted(out, key=lambda r: (-(r.overloaded + r.failed), r.root))


def _episode_of(eps_by_service: dict[str, list[Episode]], service: str, time: float) -> Episode | None:
    """The episode of `service` running at `time` (the latest that started by then)."""
    found = None
    for e in eps_by_service.get(service, []):
        if e.start <= time and (e.end is None or time <= e.end):
            found = e
    return found


def rejected_during(states: pd.DataFrame, eps: list[Episode], end: float) -> dict[tuple[str, int], int]:
    """(service, episode start_seq) -> requests the service rejected during the episode,
    from its cumulative `rejected` counter."""
    out = {}
    positions = states.groupby("service_id", sort=False, observed=True).indices  # in record order
    time, rejected = states["time"].to_numpy(), states["rejected"].to_numpy()
    for e in eps:
        times, counter = time[positions[e.service]], rejected[positions[e.service]]
        before = np.searchsorted(times, e.start, side="left") - 1
        after = np.searchsorted(times, e.end if e.end is not None else end, side="right") - 1
        start_value = counter[before] if before >= 0 else 0.0
        out[(e.service, e.start_seq)] = int(counter[after] - start_value)
    return out


def damage(
    run: RunData, eps: list[Episode], links: list[CascadeLink], effects: list[ServiceEffect]
) -> tuple[list[DependencyDamage], list[ServiceDamage]]:
    """Rank dependencies and services by the downstream damage their degradations caused.

    Each cascade link ties an upstream episode (the one running when the upstream's status
    event happened) to the downstream episode it tipped or aggravated. Damage of an episode:
    its time not ok and the requests its service rejected meanwhile. A service's downstream
    damage follows links transitively; an episode with several upstream causes counts for each.
    """
    end = float(run.summary["outcomes"]["end_time"])
    by_service: dict[str, list[Episode]] = defaultdict(list)
    for e in eps:
        by_service[e.service].append(e)
    rejected = rejected_during(run.states(), eps, end)

    def key(e: Episode) -> tuple[str, int]:
        return (e.service, e.start_seq)

    def cost(k: tuple[str, int]) -> tuple[int, float, bool]:
        e = index[k]
        return rejected[k], (e.end if e.end is not None else end) - e.start, e.worst == "failed"

    index = {key(e): e for e in eps}
    children: dict[tuple[str, int], set[tuple[str, int]]] = defaultdict(set)
    per_edge: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
    for link in links:
        up = _episode_of(by_service, link.upstream, link.upstream_time)
        down = _episode_of(by_service, link.downstream, link.downstream_time)
        if up is None or down is None:
            continue
        children[key(up)].add(key(down))
        per_edge[(link.upstream, link.downstream)].add(key(down))

    edges = []
    for (u, v), downs in per_edge.items():
        costs = [cost(k) for k in sorted(downs)]
        edges.append(
            DependencyDamage(
                u, v, len(downs), sum(c[2] for c in costs), sum(c[0] for c in costs), sum(c[1] for c in costs)
            )
        )
    edges.sort(key=lambda d: (-d.rejected, -d.failed_episodes, -d.time_not_ok, d.upstream, d.downstream))

    services = []
    for effect in effects:
        mine = [key(e) for e in by_service.get(effect.service, [])]
        direct = set().union(*(children[k] for k in mine)) if mine else set()
        reached: set[tuple[str, int]] = set()
        todo = list(direct)
        while todo:
            k = todo.pop()
            if k not in reached and k[0] != effect.service:
                reached.add(k)
                todo.extend(children[k])
        costs = [cost(k) for k in sorted(reached)]
        services.append(
            ServiceDamage(
                effect.service,
                effect.rejected,
                effect.time_not_ok,
                len(direct),
                len(reached),
                sum(c[2] for c in costs),
                sum(c[0] for c in costs),
                sum(c[1] for c in costs),
            )
        )
    services = [s for s in services if s.own_time_not_ok > 0 or s.own_rejected > 0 or s.downstream_episodes]
    services.sort(
        key=lambda s: (
            -s.downstream_rejected,
            -s.downstream_failed,
            -s.downstream_time_not_ok,
            -s.own_rejected,
            -s.own_time_not_ok,
            s.service,
        )
    )
    return edges, services


def timeline(
    flood: tuple[float, float] | None,
    causes: pd.DataFrame,
    eps: list[Episode],
    decs: list[Decision],
) -> list[TimelineEntry]:
    """Every degradation, recovery, decision and intervention, in time order."""
    failed_eps = {(e.service, e.start_seq): e for e in eps if e.worst == "failed"}
    by_service: dict[str, list[Episode]] = defaultdict(list)
    for e in eps:
        by_service[e.service].append(e)
    entries: list[TimelineEntry] = []
    if flood:
        entries.append(TimelineEntry(flood[0], None, "flood", None, "flood begins"))
        entries.append(TimelineEntry(flood[1], None, "flood", None, "flood recedes"))
    for seq, time, service, became, trigger in causes[
        ["seq", "time", "service", "became", "trigger"]
    ].itertuples(index=False):
        ep = _episode_of(by_service, service, time)
        in_failed = ep is not None and (ep.service, ep.start_seq) in failed_eps
        entries.append(
            TimelineEntry(
                float(time),
                int(seq),
                "degraded",
                service,
                f"**{service}** {became} (trigger: {trigger})",
                in_failed,
            )
        )
    for d in decs:
        entries.append(
            TimelineEntry(
                d.decided_at,
                d.seq,
                "decision",
                None,
                f"policy decides for {', '.join(d.targets)} (on information from t={d.based_on:g})",
            )
        )
        for target, t in sorted(d.applied.items(), key=lambda kv: kv[1]):
            entries.append(TimelineEntry(t, None, "intervention", target, f"intervention reaches {target}"))
    for e in eps:
        if e.end is not None:
            entries.append(
                TimelineEntry(
                    e.end, None, "recovered", e.service, f"{e.service} back to ok", e.worst == "failed"
                )
            )
    entries.sort(key=lambda k: (k.time, k.seq or 0))
    return entries


def failure_cleared_at(states: pd.DataFrame, final: dict[str, str]) -> float | None:
    """When the last service to leave `failed` did so; None if none failed or one still is."""
    if "failed" in final.values():
        return None
    # rows grouped per service in record order: row i-1 is the service's previous row
    states = states[["service_id", "seq", "status", "time"]].sort_values(["service_id", "seq"], kind="stable")
    ids, failed = pd.factorize(states["service_id"])[0], (states["status"] == "failed").to_numpy()
    same = ids[1:] == ids[:-1]
    left = np.flatnonzero(same & failed[:-1] & ~failed[1:]) + 1
    return float(states["time"].to_numpy()[left].max()) if len(left) else None


def _effects(run: RunData, eps: list[Episode]) -> list[ServiceEffect]:
    frame = service_effects(run, eps)
    return [
        ServiceEffect(
            str(r.service),
            float(r.peak_stress),
            float(r.min_resource),
            int(r.episodes),
            float(r.time_not_ok),
            None if r.first_failure is None or pd.isna(r.first_failure) else float(r.first_failure),
            int(r.served),
            int(r.rejected),
            str(r.final_status),
        )
        for r in frame.itertuples(index=False)
    ]


def compute_findings(
    run: RunData,
    step: Callable[[str], None] = lambda name: None,
    records_done: Callable[[Findings, nx.DiGraph], None] | None = None,
) -> Findings:
    """Every figure of the post-mortem; `step(name)` is called as each stage starts.

    `records_done(findings, graph)` (optional) is called once the records are no longer
    needed, before the graph attention imports torch: the caller may keep what it still
    needs of them (e.g. the rows to plot) and drop the rest, so the two never add up."""
    out = run.summary["outcomes"]
    step("episodes")
    eps = episodes(run)
    effects = _effects(run, eps)
    step("cascade")
    links = cascade(run)
    causes = roots(run)
    step("policy")
    decs = decisions(run)
    seen, missed = detections(run, eps)
    flood = flood_window(run.config)
    step("damage")
    dep_damage, svc_damage = damage(run, eps, links, effects)
    findings = Findings(
        scenario=run.summary["scenario"],
        description=(run.config.get("description") or "").strip(),
        folder=str(run.folder),
        seed=int(run.summary["seed"]),
        chain_head=run.summary["chain_head"],
        events=int(out["events"]),
        end_time=float(out["end_time"]),
        recording_mode=run.config.get("recording", {}).get("mode", "all"),
        config=run.config,
        outcomes=out,
        flood=flood,
        services=effects,
        episodes=eps,
        cascade=links,
        root_causes=root_causes(run),
        detections=seen,
        undetected=missed,
        decisions=decs,
        timeline=timeline(flood, causes, eps, decs),
        dependency_damage=dep_damage,
        service_damage=svc_damage,
    )
    findings.failure_cleared_at = failure_cleared_at(run.states(), findings.final_status())
    from .gat_findings import gat_findings, gat_input

    graph = dependency_graph(run)
    attention_input = gat_input(run, graph, eps)
    if records_done is not None:
        records_done(findings, graph)
    step("graph attention")
    findings.gat, findings.attention = gat_findings(graph, links, attention_input)
    return findings
