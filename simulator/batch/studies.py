"""Studies: build the tasks of a replication set or a sweep and run them on a backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .executors import Backend, RunFn, run_batch
from .results import TaskResult
from .tasks import replication_tasks, sweep_tasks


def replications(
    fn: RunFn,
    base_params: Mapping[str, Any],
    n: int,
    master_seed: int,
    backend: Backend | str = "serial",
    workers: int | None = None,
    progress: bool = True,
    **run_options: Any,
) -> list[TaskResult]:
    """Run `fn(params, seed)` `n` times with seeds derived from `master_seed`."""
    tasks = replication_tasks(base_params, n, master_seed)
    return run_batch(fn, tasks, backend, workers, progress, **run_options)


def sweep(
    fn: RunFn,
    base_params: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    replications: int,
    master_seed: int,
    backend: Backend | str = "serial",
    workers: int | None = None,
    progress: bool = True,
    common_random_numbers: bool = True,
    **run_options: Any,
) -> list[TaskResult]:
    """Run `replications` replications at every point of the Cartesian product of `grid`
    (dotted paths into `base_params` -> values); see `sweep_tasks` for the seeding."""
    tasks = sweep_tasks(
        base_params, grid, replications, master_seed, common_random_numbers=common_random_numbers
    )
    return run_batch(fn, tasks, backend, workers, progress, **run_options)
