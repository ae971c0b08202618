"""`simulator batch`: replications and sweeps of a scenario on serial, processes or Dask."""

from __future__ import annotations

import argparse
import os
import sys
from math import prod
from pathlib import Path

PROPORTIONS = ("cascade", "collapse")


def cmd_batch(args: argparse.Namespace) -> int:
    from ..scenario import ScenarioError
    from . import load_grid, parse_grid, replications, summarise, sweep, write_csv, write_json
    from .worlds import get_world

    check_args(args)
    world = get_world("infra")
    run_outcomes = world.run_fn()
    scenario = world.loader()(args.scenario)
    base = scenario.model_dump(mode="json")
    seed = scenario.seed if args.seed is None else args.seed
    try:
        grid = parse_grid(args.sweep) if args.sweep else {}
        if args.grid:
            from_file = load_grid(args.grid)
            twice = sorted(set(grid) & set(from_file))
            if twice:
                raise ValueError(f"{', '.join(twice)} given both by --sweep and in {args.grid}")
            grid.update(from_file)
    except (ValueError, OSError) as exc:
        raise ScenarioError(f"sweep: {exc}") from None
    options = {"scheduler": args.scheduler} if args.scheduler else {}
    common = dict(backend=args.backend, workers=args.workers, progress=not args.quiet, **options)
    if grid:
        for path in grid:  # fail fast on a path the scenario does not have
            head = path.split(".")[0]
            if head in ("seed", "recording"):
                why = "each run's seed comes from --seed" if head == "seed" else "batch runs record nothing"
                raise ScenarioError(f"sweep: {path}: has no effect ({why}; allowed: any other scenario key)")
            if head not in base:
                raise ScenarioError(f"sweep: {path}: unknown key {head!r} (allowed: {', '.join(base)})")
        check_points(base, grid, args.scenario)
        check_total(args.replications * prod(len(values) for values in grid.values()))
        results = sweep(run_outcomes, base, grid, args.replications, seed, **common)
    else:
        check_total(args.replications)
        results = replications(run_outcomes, base, args.replications, seed, **common)
    out = Path(args.out)
    write_json(results, out / "batch_results.json")
    write_csv(results, out / "batch_results.csv")
    table = summarise(results, proportions=PROPORTIONS)
    table.to_csv(out / "batch_summary.csv", index=False)
    failed = sum(r["status"] != "ok" for r in results)
    if not args.quiet:
        shown = table[table["outcome"].isin(args.show.split(","))]
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print(f"\n{len(results)} runs ({failed} failed) -> {out}/batch_results.json, batch_summary.csv")
    if failed:
        first = next(r for r in results if r["status"] != "ok")
        reason = (first["error"] or "").strip().splitlines()[-1:] or ["unknown"]
        print(f"error: {failed} of {len(results)} runs failed (first: {reason[0]}); "
              f"tracebacks in {out}/batch_results.json", file=sys.stderr)
    return 1 if failed else 0


OUTPUTS = ("batch_results.json", "batch_results.csv", "batch_summary.csv")


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
    from ..infra.replicate import NUMERIC

    known = (*NUMERIC, *PROPORTIONS, "first_failure_at", "end_time")
    unknown = [name for name in args.show.split(",") if name not in known]
    if unknown:
        raise ScenarioError(f"--show: unknown outcome {unknown[0]!r} (allowed: {', '.join(known)})")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {out}: is a file (allowed: a folder)")
    existing = [name for name in OUTPUTS if (out / name).exists()]
    if existing and not args.force:
        raise ScenarioError(
            f"--out {out}: already holds a batch ({', '.join(existing)}); "
            "add --force to overwrite it, or choose another --out"
        )


MAX_RUNS = 1_000_000


def check_total(runs: int) -> None:
    """Every task is built up front; a batch of more runs than this would exhaust memory first."""
    from ..scenario import ScenarioError

    if runs > MAX_RUNS:
        raise ScenarioError(
            f"-n x sweep points: {runs:,} runs (allowed: up to {MAX_RUNS:,} per batch; split it by --seed)"
        )


def check_points(base: dict, grid: dict, source: str) -> None:
    """Validate the scenario at every sweep point before any run starts, so a bad value is one
    error line instead of every run failing."""
    from ..infra.scenario import parse_scenario
    from ..scenario import ScenarioError
    from .tasks import apply_overrides, grid_points

    for point in grid_points(grid):
        where = ", ".join(f"{k}={v!r}" for k, v in point.items())
        try:
            parse_scenario(apply_overrides(base, point), f"{source} at sweep point {where}")
        except KeyError as exc:
            raise ScenarioError(f"sweep: {exc.args[0]}") from None


def register_cli(sub, commands) -> None:
    p = sub.add_parser(
        "batch",
        help="replications or a parameter sweep, with 95%% confidence intervals",
        description="Run N replications of a scenario (seeds derived up front from the master seed, "
        "so results never depend on the backend or worker count), optionally at every point of a "
        "Cartesian sweep. Failed runs are recorded with their traceback; the rest go on.",
    )
    p.add_argument("scenario", help="scenario YAML")
    p.add_argument(
        "-n", "--replications", type=int, default=20, help="runs per sweep point, 1 or more (default 20)"
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="sweep a dotted path, e.g. policy.intervention_delay=0,2,4,8 (repeatable)",
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
    p.add_argument("--seed", type=int, help="master seed, 0 or more (default: the scenario's)")
    p.add_argument("--out", default="results/batch", help="output folder (default results/batch)")
    p.add_argument("--force", action="store_true", help="overwrite a batch already in --out")
    p.add_argument(
        "--show",
        default="cascade,unmet_demand,services_failed,collapse",
        help="outcomes to print (comma separated)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    p.set_defaults(handler=cmd_batch)
    commands["batch"] = cmd_batch
