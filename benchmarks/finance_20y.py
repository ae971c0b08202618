"""Benchmark: a 20-year daily finance run (S&P 500 1999-2018, ~5,000 trading days x 6 phases),
one checkpoint per phase written to SQLite in WAL mode. Target: under 30 s.

    python -m benchmarks.finance_20y [--repeats 3] [--strategy momentum] [--batch 500]

Prints the median wall time of the whole run (world, services, executor, checkpoints and
SQLite), the checkpoint write rate, the time spent inside SQLite transactions, and a replay
check of the last run from a checkpoint near the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from experiments.arguments import at_least
from simulator.finance import STRATEGIES, SimulationRuntime, load_market, parse_config, replay_simulation
from simulator.store import Store

from .common import median_time


def config(strategy: str, batch: int):
    return parse_config(
        {
            "name": "bench-20y",
            "seed": 20,
            "initial_capital": 1_000_000,
            "market": {"symbols": ["sp500"], "start": "1999-01-04", "end": "2018-12-31"},
            "strategy": {"name": strategy},
            "services": {
                "payments": {"failure_rate": 0.02, "fee_rate": 0.0005},
                "compliance": {"approval_rate": 0.98},
                "exchange": {"reject_rate": 0.02, "slippage_jitter_bps": 2},
            },
            "executor": {"checkpoint_batch": batch},
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.finance_20y", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs, >= 1 (default 3)")
    parser.add_argument("--strategy", default="momentum", choices=sorted(STRATEGIES))
    parser.add_argument("--batch", type=int, default=500, help="checkpoints per SQLite transaction, >= 1")
    args = parser.parse_args(argv)
    at_least(parser, args, repeats=1, batch=1)
    cfg = config(args.strategy, args.batch)
    market = load_market(cfg)
    with tempfile.TemporaryDirectory(prefix="finance_20y_") as tmp:
        folder = Path(tmp)
        runs: list[dict] = []

        def one_run() -> None:
            path = folder / f"run{len(runs)}.sqlite"
            with Store(path) as store:
                sql = [0.0]
                save = store.save_checkpoints

                def timed_save(rows):
                    t = time.perf_counter()
                    save(rows)
                    sql[0] += time.perf_counter() - t

                store.save_checkpoints = timed_save  # type: ignore[method-assign]
                outcome = SimulationRuntime(store).run(cfg, market=market)
            runs.append({"path": path, "outcome": outcome, "sql": sql[0]})

        median, times = median_time(one_run, args.repeats)
        last = runs[-1]["outcome"]
        r = last.result
        n = r.checkpoints
        sql = statistics.median(run["sql"] for run in runs[1:])
        size = runs[-1]["path"].stat().st_size / 2**20
        print(f"finance 20y: {args.strategy} on sp500 {market.window[0]} .. {market.window[1]}")
        print(f"  trading days           {r.cycles:,}  x 6 phases = {n:,} checkpoints (batch {args.batch})")
        print(f"  events applied         {_events(runs[-1]['path'], last.simulation_id):,} (kernel records)")
        each = ", ".join(f"{t:.2f}" for t in times)
        print(f"  wall time (median)     {median:.2f} s   runs: {each}  (target < 30 s)")
        print(f"  checkpoint write rate  {n / median:,.0f} checkpoints/s end to end")
        print(f"  inside SQLite          {sql:.2f} s  ({n / sql:,.0f} rows/s), database {size:.0f} MiB (WAL)")
        print(
            f"  outcome                roi {r.roi:+.2%}, sharpe {r.sharpe_ratio:.2f}, "
            f"max drawdown {r.max_drawdown:.2%}, {r.total_trades} trades, chain head {r.chain_head[:16]}"
        )
        with Store(runs[-1]["path"]) as store:
            t = time.perf_counter()
            report = replay_simulation(store, last.simulation_id, n - 601)
            took = time.perf_counter() - t
            print(
                f"  replay last 100 days   valid={report.valid} ({report.rerun_count} phases in {took:.2f} s)"
            )
        return 0 if report.valid else 1


def _events(path: Path, simulation_id: str) -> int:
    with Store.reader(path) as store:
        return int(store.get_checkpoint(simulation_id, -1).payload()["kernel"]["seq"])


if __name__ == "__main__":
    raise SystemExit(main())
