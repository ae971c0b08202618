"""Tasks: one independent run each, with its resolved parameters and a seed fixed up front.

Seeds come from `derive_seeds(master_seed, ...)` before anything runs, so a task's seed
depends only on the master seed and its position in the plan, never on the backend, the
number of workers or the order in which runs complete.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.engine.rng import derive_seeds

Params = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """One run: `fn(params, seed)`.

    `index` orders results; `point` is the sweep point (0 for plain replications),
    `replication` the replicate number within it, `overrides` the grid values (dotted path
    -> value) that distinguish this point from the base parameters.
    """

    index: int
    params: Params
    seed: int
    point: int = 0
    replication: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)


def _by_id(items: list, key: str) -> Any:
    """The item of a list of records (e.g. `services`) whose `id` (or else `name`) is `key`,
    or the item at index `key` when it is a number; None if there is none."""
    for field_name in ("id", "name"):
        found = next((x for x in items if isinstance(x, Mapping) and x.get(field_name) == key), None)
        if found is not None:
            return found
    if key.isdigit() and int(key) < len(items):
        return items[int(key)]
    return None


def get_path(params: Mapping[str, Any], path: str) -> Any:
    """The value at dotted `path` (e.g. ``"policy.intervention_delay"``) in nested dicts; a
    list of records is entered by an item's id (``"services.transport.capacity"``)."""
    node: Any = params
    walked: list[str] = []
    for key in path.split("."):
        where = ".".join(walked) or "<root>"
        if isinstance(node, list):
            item = _by_id(node, key)
            if item is None:
                known = ", ".join(
                    str(x.get("id", x.get("name"))) for x in node if isinstance(x, Mapping)
                ) or "nothing"
                raise KeyError(f"{path!r}: no item with id {key!r} in {where} (known: {known})")
            node = item
        elif not isinstance(node, Mapping):
            raise KeyError(f"{path!r}: {where} is not a mapping")
        elif key not in node:
            known = ", ".join(sorted(map(str, node))) or "nothing"
            raise KeyError(f"{path!r}: no key {key!r} under {where} (known: {known})")
        else:
            node = node[key]
        walked.append(key)
    return node


def set_path(params: dict[str, Any], path: str, value: Any, strict: bool = True) -> None:
    """Set dotted `path` in nested dicts, in place (list items by id, as in `get_path`).

    With `strict` (the default) the whole path must already exist, so a misspelt sweep key
    fails loudly instead of adding a parameter that nothing reads.
    """
    *parents, leaf = path.split(".")
    node: Any = params
    walked: list[str] = []
    for key in parents:
        if isinstance(node, list):
            node = get_path(params, ".".join([*walked, key]))  # by id, or the explanatory KeyError
        else:
            if key not in node:
                if strict:
                    get_path(params, ".".join([*walked, key]))  # raises the explanatory KeyError
                node[key] = {}
            node = node[key]
        walked.append(key)
        if not isinstance(node, dict | list):
            what = "null" if node is None else f"a single value ({node!r})"
            raise KeyError(
                f"{path!r}: {'.'.join(walked)} is not a mapping (it is {what}; allowed: a path "
                "whose parents are set in the spec)"
            )
    if isinstance(node, list):
        raise KeyError(f"{path!r}: {'.'.join(walked)} is a list; name an item by its id")
    if strict and leaf not in node:
        get_path(params, path)
    node[leaf] = value


def apply_overrides(
    base: Mapping[str, Any], overrides: Mapping[str, Any], strict: bool = True
) -> Params:
    """A deep copy of `base` with each dotted-path override applied."""
    params = copy.deepcopy(dict(base))
    for path, value in overrides.items():
        set_path(params, path, copy.deepcopy(value), strict=strict)
    return params


def replication_tasks(base_params: Mapping[str, Any], n: int, master_seed: int) -> list[Task]:
    """`n` replications of the same parameters, seeds derived from `master_seed`."""
    if n < 1:
        raise ValueError(f"need at least one replication, got {n}")
    seeds = derive_seeds(master_seed, n, "replications")
    return [
        Task(index=i, params=copy.deepcopy(dict(base_params)), seed=seed, replication=i)
        for i, seed in enumerate(seeds)
    ]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of `grid` in key order, the last key varying fastest."""
    for key, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise TypeError(f"grid values for {key!r} must be a list, got {values!r}")
        if len(values) == 0:
            raise ValueError(f"grid key {key!r} has no values")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def sweep_tasks(
    base_params: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    replications: int,
    master_seed: int,
    common_random_numbers: bool = True,
    strict: bool = True,
) -> list[Task]:
    """`replications` runs at every point of the Cartesian product of `grid`.

    With `common_random_numbers` (the default) replicate r uses the same seed at every
    point, so differences between points are not blurred by different random draws, and a
    one-point sweep reproduces `replication_tasks`. Otherwise every task gets its own seed.
    """
    if replications < 1:
        raise ValueError(f"need at least one replication, got {replications}")
    points = grid_points(grid)
    if common_random_numbers:
        per_rep = derive_seeds(master_seed, replications, "replications")
        seeds = per_rep * len(points)
    else:
        seeds = derive_seeds(master_seed, replications * len(points), "sweep")
    tasks = []
    for p, overrides in enumerate(points):
        params = apply_overrides(base_params, overrides, strict=strict)
        for r in range(replications):
            index = p * replications + r
            tasks.append(
                Task(
                    index=index,
                    params=copy.deepcopy(params),
                    seed=seeds[index],
                    point=p,
                    replication=r,
                    overrides=copy.deepcopy(overrides),
                )
            )
    return tasks
