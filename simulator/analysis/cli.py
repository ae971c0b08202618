"""`simulator report <run folder>`."""

from __future__ import annotations

import argparse


def cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report
    from .run_data import AnalysisError

    try:
        path = build_report(args.folder)
    except AnalysisError as exc:
        from ..scenario import ScenarioError

        raise ScenarioError(str(exc)) from None
    if not getattr(args, "quiet", False):
        print(f"wrote {path} with its plots")
    return 0


def register_cli(sub, commands) -> None:
    report = sub.add_parser(
        "report",
        help="write failure_analysis.md (+ plots) for a run folder",
        description="Post-mortem of a recorded infra run: failure episodes, the causal "
        "cascade from the cause links, policy dynamics, an untrained GAT compared with "
        "the truth, PNG plots.",
    )
    report.add_argument("folder", help="run folder with metrics.csv and summary.json")
    report.add_argument("--quiet", action="store_true")
    report.set_defaults(handler=cmd_report)
    commands["report"] = cmd_report
