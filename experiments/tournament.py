"""Batch tournament experiments: play a tournament spec (default: the classic IPD round robin)
through the batch layer, or evolve its field over generations.

    python -m experiments.tournament                                   # scenarios/tournament_ipd.yaml
    python -m experiments.tournament --spec scenarios/tournament_trading.yaml --backend processes
    python -m experiments.tournament --spec scenarios/tournament_swiss.yaml --evolve 4

Writes matches.csv, standings.csv, standings.md, summary.json and the plots (ranking,
pairwise score heatmap, Elo over matches) into --out; results and standings go to --db. With
--evolve N, each generation is a tournament in <out>/gen-NNN and <out>/evolution.json is the
checkpoint (--resume continues either kind of run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.arguments import at_least
from simulator.scenario import ScenarioError
from simulator.store import Store, StoreError
from simulator.tournament.cli import DEFAULT_DB, check_spec
from simulator.tournament.evolution import evolve
from simulator.tournament.games import BatchOptions
from simulator.tournament.runner import run_tournament
from simulator.tournament.spec import load_spec

SPEC = Path(__file__).resolve().parent.parent / "scenarios" / "tournament_ipd.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.tournament", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(SPEC))
    parser.add_argument("--out", default="results/tournament")
    parser.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial")
    parser.add_argument("--workers", type=int, help=">= 1 (default: one per CPU)")
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--evolve", type=int, metavar="GENERATIONS", help="generational tournament of GENERATIONS >= 1"
    )
    args = parser.parse_args(argv)
    at_least(parser, args, workers=1, evolve=1)
    try:
        spec = load_spec(args.spec)
        check_spec(spec, args.db, args.spec)
        options = BatchOptions(args.backend, args.workers, progress=True)
        with Store(args.db) as store:
            if args.evolve:
                for g in evolve(spec, Path(args.out), store, args.evolve, options,
                                resume=args.resume, source=args.spec):
                    print(f"generation {g['generation']}: leader {g['leader']}")
                return 0
            result = run_tournament(spec, Path(args.out), options, resume=args.resume, store=store,
                                    source=args.spec)
    except (ScenarioError, StoreError) as exc:  # a bad spec, --db or --out: one line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((Path(args.out) / "standings.md").read_text())
    print(f"{len(result.rows)} rows -> {args.out}/matches.csv, standings.csv, standings.md, plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
