"""`simulator report <run folder> [--what-if KEY=VALUE ...]`."""

from __future__ import annotations

import argparse


def cmd_report(args: argparse.Namespace) -> int:
    from ..runs import rerun_infra
    from ..scenario import ScenarioError
    from .report import build_report
    from .run_data import AnalysisError

    quiet = getattr(args, "quiet", False)
    try:
        path = build_report(args.folder, getattr(args, "what_if", None) or (), rerun_infra, quiet=quiet)
    except AnalysisError as exc:
        raise ScenarioError(str(exc)) from None
    if not quiet:
        print(f"wrote {path}, failure_analysis.json and its plots")
    return 0


def register_cli(sub, commands) -> None:
    report = sub.add_parser(
        "report",
        help="write failure_analysis.md (+ .json, plots) for a run folder",
        description="Post-mortem of a recorded infra run: failure episodes, the causal "
        "cascade from the cause links, policy dynamics, the services and dependencies ranked "
        "by the damage they did, optional what-if replays, an untrained GAT compared with "
        "the truth, PNG plots.",
        epilog="example: simulator report results/city --what-if policy.intervention_delay=0 "
        "--what-if services.d0_water.capacity=60",
    )
    report.add_argument("folder", help="run folder with metrics.csv and summary.json")
    report.add_argument(
        "--what-if",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="re-run the recorded scenario with this change (dotted path; list items by index or id, "
        "e.g. services.d0_water.capacity=60), same seed and named random streams, and table its "
        "outcomes beside the recorded run; repeat for several (each alone, then all together)",
    )
    report.add_argument(
        "--quiet", action="store_true", help="no progress bar and no closing line (errors still go to stderr)"
    )
    report.set_defaults(handler=cmd_report)
    commands["report"] = cmd_report
