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
import copy
import importlib
import statistics
import time
from collections.abc import Mapping
from typing import Any

import yaml

from experiments.arguments import at_least
from simulator.batch import RunFn, replications, without_timing
from simulator.batch.grid import coerce_scalar, validate_path
from simulator.batch.tasks import set_path
from simulator.scenario import ScenarioError

DEFAULT_FN = "simulator.batch.examples:queue_waits"


def load_fn(spec: str) -> RunFn:
    """``package.module:function`` -> the function."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ValueError("must look like 'package.module:function'")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise ValueError(f"{name} in {module} is not a function")
    return fn


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
    parser.add_argument("-n", "--replications", type=int, default=100, help=">= 1")
    parser.add_argument("--workers", type=int, default=2, help=">= 1")
    parser.add_argument("--repeats", type=int, default=3, help=">= 1")
    parser.add_argument("--seed", type=int, default=0, help="master seed, >= 0")
    args = parser.parse_args(argv)
    at_least(parser, args, replications=1, workers=1, repeats=1, seed=0)

    try:
        params = yaml.safe_load(args.params) or {}
    except yaml.YAMLError as exc:
        parser.error(f"--params is not valid JSON/YAML ({getattr(exc, 'problem', None) or exc})")
    if args.scenario:
        from simulator.infra.scenario import load_scenario

        try:
            params = load_scenario(args.scenario).model_dump(mode="json")
        except ScenarioError as exc:
            parser.error(f"--scenario: {exc}")
        args.fn = "simulator.infra.replicate:run_outcomes"
    if not isinstance(params, dict):
        parser.error(f"--params must be a mapping such as '{{\"hours\": 6}}', got {args.params!r}")
    for item in args.set:
        path, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects PATH=VALUE, got {item!r}")
        try:
            set_path(params, validate_path(path.strip()), coerce_scalar(value.strip()), strict=False)
        except (KeyError, ValueError) as exc:
            parser.error(f"--set {item!r}: {exc.args[0]}")
    if args.scenario:  # the scenario's own checks, so a bad --set is refused before any run
        from simulator.infra.scenario import parse_scenario

        try:
            parse_scenario(params, f"{args.scenario} with --set")
        except ScenarioError as exc:
            parser.error(str(exc))
    try:
        fn = load_fn(args.fn)
    except (ValueError, ImportError, AttributeError) as exc:
        parser.error(f"--fn {args.fn!r}: {exc}")
    try:  # one untimed run first: parameters it cannot run with are refused, not timed failing
        fn(copy.deepcopy(params), args.seed)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's function is the message
        parser.error(f"--fn {args.fn} fails with these parameters: {type(exc).__name__}: {exc}")

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
