"""The worlds the batch layer can run, by name: `simulator.batch` imports none of them.

Each entry names, as ``module:function`` strings imported only when used, a run function
`fn(params, seed) -> {outcome: number}` (top level, so every backend can send it to a worker)
and optionally a loader `load(path) -> model` with a `.seed` and `.model_dump(mode="json")`
that reads a scenario file into the base parameters of a batch. Worlds register themselves
here: infra runs, finance runs and tournament matches all go through the same layer.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from .executors import RunFn


@dataclass(frozen=True)
class WorldEntry:
    """Where a world's batch run function (and its scenario loader) live."""

    name: str
    run: str
    load: str | None = None

    def run_fn(self) -> RunFn:
        return _resolve(self.run)

    def loader(self) -> Any:
        if self.load is None:
            raise ValueError(f"world {self.name!r} has no scenario loader")
        return _resolve(self.load)


def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


_WORLDS: dict[str, WorldEntry] = {}


def register_world(name: str, run: str, load: str | None = None) -> WorldEntry:
    """Add (or replace) world `name`: `run` and `load` are ``module:function`` strings."""
    for target in (run, load):
        if target is not None and ":" not in target:
            raise ValueError(f"{target!r}: expected 'module:function'")
    entry = WorldEntry(name, run, load)
    _WORLDS[name] = entry
    return entry


def get_world(name: str) -> WorldEntry:
    try:
        return _WORLDS[name]
    except KeyError:
        raise ValueError(f"unknown world {name!r} (known: {', '.join(sorted(_WORLDS))})") from None


def worlds() -> list[str]:
    return sorted(_WORLDS)


register_world("infra", "simulator.infra.replicate:run_outcomes", "simulator.infra.scenario:load_scenario")
register_world(
    "finance", "simulator.tournament.trading:finance_outcomes", "simulator.finance.config:load_config"
)
register_world("ipd", "simulator.tournament.games:ipd_match")
register_world(
    "ottochain_traffic",
    "simulator.ottochain.traffic:traffic_outcomes",
    "simulator.ottochain.traffic_config:load_traffic",
)
