"""Spec parsers and outcome names of the worlds whose own modules do not provide them in the
shape the registry wants (`parse(data, source) -> model`, one-line `ScenarioError`s). Each
imports its world only when called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

INFRA_OUTCOMES = (
    "events",
    "served",
    "unmet_demand",
    "unmet_share",
    "services_failed",
    "services_overloaded",
    "cascade_failures",
    "decisions",
    "cascade",
    "collapse",
    "first_failure_at",
    "end_time",
)
TRAFFIC_OUTCOMES = (
    "generations",
    "population_min",
    "population_max",
    "completion_mean",
    "fitness_first",
    "fitness_last",
    "fitness_first_fifth",
    "fitness_last_fifth",
    "attestations_per_agent",
    "bridge_failures",
    "lost",
    "double_applied",
    "duplicates",
    "head48",
)


def parse_finance(data: dict[str, Any], source: str) -> Any:
    """A finance config; relative CSV paths resolve beside `source` when it is a file."""
    from ..finance.config import parse_config
    from ..finance.errors import ConfigError
    from ..scenario import ScenarioError

    base = Path(source).parent if Path(source).is_file() else None
    try:
        return parse_config(data, base_dir=base)
    except ConfigError as exc:
        raise ScenarioError(f"{source}: {exc}") from None


def parse_traffic(data: dict[str, Any], source: str) -> Any:
    from ..ottochain.traffic_config import TrafficScenario
    from ..scenario import validate

    return validate(TrafficScenario, data, source)
