"""What-if replays: the recorded scenario re-run with one change, same seed, same named streams.

Every random draw comes from a stream named after what draws it, so a re-run with one change
sees the same randomness wherever the change does not reach (common random numbers): the
difference from the recorded run is the intervention's effect in this realisation, not noise.
Analysis imports no world: the re-run is a callable handed in by the CLI layer.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .run_data import AnalysisError

Rerun = Callable[[dict], dict]  # resolved scenario config -> outcomes (as in summary.json)

# outcome key -> label, in table order
COMPARED = {
    "unmet_demand": "unmet demand (requests)",
    "unmet_share": "unmet share",
    "served": "served",
    "services_failed": "services that failed",
    "services_overloaded": "services that left ok",
    "cascade_failures": "cascade degradations",
    "first_failure_at": "first failure at",
    "first_decision_at": "first decision at",
    "first_intervention_at": "first intervention at",
    "decisions": "policy decisions",
    "last_failure_cleared_at": "last service out of failed at",
    "recovered": "all services ok at the end",
}


@dataclass
class WhatIf:
    spec: str  # as typed: services.d0_water.capacity=90
    path: str  # the same path with list items by id (by index if they have none), for `simulator batch`
    value: Any
    recorded: Any  # the value in the recorded run
    steps: list[str | int]  # keys and list indices from the root to the value


def _resolve(config: dict, spec: str) -> WhatIf:
    import yaml

    if "=" not in spec:
        raise AnalysisError(f"--what-if {spec!r}: expected KEY=VALUE, e.g. policy.intervention_delay=0")
    key, raw = spec.split("=", 1)
    node: Any = config
    canonical: list[str] = []
    steps: list[str | int] = []
    parts = key.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the scenario"
        if isinstance(node, list):
            ids = [item.get("id") if isinstance(item, dict) else None for item in node]
            if part.isdigit() and int(part) < len(node):
                index = int(part)
            elif part in ids:
                index = ids.index(part)
            else:
                known = ", ".join(str(i) for i in ids[:12] if i) + (" ..." if len(ids) > 12 else "")
                raise AnalysisError(
                    f"--what-if {spec}: {where} has no item {part!r} "
                    f"(an index below {len(node)} or an id: {known})"
                )
            canonical.append(str(ids[index] or index))
            steps.append(index)
            if depth < len(parts) - 1:
                node = node[index]
        elif isinstance(node, dict):
            if part not in node:
                raise AnalysisError(
                    f"--what-if {spec}: {where} has no key {part!r} (allowed: {', '.join(sorted(node))})"
                )
            canonical.append(part)
            steps.append(part)
            if depth < len(parts) - 1:
                node = node[part]
        else:
            raise AnalysisError(f"--what-if {spec}: {where} is a value, not a mapping or a list")
    last = parts[-1]
    recorded = node[steps[-1]] if isinstance(node, list) else node[last]
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise AnalysisError(f"--what-if {spec}: cannot read the value {raw!r}") from None
    return WhatIf(spec, ".".join(canonical), value, recorded, steps)


def parse_what_ifs(config: dict, specs: list[str]) -> list[WhatIf]:
    """Check every `KEY=VALUE` against the recorded config before anything runs."""
    return [_resolve(config, spec) for spec in specs]


def apply(config: dict, changes: list[WhatIf]) -> dict:
    out = copy.deepcopy(config)
    for change in changes:
        node: Any = out
        for step in change.steps[:-1]:
            node = node[step]
        node[change.steps[-1]] = change.value
    return out


def _row(label: str, outcomes: dict, changes: list[WhatIf] = ()) -> dict:
    return (
        {"label": label, "changes": [asdict(c) for c in changes]}
        | {key: outcomes.get(key) for key in COMPARED}
        | {"final_failed": outcomes.get("final_failed")}
    )


def compare(
    config: dict, recorded: dict, what_ifs: list[WhatIf], rerun: Rerun, step=lambda name: None
) -> list[dict]:
    """Rows: the recorded run, its replay without change (which must equal it: the check that
    the comparison is fair), each what-if alone and, with several, all of them together."""
    step("replay without change")
    rows = [_row("recorded run", recorded), _row("replay, no change", rerun(copy.deepcopy(config)))]
    variants = [[w] for w in what_ifs] + ([what_ifs] if len(what_ifs) > 1 else [])
    for changes in variants:
        label = " + ".join(w.spec for w in changes)
        step(f"what-if {label}")
        rows.append(_row(label, rerun(apply(config, changes)), changes))
    return rows


def _same(a: Any, b: Any) -> bool:
    """Equal, floats up to the 10 significant digits metrics.csv keeps."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def replay_matches(rows: list[dict]) -> bool:
    return all(_same(rows[0][k], rows[1][k]) for k in COMPARED)


def scenario_hint(name: str) -> str:
    """The scenario file to name in a suggested command."""
    path = Path("scenarios") / f"{name}.yaml"
    return str(path) if path.is_file() else f"<{name}.yaml>"


def batch_command(scenario: str, sweeps: dict[str, list], n: int = 30) -> str:
    """The `simulator batch` command that turns a single-run claim into a distribution."""
    parts = [f"simulator batch {scenario_hint(scenario)} -n {n}"]
    for path, values in sweeps.items():
        parts.append(f"--sweep {path}={','.join(_fmt(v) for v in values)}")
    return " ".join(parts + ["--backend processes"])


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)
