"""Finance commands for the `simulator` CLI: `finance-run`, `replay`, `finance-resume`,
`finance-list`, `finance-strategies`.

`register_cli(subparsers)` adds them to an argparse subparsers object; each sets
`handler=fn` (`fn(args) -> int` exit code: 0 ok, 1 replay invalid, 2 bad input). Standalone:
`python -m simulator.finance.cli finance-run scenarios/finance_momentum.yaml`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_DB = "results/finance.sqlite"

Handler = Callable[[argparse.Namespace], int]


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def _guarded(fn: Handler) -> Handler:
    """Bad input becomes `error: <one line>` on stderr and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        from ..store import StoreError
        from .errors import FinanceError

        try:
            return fn(args)
        except (FinanceError, StoreError) as exc:
            return _fail(exc)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def _value(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    from .errors import ConfigError

    out: dict[str, Any] = {}
    for pair in args.set:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. services.exchange.fee_rate=0.001")
        key, value = pair.split("=", 1)
        out[key] = _value(value)
    params = {}
    for pair in args.param:
        if "=" not in pair:
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE, e.g. lookback=20")
        key, value = pair.split("=", 1)
        params[key] = _value(value)
    if args.strategy:
        out["strategy.name"] = args.strategy
    if params:
        for key, value in params.items():
            out[f"strategy.params.{key}"] = value
    for flag, key in (
        ("seed", "seed"),
        ("capital", "initial_capital"),
        ("start", "market.start"),
        ("end", "market.end"),
        ("name", "name"),
    ):
        if getattr(args, flag) is not None:
            out[key] = getattr(args, flag)
    if args.symbol:
        out["market.symbols"] = list(args.symbol)
    return out


def _versions() -> dict[str, str]:
    import numpy
    import simpy

    from .. import __version__

    return {
        "simulator": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "simpy": simpy.__version__,
    }


def _out_dir(out: str | None, make: bool) -> Path | None:
    """The --out folder: checked (`make=False`) before anything is written, then made."""
    import os

    from .errors import ConfigError

    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {out}: is a file; --out takes a folder for metrics.csv and summary.json")
    ancestor = path
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"--out {out}: cannot make the folder: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK):
        raise ConfigError(f"--out {out}: cannot make the folder: {ancestor} is not writable")
    if make:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {out}: cannot make the folder: {exc.strerror or exc}") from None
    return path


def _progress(days: int, label: str, enabled: bool) -> tuple[Any, Callable[[Any], None] | None]:
    """A tqdm bar over trading days on stderr (none when stderr is not a terminal)."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=days, unit="day", desc=label, file=sys.stderr, disable=None)

    def tick(cp: Any) -> None:
        if cp.phase == "consolidate":
            bar.update(1)

    return bar, tick


@_guarded
def cmd_finance_run(args: argparse.Namespace) -> int:
    """Run a finance simulation from a config file and/or flags; checkpoints go to --db."""
    from ..engine import CsvSink
    from ..store import Store
    from .config import load_config, load_market, parse_config, set_path
    from .errors import ConfigError
    from .runtime import SimulationRuntime

    overrides = _overrides(args)
    if args.config:
        config = load_config(args.config, overrides)
    elif args.strategy:
        data: dict[str, Any] = {}
        for key, value in overrides.items():
            set_path(data, key, value)
        config = parse_config(data)
    else:
        raise ConfigError("finance-run: give a config file or --strategy NAME (see finance-strategies)")
    if args.out and not config.executor.record_events:
        raise ConfigError("--out writes the per-event metrics.csv: it needs executor.record_events: true")
    market = load_market(config)  # bad data or a bad window fails before anything is written
    _out_dir(args.out, make=False)
    with Store(args.db) as store:
        out = _out_dir(args.out, make=True)
        sinks = [CsvSink(out / "metrics.csv")] if out else []
        bar, tick = _progress(market.days, config.name, not (args.quiet or args.json))
        try:
            outcome = SimulationRuntime(store).run(config, sinks=sinks, market=market, on_checkpoint=tick)
        finally:
            if bar is not None:
                bar.close()
    r = outcome.result
    summary = {
        "world": "finance",
        "simulation_id": outcome.simulation_id,
        "status": outcome.status,
        "db": str(args.db),
        "seed": config.seed,
        "config": config.resolved(),
        "versions": _versions(),
        "chain_head": r.chain_head,
        "record_chain_head": r.record_chain_head,
        "outcomes": r.summary(),
    }
    if out:
        (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    elif not args.quiet:
        symbols = ", ".join(config.market.symbols)
        print(
            f"{outcome.simulation_id} {outcome.status}: {config.strategy.name} on {symbols}, "
            f"{r.cycles} days, {r.checkpoints} checkpoints; "
            f"capital {r.initial_capital:,.2f} -> {r.final_capital:,.2f} "
            f"(roi {r.roi:+.2%}, sharpe {r.sharpe_ratio:.2f}, max drawdown {r.max_drawdown:.2%}, "
            f"{r.total_trades} trades, win rate {r.win_rate:.0%}, fees {r.fees:,.2f})"
        )
        print(f"chain head {r.chain_head}  (db {args.db}; replay: simulator replay {outcome.simulation_id})")
    return 0


@_guarded
def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a stored simulation from the start or a checkpoint; exit 1 if the chain differs."""
    import re

    from ..store import Store
    from .errors import ConfigError
    from .replay import replay_simulation

    if args.head is not None and not re.fullmatch(r"[0-9a-f]{64}", args.head):
        raise ConfigError(f"--head {args.head!r}: expected a chain head, 64 hex digits (sha256)")

    with Store.reader(args.db) if args.read_only else Store.existing(args.db) as store:
        report = replay_simulation(store, args.simulation_id, args.from_checkpoint, args.head)
    print(json.dumps(report.as_dict(), indent=None if args.json else 2, sort_keys=False))
    return 0 if report.valid else 1


@_guarded
def cmd_finance_resume(args: argparse.Namespace) -> int:
    """Continue an interrupted or failed simulation from its last checkpoint."""
    from ..store import Store
    from .runtime import SimulationRuntime

    with Store.existing(args.db) as store:
        outcome = SimulationRuntime(store).resume(args.simulation_id)
    r = outcome.result
    print(f"{outcome.simulation_id} {outcome.status}: {r.checkpoints} checkpoints, chain head {r.chain_head}")
    return 0


@_guarded
def cmd_finance_list(args: argparse.Namespace) -> int:
    """List the simulations in a store with their status; a run whose process died is interrupted."""
    from ..store import Store

    with Store.reader(args.db) as store:
        rows = store.list_simulations()
    if args.json:
        print(json.dumps(rows, sort_keys=True))
        return 0
    for r in rows:
        final = f"{r['final_capital']:,.2f}" if r["final_capital"] is not None else "-"
        hint = f"  (simulator finance-resume {r['id']} --db {args.db})" if r["status"] in RESUMABLE else ""
        print(
            f"{r['id']}  {r['status']:<11} {r['checkpoints']:>7} checkpoints  seed {r['seed']}  "
            f"capital {r['initial_capital']:,.2f} -> {final}  {r['name'] or ''}{hint}"
        )
    return 0


RESUMABLE = ("interrupted", "failed")


@_guarded
def cmd_finance_strategies(args: argparse.Namespace) -> int:
    """List the strategies with their parameters and default risk profiles."""
    from .strategies import RISK_PROFILES, STRATEGIES

    if args.json:
        print(
            json.dumps(
                {
                    "strategies": [c.describe() for c in STRATEGIES.values()],
                    "risk_profiles": {k: v.model_dump() for k, v in RISK_PROFILES.items()},
                }
            )
        )
        return 0
    for cls in STRATEGIES.values():
        d = cls.describe()
        params = ", ".join(f"{k}={v['default']}" for k, v in d["parameters"].items())
        print(f"{d['name']:<18} [{d['risk_profile']}] {d['description']}\n{'':<18} {params}")
    return 0


def register_cli(subparsers: Any, commands: dict[str, Handler] | None = None) -> None:
    """Add the finance subcommands; each sets `handler` (and is listed in `commands` if given)."""
    run = subparsers.add_parser(
        "finance-run",
        help="run a finance simulation (strategy over market history) with SQLite checkpoints",
        description="Run a strategy through the 6-phase executor over real or synthetic market data; "
        "every phase ends in a checkpoint stored in --db. Flags override the config file's values; "
        "without a config file, --strategy is required and everything else has its default. "
        "A progress bar over trading days is shown on stderr when it is a terminal.",
    )
    run.add_argument("config", nargs="?", help="finance config YAML, e.g. scenarios/finance_momentum.yaml")
    run.add_argument(
        "--strategy", metavar="NAME", help="strategy name (see finance-strategies); overrides the config's"
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="strategy parameter, repeatable, e.g. --param lookback=20 --param short=true",
    )
    run.add_argument(
        "--symbol",
        action="append",
        metavar="SYMBOL",
        help="symbol to trade, repeatable: sp500, nasdaq, wti, vix or one the config defines (default sp500)",
    )
    run.add_argument("--start", metavar="YYYY-MM-DD", help="first trading date (default: the data's first)")
    run.add_argument("--end", metavar="YYYY-MM-DD", help="last trading date (default: the data's last)")
    run.add_argument("--capital", type=float, metavar="DOLLARS", help="initial capital (default 100000)")
    run.add_argument("--seed", type=int, metavar="N", help="master seed, >= 0 (default 0)")
    run.add_argument("--name", help="run name stored with the simulation (default 'finance')")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value by dotted path, repeatable, e.g. services.exchange.allow_short=true",
    )
    run.add_argument(
        "--db",
        default=DEFAULT_DB,
        metavar="PATH",
        help=f"SQLite store, created if missing (default {DEFAULT_DB})",
    )
    run.add_argument(
        "--out", metavar="DIR", help="also write DIR/metrics.csv (every event) and DIR/summary.json"
    )
    run.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object (no progress bar)"
    )
    run.add_argument("--quiet", action="store_true", help="print nothing on success (no progress bar)")
    run.set_defaults(handler=cmd_finance_run)

    replay = subparsers.add_parser(
        "replay",
        help="replay a stored finance simulation and validate its checkpoint chain",
        description="Restore a stored simulation (from the start or --from a checkpoint), re-run the "
        "remaining phases and compare the hash chain; the stored chain must also end in the head "
        "recorded for the run (and --head, if given). Prints valid, original_count, replay_count, "
        "first_mismatch and the reason. Exit 0 if valid, 1 if not, 2 on bad input.",
    )
    replay.add_argument("simulation_id", help="the simulation to replay, e.g. sim-000001 (see finance-list)")
    replay.add_argument(
        "--from",
        dest="from_checkpoint",
        metavar="CHECKPOINT",
        help="checkpoint index (42, -1 for the last) or id (sim-000001:000042); default: the start",
    )
    replay.add_argument(
        "--db", default=DEFAULT_DB, metavar="PATH", help=f"existing SQLite store (default {DEFAULT_DB})"
    )
    replay.add_argument(
        "--head",
        metavar="HASH",
        help="the chain head the run printed (or its summary.json holds); the stored chain must end in it",
    )
    replay.add_argument(
        "--read-only", action="store_true", help="open the store read-only (no replay event logged)"
    )
    replay.add_argument("--json", action="store_true", help="print the report as one line of JSON")
    replay.set_defaults(handler=cmd_replay)

    resume = subparsers.add_parser(
        "finance-resume",
        help="continue an interrupted finance simulation",
        description="Continue a stored simulation from its last checkpoint: one that was stopped, "
        "failed, or whose process was killed (finance-list shows it as interrupted). Its chain "
        "equals the uninterrupted run's. Refuses a run a live process still owns.",
    )
    resume.add_argument(
        "simulation_id", help="the simulation to continue, e.g. sim-000002 (see finance-list)"
    )
    resume.add_argument(
        "--db", default=DEFAULT_DB, metavar="PATH", help=f"existing SQLite store (default {DEFAULT_DB})"
    )
    resume.set_defaults(handler=cmd_finance_resume)

    listing = subparsers.add_parser(
        "finance-list",
        help="list the simulations in a finance store and their status",
        description="One line per stored simulation: id, status, checkpoints, seed, capital, name. "
        "A run left 'running' by a process that no longer exists (killed) shows as interrupted.",
    )
    listing.add_argument(
        "--db", default=DEFAULT_DB, metavar="PATH", help=f"existing SQLite store (default {DEFAULT_DB})"
    )
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    listing.set_defaults(handler=cmd_finance_list)

    strategies = subparsers.add_parser(
        "finance-strategies",
        help="list finance strategies and parameters",
        description="Every registered strategy with its description, default risk profile and "
        "parameters (name=default); set them with finance-run --param NAME=VALUE.",
    )
    strategies.add_argument("--json", action="store_true", help="print strategies and risk profiles as JSON")
    strategies.set_defaults(handler=cmd_finance_strategies)

    if commands is not None:
        commands.update(
            {
                "finance-run": cmd_finance_run,
                "replay": cmd_replay,
                "finance-resume": cmd_finance_resume,
                "finance-list": cmd_finance_list,
                "finance-strategies": cmd_finance_strategies,
            }
        )


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m simulator.finance.cli COMMAND ...`."""
    parser = argparse.ArgumentParser(prog="simulator", description="finance commands")
    register_cli(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
