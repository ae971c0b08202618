"""`simulator orchestrate SPEC.yaml --out DIR`: one run folder, or replications and sweeps
of the spec as `simulator.batch` tasks on serial, processes or Dask."""

from __future__ import annotations

import argparse
from pathlib import Path


def _overrides(pairs: list[str]) -> dict:
    import yaml

    from ..scenario import ScenarioError

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ScenarioError(f"--set {pair!r}: expected KEY=VALUE, e.g. faults.failure=0.1")
        key, value = pair.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def cmd_orchestrate(args: argparse.Namespace) -> int:
    from ..scenario import ScenarioError
    from .spec import load_spec

    if args.replications < 1:
        raise ScenarioError(f"-n/--replications must be >= 1, got {args.replications}")
    overrides = _overrides(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    spec = load_spec(args.spec, overrides)
    out = Path(args.out)
    if args.replications == 1 and not args.sweep:
        from .run import run_spec

        summary = run_spec(spec, out)
        o = summary["outcomes"]
        if not args.quiet:
            print(
                f"{spec.name}: {int(o['finished'])}/{int(o['tasks'])} tasks finished, "
                f"{o['success_rate']:.1%} succeeded; makespan p50 {o['makespan_p50']:.3g}, "
                f"p95 {o['makespan_p95']:.3g}; {o['messages_per_task']:.3g} messages per task; "
                f"{int(o['events']):,} events"
            )
            ended = [
                (k[len("ended_") :].replace("_", " "), int(v)) for k, v in o.items() if k.startswith("ended_")
            ]
            print("ended: " + ", ".join(f"{reason} {n}" for reason, n in ended if n))
            print(f"chain head {summary['chain_head']}")
            print(
                f"wrote {out}/transcript.jsonl, metrics.csv, tasks.csv, summary.json, "
                "makespan.png, agents.png"
            )
        return 0

    from ..batch.cli import BatchOptions, check_args, read_grid, run_world
    from ..batch.worlds import get_world

    # replications and sweeps go through `simulator batch`'s path: the same checks and files
    check_args(args)
    grid = read_grid(args.sweep, None)
    return run_world(
        get_world("orchestration"), spec.model_dump(mode="json"), spec.seed, args.spec, grid,
        BatchOptions.from_args(args),
    )


def register_cli(sub, commands) -> None:
    p = sub.add_parser(
        "orchestrate",
        help="run agent orchestration patterns over a task stream, with agent faults",
        description="Run a team of simulated agents through a tree of orchestration patterns "
        "(sequential, concurrent, group_chat, handoff, magentic) over a Poisson task stream. Writes "
        "transcript.jsonl, metrics.csv (verifiable with `simulator verify`), tasks.csv, summary.json and "
        "plots; with -n or --sweep, runs replications/sweeps as batch tasks instead.",
    )
    p.add_argument("spec", help="orchestration spec YAML, e.g. scenarios/orchestration_desk.yaml")
    p.add_argument(
        "--out", default="results/orchestration", help="output folder (default results/orchestration)"
    )
    p.add_argument("--seed", type=int, help="override the spec's master seed")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec value by dotted path, e.g. faults.failure=0.1",
    )
    p.add_argument(
        "-n", "--replications", type=int, default=1, help="replications per point (default 1: one run)"
    )
    p.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="sweep a dotted path, e.g. faults.failure=0,0.1,0.3 (repeatable)",
    )
    p.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial")
    p.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    p.add_argument("--scheduler", help="dask scheduler address (default: a local cluster)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_orchestrate)
    commands["orchestrate"] = cmd_orchestrate
