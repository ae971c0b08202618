"""The reference run: `python -m experiments.flood_overload`.

Runs scenarios/flood_overload.yaml, prints the trace, writes results/metrics.csv and
results/summary.json, then the post-mortem results/failure_analysis.md with its plots.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.arguments import folder
from simulator.cli import main as cli_main

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "flood_overload.yaml"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m experiments.flood_overload",
        description="The reference flood: three services, one citizen group, an agency and a "
        "policy maker. Prints the trace, writes <out>/metrics.csv and <out>/summary.json, then "
        "the post-mortem <out>/failure_analysis.md with its plots. The same as "
        "`simulator run scenarios/flood_overload.yaml --report`.",
    )
    p.add_argument("--out", default="results", help="run folder (default: results/)")
    p.add_argument("--seed", type=int, help="master seed, 0 or more (default: the scenario's, 42)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value by dotted path, e.g. policy.intervention_delay=5 (repeatable)",
    )
    p.add_argument("--no-trace", action="store_true", help="do not print every applied event")
    p.add_argument("--quiet", action="store_true", help="no trace, no progress, no summary lines")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    folder(p, args, "out")
    forwarded = ["run", str(SCENARIO), "--report", "--out", args.out]
    if args.seed is not None:
        forwarded += ["--seed", str(args.seed)]
    for pair in args.set:
        forwarded += ["--set", pair]
    if args.no_trace:
        forwarded.append("--no-trace")
    if args.quiet:
        forwarded.append("--quiet")
    return cli_main(forwarded)


if __name__ == "__main__":
    sys.exit(main())
