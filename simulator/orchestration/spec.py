"""The orchestration spec (YAML): a team, named patterns that nest by name, a root, a task
stream and fault rates. Validated on load; a bad spec is one line naming the path."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, ValidationError

from ..engine import Channel, LatencyModel, seed_sequence
from ..scenario import ScenarioError, Strict, describe, dotted, load_yaml, set_dotted
from .agents import SimAgent
from .base import Orchestration
from .concurrent import ConcurrentOrchestration
from .group_chat import GroupChatOrchestration, RoundRobinManager, RulesManager
from .handoff import HandoffOrchestration
from .magentic import MagenticOrchestration
from .sequential import SequentialOrchestration

PATTERNS = ("sequential", "concurrent", "group_chat", "handoff", "magentic")
Rate = Annotated[float, Field(ge=0, le=1)]


class ChannelSpec(Strict):
    """A latency: base + a draw from `dist` with `scale` + `congestion` x calls in flight."""

    base: NonNegativeFloat = 0.0
    dist: Literal["fixed", "exponential", "uniform", "normal", "lognormal"] = "fixed"
    scale: NonNegativeFloat = 0.0
    congestion: NonNegativeFloat = 0.0

    def channel(self) -> Channel:
        return Channel(base=self.base, dist=self.dist, scale=self.scale, congestion=self.congestion)


class RouteChannelSpec(ChannelSpec):
    """A transport channel between kinds (`agent`, `orchestration`, `source`) for one event type."""

    source: str = "*"
    target: str = "*"
    event: str = "*"


class LatencySpec(Strict):
    default: ChannelSpec = ChannelSpec()
    channels: list[RouteChannelSpec] = []


class FaultSpec(Strict):
    """Per-call probabilities: the agent reports failure, never answers, or raises."""

    failure: Rate = 0.0
    timeout: Rate = 0.0
    exception: Rate = 0.0


class AgentSpec(Strict):
    name: str
    capabilities: list[str] = Field(min_length=1)
    latency: ChannelSpec = ChannelSpec(base=1.0)
    faults: FaultSpec | None = None
    deadline: PositiveFloat = 60.0
    routes: dict[str, str] = {}


class _Pattern(Strict):
    members: list[str] = Field(min_length=1)
    retries: NonNegativeInt = 0
    timeout: PositiveFloat | None = None


class SequentialSpec(_Pattern):
    pattern: Literal["sequential"]


class ConcurrentSpec(_Pattern):
    pattern: Literal["concurrent"]
    max_concurrent: PositiveInt = 10
    member_timeout: PositiveFloat | None = None
    min_success: PositiveInt | Literal["all"] = 1


class RuleSpec(Strict):
    after: str | None = None
    needs: str | None = None
    next: str


class ManagerSpec(Strict):
    kind: Literal["round_robin", "rules"] = "round_robin"
    rules: list[RuleSpec] = []
    max_failures: PositiveInt = 2


class HumanSpec(Strict):
    every: PositiveInt
    reply: str = "continue"


class GroupChatSpec(_Pattern):
    pattern: Literal["group_chat"]
    manager: ManagerSpec = ManagerSpec()
    max_turns: PositiveInt = 10
    human_input: HumanSpec | None = None


class HandoffSpec(_Pattern):
    pattern: Literal["handoff"]
    entry: str
    relations: dict[str, list[str]]
    max_handoffs: NonNegativeInt = 10


class MagenticSpec(_Pattern):
    pattern: Literal["magentic"]
    max_stall: PositiveInt = 3
    max_resets: NonNegativeInt = 2
    max_rounds: PositiveInt = 20
    scope: Literal["task", "team"] = "task"


PatternSpec = Annotated[
    SequentialSpec | ConcurrentSpec | GroupChatSpec | HandoffSpec | MagenticSpec,
    Field(discriminator="pattern"),
]


class TaskKind(Strict):
    name: str
    requires: list[str] = Field(min_length=1)
    weight: PositiveFloat = 1.0


class TaskStream(Strict):
    count: PositiveInt = 100
    arrival_rate: PositiveFloat = 1.0
    kinds: list[TaskKind] = Field(min_length=1)


class RecordingSpec(Strict):
    background: bool = Field(True, description="format, hash and write records in a second process")


class OrchestrationSpec(Strict):
    name: str = "orchestration"
    seed: int = 0
    team: list[AgentSpec] = Field(min_length=1)
    faults: FaultSpec = FaultSpec()
    patterns: dict[str, PatternSpec] = Field(min_length=1)
    root: str
    tasks: TaskStream
    latency: LatencySpec = LatencySpec()
    recording: RecordingSpec = RecordingSpec()
    until: PositiveFloat | None = None


# -- loading ---------------------------------------------------------------------------------


def load_spec(path: str, overrides: dict[str, Any] | None = None) -> OrchestrationSpec:
    data = load_yaml(path, "orchestration spec")
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return parse_spec(data, str(path))


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> OrchestrationSpec:
    if "world" in data:  # `world: orchestration` names the world for `simulator batch`
        data = dict(data)
        world = data.pop("world")
        if world != "orchestration":
            raise ScenarioError(
                f"{source}: world: {world!r} is not the orchestration world (allowed: orchestration, "
                "or leave it out)"
            )
    patterns = data.get("patterns")
    if isinstance(patterns, dict):
        for name, body in patterns.items():
            if not isinstance(body, dict):
                raise ScenarioError(f"{source}: patterns.{name}: expected a mapping with a 'pattern' key")
            kind = body.get("pattern")
            if kind not in PATTERNS:
                what = "required key is missing" if kind is None else f"unknown pattern {kind!r}"
                raise ScenarioError(
                    f"{source}: patterns.{name}.pattern: {what} (allowed: {', '.join(PATTERNS)})"
                )
    try:
        spec = OrchestrationSpec.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_describe(exc, data)}") from None
    problem = check(spec)
    if problem:
        raise ScenarioError(f"{source}: {problem}")
    return spec


PATTERN_MODELS = {
    "sequential": SequentialSpec,
    "concurrent": ConcurrentSpec,
    "group_chat": GroupChatSpec,
    "handoff": HandoffSpec,
    "magentic": MagenticSpec,
}


def _describe(exc: ValidationError, data: dict[str, Any]) -> str:
    """Like `scenario.describe`, without the pattern tag pydantic puts in a union's path."""
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    if len(loc) >= 3 and loc[0] == "patterns" and loc[2] in PATTERN_MODELS:
        inner = PATTERN_MODELS[loc[2]]
        loc = loc[:2] + loc[3:]
        if first["type"] == "extra_forbidden" and len(loc) == 3:
            return f"{dotted(loc)}: unknown key (allowed: {', '.join(inner.model_fields)})"
        try:
            inner.model_validate(data["patterns"][loc[1]])
        except ValidationError as inner_exc:
            return f"patterns.{loc[1]}.{describe(inner, inner_exc)}"
    return describe(OrchestrationSpec, exc)


def _fault_sum(f: FaultSpec) -> float:
    return f.failure + f.timeout + f.exception


def check(spec: OrchestrationSpec) -> str | None:
    """The first cross-reference problem as `path: what (allowed ...)`, or None."""
    agents = [a.name for a in spec.team]
    names = agents + list(spec.patterns)
    for i, name in enumerate(names):
        where = f"team[{i}].name" if i < len(agents) else f"patterns.{name}"
        if not name or "," in name or "\n" in name or name == "tasks":
            return f"{where}: {name!r} is not a usable name (non-empty, no commas, not 'tasks')"
        if name in names[:i]:
            return f"{where}: the name {name!r} is used twice (agents and patterns share one namespace)"
    declared = sorted({c for a in spec.team for c in a.capabilities})
    caps = ", ".join(declared)
    if _fault_sum(spec.faults) > 1:
        return "faults: failure + timeout + exception must be <= 1"
    for i, a in enumerate(spec.team):
        if a.faults is not None and _fault_sum(a.faults) > 1:
            return f"team[{i}].faults: failure + timeout + exception must be <= 1"
        for cap, target in a.routes.items():
            if cap not in declared:
                return f"team[{i}].routes.{cap}: unknown capability {cap!r} (declared: {caps})"
            if target not in agents:
                return f"team[{i}].routes.{cap}: unknown agent {target!r} (agents: {', '.join(agents)})"
    if spec.root not in spec.patterns:
        return f"root: unknown pattern {spec.root!r} (patterns: {', '.join(spec.patterns)})"
    for name, p in spec.patterns.items():
        for j, member in enumerate(p.members):
            if member not in names:
                return (
                    f"patterns.{name}.members[{j}]: unknown member {member!r} "
                    f"(agents: {', '.join(agents)}; patterns: {', '.join(spec.patterns)})"
                )
        if len(set(p.members)) != len(p.members):
            return f"patterns.{name}.members: a member is listed twice"
        problem = _check_pattern(name, p, declared)
        if problem:
            return problem
    cycle = _cycle(spec)
    if cycle:
        return cycle
    for i, kind in enumerate(spec.tasks.kinds):
        for j, cap in enumerate(kind.requires):
            if cap not in declared:
                return f"tasks.kinds[{i}].requires[{j}]: unknown capability {cap!r} (declared: {caps})"
    return None


def _check_pattern(name: str, p: Any, declared: list[str]) -> str | None:
    where = f"patterns.{name}"
    members = ", ".join(p.members)
    if isinstance(p, ConcurrentSpec) and p.min_success != "all" and p.min_success > len(p.members):
        return f"{where}.min_success: {p.min_success} is more than the {len(p.members)} members"
    if isinstance(p, HandoffSpec):
        if p.entry not in p.members:
            return f"{where}.entry: {p.entry!r} is not a member (members: {members})"
        for source, targets in p.relations.items():
            if source not in p.members:
                return f"{where}.relations.{source}: not a member (members: {members})"
            if not targets:
                return f"{where}.relations.{source}: hands to nobody (give at least one member)"
            for k, target in enumerate(targets):
                if target not in p.members:
                    return (
                        f"{where}.relations.{source}[{k}]: unknown handoff target {target!r} "
                        f"(members: {members})"
                    )
    if isinstance(p, GroupChatSpec):
        for k, rule in enumerate(p.manager.rules):
            if rule.next not in p.members:
                return (
                    f"{where}.manager.rules[{k}].next: {rule.next!r} is not in the chat (members: {members})"
                )
            if rule.after not in (None, "start", *p.members):
                return (
                    f"{where}.manager.rules[{k}].after: {rule.after!r} is not in the chat "
                    f"(members: {members})"
                )
            if rule.needs is not None and rule.needs not in declared:
                return f"{where}.manager.rules[{k}].needs: unknown capability {rule.needs!r}"
        if p.manager.kind == "round_robin" and p.manager.rules:
            return f"{where}.manager.rules: rules need kind: rules"
    return None


def _cycle(spec: OrchestrationSpec) -> str | None:
    """The first nesting cycle, as the member path that closes it."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> str | None:
        state[name] = 1
        for j, member in enumerate(spec.patterns[name].members):
            if member not in spec.patterns:
                continue
            if state.get(member) == 1:
                loop = " -> ".join([*path[path.index(member) :], member])
                return f"patterns.{name}.members[{j}]: nesting cycle {loop}"
            if member not in state:
                found = visit(member, [*path, member])
                if found:
                    return found
        state[name] = 2
        return None

    for name in spec.patterns:
        if name not in state:
            found = visit(name, [name])
            if found:
                return found
    return None


# -- building --------------------------------------------------------------------------------


def build_agents(spec: OrchestrationSpec) -> dict[str, SimAgent]:
    out = {}
    for a in spec.team:
        f = a.faults or spec.faults
        out[a.name] = SimAgent(
            a.name,
            tuple(a.capabilities),
            a.latency.channel(),
            failure_rate=f.failure,
            timeout_rate=f.timeout,
            exception_rate=f.exception,
            deadline=a.deadline,
            routes=dict(a.routes),
        )
    return out


def build_root(spec: OrchestrationSpec) -> Orchestration:
    """The pattern tree under `spec.root`; a pattern used twice is one shared node."""
    agents = build_agents(spec)
    built: dict[str, Orchestration] = {}

    def node(name: str) -> Any:
        if name in agents:
            return agents[name]
        if name in built:
            return built[name]
        p = spec.patterns[name]
        members = [node(m) for m in p.members]
        common = {"retries": p.retries, "timeout": p.timeout}
        if isinstance(p, SequentialSpec):
            o: Orchestration = SequentialOrchestration(name, members, **common)
        elif isinstance(p, ConcurrentSpec):
            need = None if p.min_success == "all" else p.min_success
            o = ConcurrentOrchestration(
                name,
                members,
                max_concurrent=p.max_concurrent,
                member_timeout=p.member_timeout,
                min_success=need,
                **common,
            )
        elif isinstance(p, GroupChatSpec):
            every = p.human_input.every if p.human_input else 0
            m = p.manager
            manager = (
                RulesManager([r.model_dump() for r in m.rules], m.max_failures, every)
                if m.kind == "rules"
                else RoundRobinManager(every)
            )
            reply = p.human_input.reply if p.human_input else ""
            human = (lambda state, text=reply: text) if p.human_input else None
            o = GroupChatOrchestration(
                name, members, manager=manager, max_turns=p.max_turns, human_input=human, **common
            )
        elif isinstance(p, HandoffSpec):
            o = HandoffOrchestration(
                name, members, entry=p.entry, relations=p.relations, max_handoffs=p.max_handoffs, **common
            )
        else:
            o = MagenticOrchestration(
                name,
                members,
                max_stall=p.max_stall,
                max_resets=p.max_resets,
                max_rounds=p.max_rounds,
                scope=p.scope,
                **common,
            )
        built[name] = o
        return o

    return node(spec.root)


def build_latency(spec: OrchestrationSpec) -> LatencyModel:
    model = LatencyModel(default=spec.latency.default.channel())
    for c in spec.latency.channels:
        model.set(c.source, c.target, c.event, c.channel())
    return model


def build_tasks(spec: OrchestrationSpec) -> list[dict[str, Any]]:
    """The task stream's contents, drawn up front from the stream `tasks/content`: the same
    tasks for every pattern and fault rate under one seed (common random numbers)."""
    rng = np.random.Generator(np.random.PCG64(seed_sequence(spec.seed, "tasks/content")))
    kinds = spec.tasks.kinds
    weights = np.array([k.weight for k in kinds])
    picks = rng.choice(len(kinds), size=spec.tasks.count, p=weights / weights.sum())
    width = len(str(spec.tasks.count))
    return [
        {"id": f"task-{i + 1:0{width}d}", "kind": kinds[k].name, "requires": list(kinds[k].requires)}
        for i, k in enumerate(picks.tolist())
    ]
