"""Run independent tasks on a backend: `serial`, `processes` or `dask`.

Every backend calls the same top-level `run_task(fn, task)`, which captures a failing run's
error and traceback into its result instead of raising, so one bad run never loses the
others. Results come back sorted by task index whatever the completion order; the seeds
were fixed when the tasks were built, so results do not depend on the backend or on the
number of workers.

`fn(params: dict, seed: int) -> Mapping[str, float]` must be a top-level function of an
importable module (not a lambda, closure or a function defined under ``__main__`` without
an import guard): worker processes are started with ``spawn`` and import it by name.
"""

from __future__ import annotations

import copy
import logging
import math
import multiprocessing
import numbers
import os
import pickle
import time
import traceback as tb
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from .results import TaskResult
from .tasks import Task

if TYPE_CHECKING:
    from distributed import Client

RunFn = Callable[[dict[str, Any], int], Mapping[str, float]]
ResultHook = Callable[[TaskResult], None]


class Backend(StrEnum):
    """Where tasks run."""

    SERIAL = "serial"
    PROCESSES = "processes"
    DASK = "dask"


def _result(task: Task, **fields: Any) -> TaskResult:
    result: TaskResult = {
        "index": task.index,
        "point": task.point,
        "replication": task.replication,
        "seed": task.seed,
        "params": task.params,
        "overrides": task.overrides,
        "status": "ok",
        "outcomes": {},
        "error": None,
        "traceback": None,
        "duration": 0.0,
    }
    result.update(fields)  # type: ignore[typeddict-item]
    return result


def _outcomes(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise TypeError(f"run function must return a mapping of outcomes, got {value!r}")
    outcomes = {}
    for key, number in value.items():
        if not isinstance(key, str):
            raise TypeError(f"outcome names must be strings, got {key!r}")
        if not isinstance(number, numbers.Real):
            raise TypeError(f"outcome {key!r} must be a real number, got {number!r}")
        outcomes[key] = float(number)
    return outcomes


def failed_result(task: Task, exc: BaseException, duration: float = math.nan) -> TaskResult:
    """The result recording that `task` raised `exc` (with its full traceback)."""
    return _result(
        task,
        status="failed",
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(tb.format_exception(exc)),
        duration=duration,
    )


def run_task(fn: RunFn, task: Task) -> TaskResult:
    """Run one task, never raising for an `Exception` in `fn`: failures become results.

    `fn` receives a private copy of the parameters, so it cannot alter what is recorded.
    """
    start = time.perf_counter()
    try:
        outcomes = _outcomes(fn(copy.deepcopy(task.params), task.seed))
    except Exception as exc:
        return failed_result(task, exc, time.perf_counter() - start)
    return _result(task, outcomes=outcomes, duration=time.perf_counter() - start)


def _check_picklable(fn: RunFn) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"{fn!r} cannot be sent to worker processes ({exc}); use a top-level function "
            "of an importable module"
        ) from exc


def _run_serial(fn: RunFn, tasks: Sequence[Task], on_done: ResultHook, **_: Any) -> None:
    for task in tasks:
        on_done(run_task(fn, task))


def _run_processes(
    fn: RunFn,
    tasks: Sequence[Task],
    on_done: ResultHook,
    workers: int | None = None,
    start_method: str = "spawn",
    **_: Any,
) -> None:
    _check_picklable(fn)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    context = multiprocessing.get_context(start_method)
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=context) as pool:
        futures = {pool.submit(run_task, fn, task): task for task in tasks}
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # the worker died or the task could not be sent
                    result = failed_result(futures[future], exc)
                on_done(result)
        except BaseException:  # Ctrl-C, SIGTERM: drop the queued runs, wait only for running ones
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _run_dask(
    fn: RunFn,
    tasks: Sequence[Task],
    on_done: ResultHook,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    **_: Any,
) -> None:
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    _check_picklable(fn)
    cluster = None
    if scheduler is None:
        n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    elif isinstance(scheduler, str):
        client = Client(scheduler)
    else:
        client = scheduler
    try:
        futures = {client.submit(run_task, fn, task, pure=False): task for task in tasks}
        for future in dask_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # e.g. KilledWorker: record it, carry on
                result = failed_result(futures[future], exc)
            on_done(result)
            future.release()
    finally:
        if client is not scheduler:
            client.close()
        if cluster is not None:
            cluster.close()


_BACKENDS = {
    Backend.SERIAL: _run_serial,
    Backend.PROCESSES: _run_processes,
    Backend.DASK: _run_dask,
}


def run_batch(
    fn: RunFn,
    tasks: Sequence[Task],
    backend: Backend | str = "serial",
    workers: int | None = None,
    progress: bool = True,
    *,
    scheduler: str | Client | None = None,
    start_method: str = "spawn",
    on_result: ResultHook | None = None,
) -> list[TaskResult]:
    """Run every task with `fn(params, seed)` and return the results sorted by task index.

    - `backend`: ``serial``, ``processes`` (a pool of `workers` processes, default one per
      CPU, started with `start_method`) or ``dask`` (a local cluster of `workers` worker
      processes, or the `scheduler` given as an address string or a `distributed.Client`).
    - `progress`: show a tqdm bar on stderr.
    - `on_result(result)`: called as each result arrives (completion order), e.g. to stream
      results to disk.
    """
    try:
        chosen = Backend(backend)
    except ValueError:
        options = ", ".join(b.value for b in Backend)
        raise ValueError(f"unknown backend {backend!r} (choose from {options})") from None
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    indices = [task.index for task in tasks]
    if len(set(indices)) != len(indices):
        raise ValueError("task indices must be unique")
    if scheduler is not None and chosen is not Backend.DASK:
        raise ValueError("`scheduler` only applies to the dask backend")
    if not tasks:
        return []

    results: list[TaskResult] = []
    failed = 0
    with tqdm(total=len(tasks), desc=f"batch[{chosen.value}]", unit="run",
              disable=not progress) as bar:

        def on_done(result: TaskResult) -> None:
            nonlocal failed
            results.append(result)
            if result["status"] != "ok":
                failed += 1
                bar.set_postfix(failed=failed)
            if on_result is not None:
                on_result(result)
            bar.update()

        _BACKENDS[chosen](
            fn, tasks, on_done, workers=workers, scheduler=scheduler, start_method=start_method
        )
    results.sort(key=lambda r: r["index"])
    return results
