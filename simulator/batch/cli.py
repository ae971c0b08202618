"""`simulator batch`: replications and sweeps of a scenario on serial, processes or Dask."""

from __future__ import annotations

import argparse
from pathlib import Path

PROPORTIONS = ("cascade", "collapse")


def cmd_batch(args: argparse.Namespace) -> int:
    from ..scenario import ScenarioError
    from . import load_grid, parse_grid, replications, summarise, sweep, write_csv, write_json
    from .worlds import get_world

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
            if head not in base:
                raise ScenarioError(f"sweep: {path}: unknown key {head!r} (allowed: {', '.join(base)})")
        results = sweep(run_outcomes, base, grid, args.replications, seed, **common)
    else:
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
    return 1 if failed else 0


def register_cli(sub, commands) -> None:
    p = sub.add_parser(
        "batch",
        help="replications or a parameter sweep, with 95%% confidence intervals",
        description="Run N replications of a scenario (seeds derived up front from the master seed, "
        "so results never depend on the backend or worker count), optionally at every point of a "
        "Cartesian sweep. Failed runs are recorded with their traceback; the rest go on.",
    )
    p.add_argument("scenario", help="scenario YAML")
    p.add_argument("-n", "--replications", type=int, default=20, help="replications per point (default 20)")
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="sweep a dotted path, e.g. policy.intervention_delay=0,2,4,8 (repeatable)",
    )
    p.add_argument("--grid", help="YAML file of dotted paths (or nested keys) -> lists of values")
    p.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial")
    p.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    p.add_argument(
        "--scheduler", help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: local cluster)"
    )
    p.add_argument("--seed", type=int, help="master seed (default: the scenario's)")
    p.add_argument("--out", default="results/batch", help="output folder (default results/batch)")
    p.add_argument(
        "--show",
        default="cascade,unmet_demand,services_failed,collapse",
        help="outcomes to print (comma separated)",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_batch)
    commands["batch"] = cmd_batch
