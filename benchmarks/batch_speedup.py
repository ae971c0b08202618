"""Serial vs process-pool replications: wall time including worker start-up.

    python -m benchmarks.batch_speedup                       # CPU-bound toy queue
    python -m benchmarks.batch_speedup --fn pkg.module:run --params '{"hours": 6}' -n 100
    python -m benchmarks.batch_speedup --scenario scenarios/flood_town.yaml   # infra runs

`--fn` names any top-level `fn(params, seed) -> {outcome: float}`. Each repeat runs the
same `n` replications serially and on `--workers` processes (pool created inside the timed
region), checks that both give identical results, and the medians and their ratio are
printed. Target: >= 1.7x on 2 workers for 100 replications of a >= 0.2 s run.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Mapping
from typing import Any

import yaml

from simulator.batch import RunFn, replications, without_timing
from simulator.batch.grid import coerce_scalar, validate_path
from simulator.batch.tasks import set_path

DEFAULT_FN = "simulator.batch.examples:queue_waits"


def load_fn(spec: str) -> RunFn:
    """``package.module:function`` -> the function."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"--fn must look like 'package.module:function', got {spec!r}")
    return getattr(importlib.import_module(module), name)


def measure(
    fn: RunFn,
    base_params: Mapping[str, Any],
    n: int = 100,
    workers: int = 2,
    repeats: int = 3,
    master_seed: int = 0,
) -> dict[str, Any]:
    """Time `n` replications serially and on `workers` processes, `repeats` times each."""
    serial_times, process_times = [], []
    identical = True
    for _ in range(repeats):
        start = time.perf_counter()
        serial = replications(fn, base_params, n, master_seed, "serial", progress=False)
        serial_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        parallel = replications(fn, base_params, n, master_seed, "processes", workers=workers, progress=False)
        process_times.append(time.perf_counter() - start)
        identical &= without_timing(serial) == without_timing(parallel)
    failed = sum(r["status"] != "ok" for r in serial)
    serial_median = statistics.median(serial_times)
    process_median = statistics.median(process_times)
    return {
        "serial": serial_times,
        "processes": process_times,
        "serial_median": serial_median,
        "processes_median": process_median,
        "speedup": serial_median / process_median,
        "speedup_best": min(serial_times) / min(process_times),
        "single_run_median": statistics.median(r["duration"] for r in serial),
        "identical": identical,
        "failed": failed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fn", default=DEFAULT_FN, help="package.module:function")
    parser.add_argument("--params", default="{}", help="base parameters as JSON/YAML")
    parser.add_argument("--scenario", help="infra scenario YAML (runs infra.replicate:run_outcomes)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override one (dotted) parameter; repeatable",
    )
    parser.add_argument("-n", "--replications", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="master seed")
    args = parser.parse_args(argv)

    params = yaml.safe_load(args.params) or {}
    if args.scenario:
        from simulator.infra.scenario import load_scenario

        params = load_scenario(args.scenario).model_dump(mode="json")
        args.fn = "simulator.infra.replicate:run_outcomes"
    if not isinstance(params, dict):
        parser.error("--params must be a mapping")
    for item in args.set:
        path, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects PATH=VALUE, got {item!r}")
        set_path(params, validate_path(path.strip()), coerce_scalar(value.strip()), strict=False)

    fn = load_fn(args.fn)
    print(
        f"{args.fn}: {args.replications} replications, serial vs {args.workers} processes, "
        f"{args.repeats} repeats"
    )
    m = measure(fn, params, args.replications, args.workers, args.repeats, args.seed)
    print(f"single run (median)  {m['single_run_median']:.3f} s")
    print(f"serial     median    {m['serial_median']:.2f} s   ({', '.join(f'{t:.2f}' for t in m['serial'])})")
    print(
        f"processes  median    {m['processes_median']:.2f} s   "
        f"({', '.join(f'{t:.2f}' for t in m['processes'])})"
    )
    print(f"speedup              {m['speedup']:.2f}x  (target >= 1.7x on 2 workers)")
    print(f"speedup, best times  {m['speedup_best']:.2f}x  (less sensitive to other load)")
    print(f"identical results    {m['identical']}   failed runs: {m['failed']}")


if __name__ == "__main__":
    main()
