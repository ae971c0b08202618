"""One infra run as a batch task: `run_outcomes(config, seed)` -> numeric outcomes.

Top level and picklable, so it runs the same on the serial, process and Dask backends.
Recording is off unless the config asks for it: a batch wants outcomes, not traces.
"""

from __future__ import annotations

from typing import Any

from .build import build_world
from .outcomes import outcomes
from .run import advance
from .scenario import parse_scenario

NUMERIC = (
    "events",
    "served",
    "unmet_demand",
    "unmet_share",
    "services_failed",
    "services_overloaded",
    "cascade_failures",
    "decisions",
)


def run_outcomes(config: dict[str, Any], seed: int) -> dict[str, float]:
    config = {**config, "seed": int(seed)}
    config.setdefault("recording", {})
    config["recording"] = {**config["recording"], "mode": "off"}
    scenario = parse_scenario(config, "<batch task>")
    world = build_world(scenario)
    advance(world, scenario)
    o = outcomes(world)
    out = {key: float(o[key]) for key in NUMERIC}
    out["cascade"] = float(o["cascade"])
    out["collapse"] = float(not o["recovered"])
    if o["first_failure_at"] is not None:  # left out rather than NaN, which never equals itself
        out["first_failure_at"] = float(o["first_failure_at"])
    out["end_time"] = float(o["end_time"])
    return out
