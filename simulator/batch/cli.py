"""`simulator batch`: replications and sweeps of any world's spec on serial, processes or Dask.

The spec's world is its top-level `world:` key, or `--world`, or else detected from the keys
only that world's specs have (see `simulator.batch.worlds`). The spec and every sweep point
are validated against that world's own schema before anything runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

OUTPUTS = ("batch_results.json", "batch_results.csv", "batch_summary.csv")


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs and what it prints; shared by `simulator batch` and `orchestrate -n`."""

    replications: int
    backend: str = "serial"
    workers: int | None = None
    scheduler: str | None = None
    out: str = "results/batch"
    show: str | None = None
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BatchOptions:
        return cls(
            args.replications,
            args.backend,
            args.workers,
            args.scheduler,
            args.out,
            getattr(args, "show", None),
            args.quiet,
        )


def cmd_batch(args: argparse.Namespace) -> int:
    check_args(args)
    entry, data = read_spec(args.scenario, args.world)
    model = entry.parser()(data, args.scenario)
    base = model.model_dump(mode="json")
    seed = model.seed if args.seed is None else args.seed
    grid = read_grid(args.sweep, args.grid)
    return run_world(entry, base, seed, args.scenario, grid, BatchOptions.from_args(args))


def read_spec(path: str, world: str | None) -> tuple[Any, dict[str, Any]]:
    """The world entry and the spec's mapping (its `world:` key taken out)."""
    from ..scenario import ScenarioError, load_yaml
    from .worlds import detect_world, get_world, spec_worlds

    data = load_yaml(path, "spec")
    named = data.pop("world", None)
    allowed = ", ".join(spec_worlds())
    if named is not None and world is not None and named != world:
        raise ScenarioError(f"{path}: world: {named!r} but --world {world} (allowed: one of them, or equal)")
    name = world or named or detect_world(data)
    if name is None:
        raise ScenarioError(
            f"{path}: cannot tell its world from its keys (allowed: a top-level `world:` key or "
            f"--world, one of {allowed})"
        )
    if name not in spec_worlds():
        where = "--world" if world else "world"
        raise ScenarioError(f"{path}: {where}: unknown world {name!r} (allowed: {allowed})")
    return get_world(name), data


def read_grid(sweep: list[str], grid_file: str | None) -> dict[str, list[Any]]:
    from ..scenario import ScenarioError
    from .grid import load_grid, parse_grid

    try:
        grid = parse_grid(sweep) if sweep else {}
        if grid_file:
            from_file = load_grid(grid_file)
            twice = sorted(set(grid) & set(from_file))
            if twice:
                raise ValueError(f"{', '.join(twice)} given both by --sweep and in {grid_file}")
            grid.update(from_file)
    except (ValueError, OSError) as exc:
        raise ScenarioError(f"sweep: {exc}") from None
    return grid


def run_world(
    entry: Any, base: dict[str, Any], seed: int, source: str, grid: dict[str, list[Any]], opts: BatchOptions
) -> int:
    """Check the sweep and `--show`, run the batch, write the three files, print the table."""
    from . import replications, summarise, sweep, write_csv, write_json

    names = entry.outcome_names()
    show = (opts.show or ",".join(entry.show)).split(",")
    check_show(show, names)
    check_sweep(entry, base, grid, source)
    check_total(opts.replications * prod(len(values) for values in grid.values()))
    options = {"scheduler": opts.scheduler} if opts.scheduler else {}
    common = dict(backend=opts.backend, workers=opts.workers, progress=not opts.quiet, **options)
    run = entry.run_fn()
    if grid:
        results = sweep(run, base, grid, opts.replications, seed, **common)
    else:
        results = replications(run, base, opts.replications, seed, **common)
    out = Path(opts.out)
    write_json(results, out / "batch_results.json")
    write_csv(results, out / "batch_results.csv")
    table = summarise(results, proportions=entry.proportions)
    table.to_csv(out / "batch_summary.csv", index=False)
    failed = sum(r["status"] != "ok" for r in results)
    if not opts.quiet:
        shown = table[table["outcome"].isin(show)]
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print(
            f"\n{len(results)} {entry.name} runs ({failed} failed) -> "
            f"{out}/batch_results.json, batch_summary.csv"
        )
    if failed:
        first = next(r for r in results if r["status"] != "ok")
        reason = (first["error"] or "").strip().splitlines()[-1:] or ["unknown"]
        print(f"error: {failed} of {len(results)} runs failed (first: {reason[0]}); "
              f"tracebacks in {out}/batch_results.json", file=sys.stderr)
    return 1 if failed else 0


def check_args(args: argparse.Namespace) -> None:
    """Options checked before anything runs: counts, seed, and an existing batch in `--out`."""
    from ..scenario import ScenarioError

    if args.replications < 1:
        raise ScenarioError(f"-n/--replications: {args.replications} (allowed: 1 or more runs per point)")
    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers: {args.workers} (allowed: 1 or more; leave it out for one per CPU)")
    most = 4 * (os.cpu_count() or 1)
    if args.workers is not None and args.workers > most and not args.scheduler:
        raise ScenarioError(f"--workers: {args.workers} local processes (allowed: 1 to {most}, 4 per CPU)")
    if args.seed is not None and args.seed < 0:
        raise ScenarioError(f"--seed: {args.seed} (allowed: 0 or more)")
    if args.scheduler and args.backend != "dask":
        raise ScenarioError(f"--scheduler: applies to --backend dask only (got --backend {args.backend})")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: is a file (allowed: a folder)")
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not getattr(args, "force", True):
        raise ScenarioError(
            f"--out {out}: already holds a batch ({', '.join(existing)}); "
            "add --force to overwrite it, or choose another --out"
        )


def check_show(show: list[str], known: tuple[str, ...]) -> None:
    from ..scenario import ScenarioError

    unknown = [name for name in show if name not in known]
    if unknown and known:
        raise ScenarioError(f"--show: unknown outcome {unknown[0]!r} (allowed: {', '.join(known)})")


MAX_RUNS = 1_000_000


def check_total(runs: int) -> None:
    """Every task is built up front; a batch of more runs than this would exhaust memory first."""
    from ..scenario import ScenarioError

    if runs > MAX_RUNS:
        raise ScenarioError(
            f"-n x sweep points: {runs:,} runs (allowed: up to {MAX_RUNS:,} per batch; split it by --seed)"
        )


def check_sweep(entry: Any, base: dict[str, Any], grid: dict[str, list[Any]], source: str) -> None:
    """Every swept path must exist in the world's resolved spec and may not be one the batch
    sets itself; then the spec is validated at every sweep point."""
    from ..scenario import ScenarioError

    for path in grid:
        head = path.split(".")[0]
        if head in entry.fixed:
            raise ScenarioError(
                f"sweep: {path}: has no effect ({entry.fixed[head]}; allowed: any other {entry.name} key)"
            )
        if head not in base:
            allowed = ", ".join(k for k in base if k not in entry.fixed)
            raise ScenarioError(f"sweep: {path}: unknown {entry.name} key {head!r} (allowed: {allowed})")
    check_points(base, grid, source, entry.parser())


def check_points(base: dict, grid: dict, source: str, parse: Any = None) -> None:
    """Validate the spec at every sweep point before any run starts, so a bad value is one
    error line instead of every run failing (`parse`: the world's, default infra's)."""
    from ..scenario import ScenarioError
    from .tasks import apply_overrides, grid_points

    if parse is None:
        from ..infra.scenario import parse_scenario as parse
    for point in grid_points(grid):
        where = ", ".join(f"{k}={v!r}" for k, v in point.items())
        try:
            parse(apply_overrides(base, point), f"{source} at sweep point {where}")
        except KeyError as exc:
            raise ScenarioError(f"sweep: {exc.args[0]}") from None


def register_cli(sub, commands) -> None:
    from .worlds import spec_worlds

    p = sub.add_parser(
        "batch",
        help="replications or a parameter sweep of any world, with 95%% confidence intervals",
        description="Run N replications of a spec of any world (infra, finance, orchestration, "
        "ottochain_traffic; seeds derived up front from the master seed, so results never depend on "
        "the backend or worker count), optionally at every point of a Cartesian sweep. The world is "
        "the spec's top-level `world:` key, or --world, or detected from its keys. Failed runs are "
        "recorded with their traceback; the rest go on.",
    )
    p.add_argument("scenario", help="spec YAML of any world, e.g. scenarios/flood_overload.yaml")
    p.add_argument(
        "--world",
        choices=spec_worlds(),
        help="the spec's world (default: its `world:` key, or detected from its keys)",
    )
    p.add_argument(
        "-n", "--replications", type=int, default=20, help="runs per sweep point, 1 or more (default 20)"
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="sweep a dotted path of the world's spec, e.g. policy.intervention_delay=0,2,4,8 or "
        "faults.failure=0,0.1 (repeatable; list items by id, name or index)",
    )
    p.add_argument("--grid", help="YAML file of dotted paths (or nested keys) -> lists of values")
    p.add_argument(
        "--backend",
        choices=("serial", "processes", "dask"),
        default="serial",
        help="where the runs go: serial (this process), processes (a local pool) or dask "
        "(a local cluster, or --scheduler); results are identical on each (default serial)",
    )
    p.add_argument("--workers", type=int, help="worker processes, 1 or more (default: one per CPU)")
    p.add_argument(
        "--scheduler", help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: local cluster)"
    )
    p.add_argument("--seed", type=int, help="master seed, 0 or more (default: the spec's)")
    p.add_argument("--out", default="results/batch", help="output folder (default results/batch)")
    p.add_argument("--force", action="store_true", help="overwrite a batch already in --out")
    p.add_argument(
        "--show",
        help="outcomes to print, comma separated (default: the world's headline outcomes, e.g. "
        "cascade,unmet_demand,services_failed,collapse for infra)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    p.set_defaults(handler=cmd_batch)
    commands["batch"] = cmd_batch
