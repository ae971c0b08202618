"""Run folders: atomic writes, versions, summary.json."""

from __future__ import annotations

import json
import math
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
    try:
        tmp.write_text(text)
        os.replace(tmp, p)
    except BaseException:  # a full disk, Ctrl-C, SIGTERM: no .partial left behind
        tmp.unlink(missing_ok=True)
        raise


def finite_or_null(value: Any) -> Any:
    """`value` with every NaN or infinite float (at any depth) replaced by None: strict JSON
    has no NaN or Infinity, and other readers refuse them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Strict JSON (non-finite numbers as null), written atomically."""
    text = json.dumps(finite_or_null(data), indent=2, sort_keys=True, default=str, allow_nan=False)
    write_atomic(path, text + "\n")


class FailedWatch:
    """Which services of an infra world are `failed`, and when the last of them left that
    state: read from the status events as they are applied (observation only: the run, its
    randomness and its records are unchanged)."""

    def __init__(self, world: Any) -> None:
        self.failed: set[str] = set()
        self.ever_failed = False
        self.cleared_at: float | None = None
        for kind in ("service_failed", "service_overloaded", "service_recovered"):
            world.reducers[kind] = self._wrap(kind, world.reducers[kind])

    def _wrap(self, kind: str, reducer: Any) -> Any:
        def observed(w: Any, ev: Any) -> Any:
            if kind == "service_failed":
                self.failed.add(ev.target)
                self.ever_failed = True
            elif ev.target in self.failed:
                self.failed.discard(ev.target)
                if not self.failed:
                    self.cleared_at = w.now
            return reducer(w, ev)

        return observed

    @property
    def last_failure_cleared_at(self) -> float | None:
        """When the last failed service left `failed`; None if none failed or one still is."""
        return self.cleared_at if self.ever_failed and not self.failed else None


def rerun_infra(config: dict) -> dict:
    """Re-run an infra scenario from its resolved config, recording off; return its outcomes
    plus `last_failure_cleared_at`. Handed to `simulator report --what-if` by the CLI layer
    (analysis imports no world)."""
    from .infra.build import build_world
    from .infra.outcomes import outcomes
    from .infra.scenario import parse_scenario

    config = {**config, "recording": {**config.get("recording", {}), "mode": "off", "trace": False}}
    scenario = parse_scenario(config, "--what-if")
    world = build_world(scenario)
    watch = FailedWatch(world)
    world.run(until=scenario.until)
    return outcomes(world) | {"last_failure_cleared_at": watch.last_failure_cleared_at}
