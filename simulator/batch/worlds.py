"""The worlds the batch layer can run, by name: `simulator.batch` imports none of them.

Each entry names, as ``module:function`` strings imported only when used:

- `run`: `fn(params, seed) -> {outcome: number}` (top level, so every backend can send it to a
  worker);
- `load`: optionally `load(path, overrides) -> model` with a `.seed` and
  `.model_dump(mode="json")`, reading a scenario file into the base parameters of a batch;
- `parse`: optionally `parse(data, source) -> model`, validating plain data against the world's
  own schema (a scenario file's mapping, or a sweep point) with one-line `ScenarioError`s;
- `outcomes`: optionally the names of the outcomes `run` returns (a tuple, or a
  ``module:attr`` string naming one), so `--show` can be checked before anything runs.

`simulator batch SPEC` runs every world that has `parse`: the spec's top-level `world:` key
names it, or `--world`, or else it is detected from the keys only that world's specs have
(`keys`). Worlds register themselves here: infra runs, finance runs, orchestration runs,
traffic runs and tournament matches all go through the same layer.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .executors import RunFn


@dataclass(frozen=True)
class WorldEntry:
    """Where a world's batch run function (and its scenario loader and parser) live."""

    name: str
    run: str
    load: str | None = None
    parse: str | None = None
    keys: tuple[str, ...] = ()  # top-level keys that mark a spec as this world's
    outcomes: tuple[str, ...] | str = ()
    show: tuple[str, ...] = ()  # outcomes `simulator batch` prints by default
    proportions: tuple[str, ...] = ()  # 0/1 outcomes, summarised with Wilson intervals
    fixed: dict[str, str] = field(default_factory=dict)  # top-level keys a sweep may not set, why

    def run_fn(self) -> RunFn:
        return _resolve(self.run)

    def loader(self) -> Any:
        if self.load is None:
            raise ValueError(f"world {self.name!r} has no scenario loader")
        return _resolve(self.load)

    def parser(self) -> Any:
        if self.parse is None:
            raise ValueError(f"world {self.name!r} has no spec parser")
        return _resolve(self.parse)

    def outcome_names(self) -> tuple[str, ...]:
        return tuple(_resolve(self.outcomes)) if isinstance(self.outcomes, str) else self.outcomes


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


_WORLDS: dict[str, WorldEntry] = {}


def register_world(name: str, run: str, load: str | None = None, **details: Any) -> WorldEntry:
    """Add (or replace) world `name`: `run`, `load` (and `parse`, `outcomes` when a string)
    are ``module:function`` strings; `details` are the other `WorldEntry` fields."""
    for target in (run, load, details.get("parse")):
        if target is not None and ":" not in target:
            raise ValueError(f"{target!r}: expected 'module:function'")
    entry = WorldEntry(name, run, load, **details)
    _WORLDS[name] = entry
    return entry


def get_world(name: str) -> WorldEntry:
    try:
        return _WORLDS[name]
    except KeyError:
        raise ValueError(f"unknown world {name!r} (known: {', '.join(sorted(_WORLDS))})") from None


def worlds() -> list[str]:
    return sorted(_WORLDS)


def spec_worlds() -> list[str]:
    """The worlds `simulator batch` can run from a spec file."""
    return sorted(name for name, entry in _WORLDS.items() if entry.parse is not None)


def detect_world(data: Mapping[str, Any]) -> str | None:
    """The world with the most of its marking keys at the top level of `data` (e.g. `patterns`
    and `root` for orchestration, `strategy` and `market` for finance), or None when no world
    has any or two have as many."""
    counts = sorted(
        ((sum(key in data for key in _WORLDS[name].keys), name) for name in spec_worlds()), reverse=True
    )
    if not counts or counts[0][0] == 0 or (len(counts) > 1 and counts[1][0] == counts[0][0]):
        return None
    return counts[0][1]


_NO_SEED = "each run's seed comes from --seed and the replication"
register_world(
    "infra",
    "simulator.infra.replicate:run_outcomes",
    "simulator.infra.scenario:load_scenario",
    parse="simulator.infra.scenario:parse_scenario",
    keys=("services", "citizens", "agencies", "policy", "stressors", "until"),
    outcomes="simulator.batch.adapters:INFRA_OUTCOMES",
    show=("cascade", "unmet_demand", "services_failed", "collapse"),
    proportions=("cascade", "collapse"),
    fixed={"seed": _NO_SEED, "recording": "batch runs record nothing"},
)
register_world(
    "finance",
    "simulator.tournament.trading:finance_outcomes",
    "simulator.finance.config:load_config",
    parse="simulator.batch.adapters:parse_finance",
    keys=("strategy", "initial_capital", "market", "executor"),
    outcomes="simulator.tournament.trading:OUTCOMES",
    show=("roi", "sharpe_ratio", "max_drawdown", "total_trades"),
    fixed={"seed": _NO_SEED},
)
register_world("ipd", "simulator.tournament.games:ipd_match")
register_world(
    "ottochain_traffic",
    "simulator.ottochain.traffic:traffic_outcomes",
    "simulator.ottochain.traffic_config:load_traffic",
    parse="simulator.batch.adapters:parse_traffic",
    keys=("population", "generations", "episode", "evolution", "identity", "bridge"),
    outcomes="simulator.batch.adapters:TRAFFIC_OUTCOMES",
    show=("completion_mean", "fitness_last", "attestations_per_agent", "bridge_failures"),
    fixed={"seed": _NO_SEED, "wallet_store": "batch runs derive wallets from the seed"},
)
register_world(
    "orchestration",
    "simulator.orchestration.run:run_outcomes",
    "simulator.orchestration.spec:load_spec",
    parse="simulator.orchestration.spec:parse_spec",
    keys=("patterns", "root", "team", "tasks"),
    outcomes="simulator.orchestration.run:OUTCOMES",
    show=("success_rate", "makespan_p50", "makespan_p95", "messages_per_task"),
    fixed={"seed": _NO_SEED, "recording": "batch runs record nothing"},
)
