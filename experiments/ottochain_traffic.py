"""OttoChain traffic study: an evolving population in the fixed and upstream modes, and the
bridge under outages of 10%, 30% and 60% of the time.

    python -m experiments.ottochain_traffic [--population 200] [--generations 10]
        [--outage-population 40] [--outage-generations 3] [--backend processes] [--out DIR]

1. `--population` agents for `--generations` generations in the fixed mode (resumable run
   folder OUT/fixed with generations.csv, report.md, plots) and a shorter upstream run
   (OUT/upstream, a third of the generations): completion, attestations, fitness, population.
2. The outage sweep as `simulator.batch` tasks (sweep of `bridge.outage_fraction`, one
   replication per point, run with `--backend`): completion, bridge failures, duplicates
   dropped, transitions lost and applied twice (counted from each run's record).
Writes OUT/ottochain_traffic.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.arguments import at_least, folder
from simulator.batch.executors import run_batch
from simulator.batch.tasks import sweep_tasks
from simulator.ottochain.traffic import run_traffic, traffic_task
from simulator.ottochain.traffic_config import load_traffic
from simulator.ottochain.traffic_report import report
from simulator.runs import write_atomic
from simulator.scenario import ScenarioError

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "ottochain_traffic.yaml"
OUTAGES = [0.1, 0.3, 0.6]


def population_runs(args: argparse.Namespace, out: Path) -> list[str]:
    lines = [
        "## Population runs",
        "",
        "| mode | agents | generations | completion (mean) | attestations / agent / generation "
        "(first, mean) | attestations / agent, lifetime (last generation) "
        "| mean fitness first -> last fifth | population min / max | chain head |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, gens in (("fixed", args.generations), ("upstream", max(1, args.generations // 3))):
        cfg = load_traffic(SCENARIO, {"mode": mode, "population": args.population, "generations": gens})
        folder = out / mode
        summary = run_traffic(cfg, folder, resume=(folder / "traffic.sqlite").exists(), progress=True)
        report(summary, folder / "generations.csv", folder)
        import pandas as pd

        df = pd.read_csv(folder / "generations.csv")
        o = summary["outcomes"]
        lines.append(
            f"| {mode} | {args.population} | {gens} | {o['completion_mean']:.1%} | "
            f"{df['attestations_per_agent'].iloc[0]:.2f}, {df['attestations_per_agent'].mean():.2f} | "
            f"{df['attestations_lifetime_per_agent'].iloc[-1]:.2f} | "
            f"{o['fitness_first_fifth']} -> {o['fitness_last_fifth']} | "
            f"{o['population_min']} / {o['population_max']} | `{summary['chain_head'][:16]}` |"
        )
    return lines


def outage_sweep(args: argparse.Namespace, out: Path) -> list[str]:
    base = load_traffic(
        SCENARIO, {"population": args.outage_population, "generations": args.outage_generations}
    )
    params = {"scenario": base.model_dump(mode="json"), "out": str(out / "outages")}
    tasks = sweep_tasks(
        params, {"scenario.bridge.outage_fraction": [0.0, *OUTAGES]}, 1, master_seed=base.seed
    )
    results = run_batch(traffic_task, tasks, args.backend, workers=args.workers, progress=True)
    lines = [
        "## Bridge outages",
        "",
        f"{args.outage_population} agents, {args.outage_generations} generations per point, "
        f"outages centred in each {base.bridge.outage_period:g} s period, plus error rate "
        f"{base.bridge.error_rate} and lost-answer rate {base.bridge.timeout_rate}.",
        "",
        "| outage | completion (mean) | bridge failures | retries dropped as duplicates "
        "| lost | applied twice | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        o = r["outcomes"]
        frac = r["overrides"]["scenario.bridge.outage_fraction"]
        if r["status"] != "ok":
            lines.append(f"| {frac:.0%} | | | | | | failed: {r['error']} |")
            continue
        lines.append(
            f"| {frac:.0%} | {o['completion_mean']:.1%} | {o['bridge_failures']:.0f} | "
            f"{o['duplicates']:.0f} | "
            f"{o['lost']:.0f} | {o['double_applied']:.0f} | ok |"
        )
    (out / "outages.json").write_text(json.dumps(results, indent=2, default=str))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=200, help="agents, >= 4")
    ap.add_argument("--generations", type=int, default=10, help=">= 1")
    ap.add_argument("--outage-population", type=int, default=40, help="agents per outage run, >= 4")
    ap.add_argument("--outage-generations", type=int, default=3, help=">= 1")
    ap.add_argument("--backend", default="processes", choices=("serial", "processes", "dask"))
    ap.add_argument("--workers", type=int, default=2, help=">= 1")
    ap.add_argument("--skip-population", action="store_true", help="only the outage sweep")
    ap.add_argument("--out", default="results/ottochain_traffic_study")
    args = ap.parse_args(argv)
    at_least(ap, args, workers=1)
    folder(ap, args, "out")
    checks = {  # the scenario's own checks of every run's settings, before the first run
        "--population": ("population", args.population),
        "--generations": ("generations", args.generations),
        "--outage-population": ("population", args.outage_population),
        "--outage-generations": ("generations", args.outage_generations),
    }
    for flag, (key, value) in checks.items():
        try:
            load_traffic(SCENARIO, {key: value})
        except ScenarioError as exc:
            ap.error(f"{flag}: {str(exc).replace(f'{SCENARIO}: ', '', 1)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# OttoChain traffic study", ""]
    if not args.skip_population:
        lines += population_runs(args, out) + [""]
    lines += outage_sweep(args, out) + [""]
    write_atomic(out / "ottochain_traffic.md", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
