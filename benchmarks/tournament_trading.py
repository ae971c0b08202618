"""A 64-strategy round robin of the trading game on one year of daily S&P 500 data.
Target: under 30 s.

    python -m benchmarks.tournament_trading [--players 64] [--year 2010] [--backend serial]

The 64 players are parameter variants of the finance strategies (momentum lookbacks, moving-
average pairs, mean-reversion windows, ...). Each strategy's year is simulated once through
the 6-phase executor (64 simulations, not 64^2) and reused in its 63 matches; the timed region
covers the whole tournament: the runs, the 2,016 matches, Elo and openskill standings and the
output files (plots excluded). The arch data set is loaded once before timing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from experiments.arguments import at_least
from simulator.finance import MarketDataError, load_market, parse_config
from simulator.tournament.errors import TournamentError
from simulator.tournament.games import BatchOptions
from simulator.tournament.runner import run_tournament
from simulator.tournament.spec import parse_spec


def variants() -> list[tuple[str, dict[str, Any]]]:
    """Every strategy variant a player can be: (finance strategy, parameters)."""
    variants: list[tuple[str, dict[str, Any]]] = []
    for lookback in (5, 10, 20, 40, 60, 90, 120, 180, 250):
        variants.append(("momentum", {"lookback": lookback}))
        variants.append(("momentum", {"lookback": lookback, "short": True}))
        variants.append(("momentum", {"lookback": lookback, "threshold": 0.02}))
    for fast, slow in ((5, 20), (10, 50), (20, 100), (50, 200), (10, 30), (5, 60), (30, 150)):
        variants.append(("ma_trend", {"fast": fast, "slow": slow}))
        variants.append(("vol_target_trend", {"fast": fast, "slow": slow}))
    for window in (5, 10, 20, 40, 60, 80):
        for entry in (1.0, 1.5, 2.0):
            variants.append(("mean_reversion", {"window": window, "entry_z": entry}))
    for weight in (0.25, 0.5, 0.75, 1.0):
        variants.append(("buy_and_hold", {"weight": weight}))
    for vol_window in (20, 60, 120):
        variants.append(("risk_parity", {"vol_window": vol_window}))
    return variants


def players(n: int) -> list[dict[str, Any]]:
    """`n` distinct strategy variants, cycling through the finance strategies."""
    return [{"name": f"{base}_{i:02d}", "strategy": base, "params": params}
            for i, (base, params) in enumerate(variants()[:n])]


def spec(n: int, year: int):
    window = {"symbols": ["sp500"], "start": f"{year}-01-01", "end": f"{year}-12-31"}
    return parse_spec({"name": f"trading-{n}", "seed": 1,
                       "game": {"type": "trading", "market": window},
                       "format": {"type": "round_robin"}, "players": players(n)})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tournament_trading", description=__doc__)
    most = len(variants())
    parser.add_argument("--players", type=int, default=64, help=f"strategy variants, 2 to {most}")
    parser.add_argument("--year", type=int, default=2010, help="2000-2018 (S&P 500 data)")
    parser.add_argument("--repeats", type=int, default=3, help=">= 1")
    parser.add_argument("--backend", default="serial", choices=("serial", "processes", "dask"))
    parser.add_argument("--workers", type=int, default=2, help=">= 1")
    args = parser.parse_args(argv)
    at_least(parser, args, repeats=1, workers=1)
    if not 2 <= args.players <= most:
        parser.error(f"--players must be 2 to {most}, got {args.players}")
    try:
        s = spec(args.players, args.year)
        load_market(parse_config({"market": s.game.market.model_dump(mode="json")}))  # warm the cache
    except (MarketDataError, TournamentError) as exc:
        parser.error(f"--year {args.year}: {exc}")
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = run_tournament(s, Path(tmp) / f"run{i}",
                                    BatchOptions(args.backend, args.workers), plots=False)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        first = (Path(tmp) / "run0" / "matches.csv").read_bytes()
        same = all((Path(tmp) / f"run{i}" / "matches.csv").read_bytes() == first
                   for i in range(args.repeats))
    games = len(result.rows)
    top = result.standings[0]
    print(f"{args.players} strategies, {args.year} ({args.backend}): {games} matches from "
          f"{args.players} simulations; median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)}); this process's CPU time "
          f"{statistics.median(cpu):.2f} s; identical outputs: {same}")
    print(f"leader {top['player']}: composite {top['composite']:.2f}, ROI {top['roi']:.2%}, "
          f"Sharpe {top['sharpe']:.2f}")


if __name__ == "__main__":
    main()
