"""Run folders: atomic writes, versions, summary.json."""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def versions(*packages: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("simulator", "simpy", "numpy", *packages):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".partial")
    tmp.write_text(text)
    os.replace(tmp, p)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def rerun_infra(config: dict) -> dict:
    """Re-run an infra scenario from its resolved config, recording off; return its outcomes.
    Handed to `simulator report --what-if` by the CLI layer (analysis imports no world)."""
    from .infra.build import build_world
    from .infra.outcomes import outcomes
    from .infra.scenario import parse_scenario

    config = {**config, "recording": {**config.get("recording", {}), "mode": "off", "trace": False}}
    scenario = parse_scenario(config, "--what-if")
    world = build_world(scenario)
    world.run(until=scenario.until)
    return outcomes(world)
