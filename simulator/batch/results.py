"""Batch results: one plain dict per task, plus table and file helpers.

`duration` is wall-clock time, recorded for information only: determinism comparisons use
`without_timing`, which drops it. pandas is imported only where a table is built, so worker
processes that merely run tasks do not load it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np

from ..runs import finite_or_null

if TYPE_CHECKING:
    import pandas as pd

Status = Literal["ok", "failed"]
TIMING_KEYS = ("duration",)


class TaskResult(TypedDict):
    """What a task produced. `params` are the fully resolved parameters of the run."""

    index: int
    point: int
    replication: int
    seed: int
    params: dict[str, Any]
    overrides: dict[str, Any]
    status: Status
    outcomes: dict[str, float]
    error: str | None
    traceback: str | None
    duration: float


def without_timing(results: Iterable[TaskResult]) -> list[dict[str, Any]]:
    """Results without wall-clock fields: what must be identical across backends."""
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in results]


def results_frame(results: Sequence[TaskResult]) -> pd.DataFrame:
    """One row per task: index, point, replication, seed, status, one column per override
    (dotted path; `sweep:<path>` when an outcome has the same name, e.g. traffic's
    `generations`) and per outcome, error, duration. Full params and tracebacks stay in JSON."""
    import pandas as pd

    override_keys = list(dict.fromkeys(k for r in results for k in r["overrides"]))
    outcome_keys = list(dict.fromkeys(k for r in results for k in r["outcomes"]))
    column = {k: f"sweep:{k}" if k in outcome_keys else k for k in override_keys}
    rows = []
    for r in sorted(results, key=lambda r: r["index"]):
        row: dict[str, Any] = {
            "index": r["index"],
            "point": r["point"],
            "replication": r["replication"],
            "seed": r["seed"],
            "status": r["status"],
        }
        for key in override_keys:
            row[column[key]] = r["overrides"].get(key)
        for key in outcome_keys:
            row[key] = r["outcomes"].get(key, math.nan)
        row["error"] = r["error"]
        row["duration"] = r["duration"]
        rows.append(row)
    columns = ["index", "point", "replication", "seed", "status", *column.values(),
               *outcome_keys, "error", "duration"]
    return pd.DataFrame(rows, columns=columns)


def write_csv(results: Sequence[TaskResult], path: str | os.PathLike[str]) -> Path:
    """Write `results_frame(results)` to `path` (parent folders created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    results_frame(results).to_csv(out, index=False)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


def write_json(results: Sequence[TaskResult], path: str | os.PathLike[str]) -> Path:
    """Write every field of every result, sorted by index, as a JSON list.

    The file is strict JSON: a non-finite number (a failed run's NaN duration, an infinite
    outcome) is written as `null`, which any JSON reader accepts (`NaN`/`Infinity` are not JSON).
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ordered = finite_or_null(sorted(results, key=lambda r: r["index"]))
    text = json.dumps(ordered, indent=1, sort_keys=True, default=_json_default, allow_nan=False)
    out.write_text(text + "\n")
    return out



def read_json(path: str | os.PathLike[str]) -> list[TaskResult]:
    """Results written by `write_json`."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of results")
    return data
