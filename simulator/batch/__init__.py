"""Batch execution of independent runs: replications and sweeps on serial, process or Dask
backends, with seeds fixed up front so results never depend on the backend."""

from .executors import Backend, RunFn, failed_result, run_batch, run_task
from .grid import coerce_scalar, flatten_grid, load_grid, parse_grid, parse_grid_arg
from .results import (
    TaskResult,
    read_json,
    results_frame,
    without_timing,
    write_csv,
    write_json,
)
from .studies import replications, sweep
from .summary import Interval, mean_ci, summarise, wilson_interval
from .tasks import (
    Task,
    apply_overrides,
    get_path,
    grid_points,
    replication_tasks,
    set_path,
    sweep_tasks,
)
from .worlds import WorldEntry, get_world, register_world, worlds

__all__ = [
    "Backend", "Interval", "RunFn", "Task", "TaskResult", "apply_overrides", "coerce_scalar",
    "failed_result", "flatten_grid", "get_path", "grid_points", "load_grid", "mean_ci",
    "parse_grid", "parse_grid_arg", "read_json", "replication_tasks", "replications",
    "results_frame", "run_batch", "run_task", "set_path", "summarise", "sweep", "sweep_tasks",
    "wilson_interval", "without_timing", "write_csv", "write_json",
    "WorldEntry", "get_world", "register_world", "worlds",
]
