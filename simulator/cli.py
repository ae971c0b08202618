"""The `simulator` command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .scenario import ScenarioError

EPILOG = """examples:
  simulator run scenarios/flood_overload.yaml            trace + results/metrics.csv + summary.json
  simulator run scenarios/flood_city.yaml --out results/city --quiet
  simulator report results/city                          failure_analysis.md + plots for a run
  simulator verify results/                              re-run and compare record by record
  simulator batch scenarios/flood_overload.yaml -n 50 --sweep policy.intervention_delay=0,4,8 \\
      --backend processes
  simulator finance-run scenarios/finance_momentum.yaml  strategy over S&P 500 history, SQLite checkpoints
  simulator replay sim-000001 --from 40                  replay from a checkpoint, validate the chain
  simulator orchestrate scenarios/orchestration_desk.yaml  agent teams in five patterns, with faults

Run `simulator COMMAND --help` for each command's options.
"""


def _overrides(pairs: list[str]) -> dict:
    import yaml

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ScenarioError(f"--set {pair!r}: expected KEY=VALUE, e.g. policy.intervention_delay=5")
        key, value = pair.split("=", 1)
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ScenarioError(f"--set {pair!r}: the value is not valid YAML ({problem})") from None
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from .infra.run import run_scenario
    from .infra.scenario import load_scenario

    overrides = _overrides(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.until is not None:
        overrides["until"] = args.until
    scenario = load_scenario(args.scenario, overrides)
    summary = run_scenario(scenario, args.out, trace=args.trace, quiet=args.quiet)
    o = summary["outcomes"]
    if not args.quiet:
        print(
            f"\n{summary['scenario']}: {o['events']:,} events to t={o['end_time']:g}; "
            f"{o['services_failed']} services failed, {o['services_overloaded']} stressed, "
            f"cascade={'yes' if o['cascade'] else 'no'}, unmet demand {o['unmet_demand']:,} "
            f"({o['unmet_share']:.1%}), recovered={'yes' if o['recovered'] else 'no'}"
        )
        print(f"chain head {summary['chain_head']}")
        print(f"wrote {Path(args.out) / 'metrics.csv'} and {Path(args.out) / 'summary.json'}")
    if args.report:
        report_cmd = COMMANDS.get("report")
        if report_cmd is not None:
            return report_cmd(argparse.Namespace(folder=args.out, quiet=args.quiet))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .engine import chain_of_file
    from .infra.run import check_metrics, read_summary

    folder = Path(args.folder)
    if not folder.is_dir():
        raise ScenarioError(f"{folder}: no such run folder")
    for name in ("summary.json", "metrics.csv"):
        if not (folder / name).is_file():
            raise ScenarioError(f"{folder}: missing {name}; is this a run folder?")
    summary = read_summary(folder)
    recorded = summary.get("chain_head")
    check_metrics(folder / "metrics.csv")
    head, count = chain_of_file(folder / "metrics.csv")
    agrees = "matches" if head == recorded else "DIFFERS FROM"
    print(f"file chain: {count:,} records, head {head} ({agrees} summary.json)")
    if summary.get("world") == "orchestration":
        from .orchestration.run import validate_run as replay_orchestration

        report = replay_orchestration(folder)
    else:
        from .infra.run import validate_run

        report = validate_run(folder, progress=not args.quiet)
    keys = ("valid", "original_count", "replay_count", "first_mismatch")
    print(json.dumps({k: report[k] for k in keys}, indent=2))
    mismatch = report["first_mismatch"]
    if mismatch and not args.quiet:
        entity = f", {mismatch['entity']}" if mismatch.get("entity") else ""
        column = f", column {mismatch['column']}" if mismatch.get("column") else ""
        print(f"first difference: record {mismatch['seq']}{entity}{column}")
    return 0 if report["valid"] and head == recorded else 1


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulator",
        description="Deterministic multi-agent stress simulator: same scenario and seed, "
        "byte-identical metrics and the same hash-chain head.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run a scenario YAML and write metrics.csv + summary.json",
        description="Run a scenario; print its trace; write <out>/metrics.csv "
        "(one record per applied event) and <out>/summary.json.",
    )
    run.add_argument("scenario", help="scenario YAML file, e.g. scenarios/flood_overload.yaml")
    run.add_argument("--seed", type=int, help="override the scenario's master seed")
    run.add_argument("--until", type=float, help="override the scenario's end time")
    run.add_argument("--out", default="results", help="run folder (default: results/)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value by dotted path, e.g. policy.intervention_delay=5",
    )
    run.add_argument("--quiet", action="store_true", help="no trace, no progress bar, no summary line")
    trace = run.add_mutually_exclusive_group()
    trace.add_argument(
        "--trace",
        dest="trace",
        action="store_true",
        default=None,
        help="print every applied event (default: the scenario's recording.trace)",
    )
    trace.add_argument("--no-trace", dest="trace", action="store_false", help="do not print the trace")
    run.add_argument("--report", action="store_true", help="also write failure_analysis.md")
    run.set_defaults(handler=cmd_run)
    COMMANDS["run"] = cmd_run

    verify = sub.add_parser(
        "verify",
        help="replay a run folder and name the first differing record",
        description="Check a run folder: recompute the hash chain of its "
        "metrics.csv, re-run its scenario and compare record by record.",
    )
    verify.add_argument("folder", help="a run folder holding metrics.csv and summary.json")
    verify.add_argument("--quiet", action="store_true", help="no progress bar while the run is replayed")
    verify.set_defaults(handler=cmd_verify)
    COMMANDS["verify"] = cmd_verify

    for register in _plugins():
        register(sub, COMMANDS)
    return parser


def _plugins() -> list[Callable]:
    """Commands contributed by other parts (report, batch, finance), when present."""
    found = []
    for module in (
        "simulator.analysis.cli",
        "simulator.batch.cli",
        "simulator.finance.cli",
        "simulator.ottochain.cli",
        "simulator.tournament.cli",
        "simulator.orchestration.cli",
        "simulator.schema",
    ):
        try:
            mod = __import__(module, fromlist=["register_cli"])
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        found.append(mod.register_cli)
    return found


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so outputs are cleaned up as for Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return _handle(args)
    finally:
        if in_main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _handle(args: argparse.Namespace) -> int:
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `simulator run ... | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt as exc:
        why = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"{why}: completed outputs are left as they were", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except Exception as exc:
        from .engine.recorder import RecorderError  # loaded already if a recorder failed

        if not isinstance(exc, OSError | RecorderError):
            raise
        # a disk full, a folder that cannot be made, ...; a recorder's message ends with its cause
        reason = str(exc).strip().splitlines()[-1]
        print(f"error: {reason} (completed outputs are left as they were)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
