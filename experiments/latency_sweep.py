"""Where does coordination collapse? Sweep the policy maker's intervention delay.

    python -m experiments.latency_sweep [--replications 60] [--backend processes] [--out DIR]

For each delay, N replications of scenarios/flood_overload.yaml (seeds derived up front from
the master seed): the probability of a cascade and of collapse (not recovered by the end),
with Wilson 95% intervals, and the unmet demand with Student-t 95% intervals. Writes
summary.csv, latency_sweep.png and latency_sweep.md into the output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from simulator.batch import summarise, sweep, write_json
from simulator.infra.replicate import run_outcomes
from simulator.infra.scenario import load_scenario
from simulator.runs import write_atomic

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "flood_overload.yaml"
DELAYS = [0, 1, 2, 3, 4, 6, 8, 12, 16]
PATH = "policy.intervention_delay"


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for name, colour in (("cascade", "tab:orange"), ("collapse", "tab:red")):
        rows = table[table["outcome"] == name]
        left.plot(rows[PATH], rows["mean"], "o-", color=colour, label=f"P({name})")
        left.fill_between(rows[PATH], rows["ci_low"], rows["ci_high"], color=colour, alpha=0.2)
    left.set(xlabel="intervention delay", ylabel="probability (95% Wilson CI)", ylim=(-0.02, 1.02))
    left.legend()
    rows = table[table["outcome"] == "unmet_demand"]
    right.plot(rows[PATH], rows["mean"], "o-", color="tab:blue")
    right.fill_between(rows[PATH], rows["ci_low"], rows["ci_high"], color="tab:blue", alpha=0.2)
    right.set(xlabel="intervention delay", ylabel="unmet demand, requests (95% t CI)")
    fig.suptitle("flood_overload: the cost of institutional latency")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def collapse_point(table: pd.DataFrame, level: float = 0.25) -> float | None:
    """The smallest delay whose collapse probability is above `level` with 95% confidence."""
    rows = table[(table["outcome"] == "collapse") & (table["ci_low"] > level)]
    return None if rows.empty else float(rows[PATH].min())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=60)
    parser.add_argument("--delays", default=",".join(map(str, DELAYS)))
    parser.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", default="results/latency_sweep")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    delays = [float(x) for x in args.delays.split(",")]
    base = load_scenario(str(SCENARIO)).model_dump(mode="json")
    results = sweep(
        run_outcomes,
        base,
        {PATH: delays},
        args.replications,
        args.seed,
        backend=args.backend,
        workers=args.workers,
        progress=not args.quiet,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(results, out / "results.json")
    table = summarise(
        results,
        ["cascade", "collapse", "unmet_demand", "cascade_failures"],
        proportions=["cascade", "collapse"],
    )
    table.to_csv(out / "summary.csv", index=False)
    plot(table, out / "latency_sweep.png")
    point = collapse_point(table)
    wide = table.pivot(index=PATH, columns="outcome", values="mean")
    lines = [
        "# Intervention delay sweep (flood_overload)",
        "",
        f"{args.replications} replications per delay, master seed {args.seed}; "
        f"{sum(r['status'] != 'ok' for r in results)} failed runs.",
        "",
        "| delay | P(cascade) | P(collapse) [95% CI] | unmet demand [95% CI] |",
        "|---|---|---|---|",
    ]
    for delay in delays:
        c = table[(table[PATH] == delay) & (table["outcome"] == "collapse")].iloc[0]
        u = table[(table[PATH] == delay) & (table["outcome"] == "unmet_demand")].iloc[0]
        lines.append(
            f"| {delay:g} | {wide.at[delay, 'cascade']:.2f} | {c['mean']:.2f} [{c['ci_low']:.2f}, "
            f"{c['ci_high']:.2f}] | {u['mean']:.1f} [{u['ci_low']:.1f}, {u['ci_high']:.1f}] |"
        )
    lines += [
        "",
        "![sweep](latency_sweep.png)",
        "",
        (
            f"Coordination collapses from a delay of {point:g}: from there the probability that the "
            "city has not recovered by the end exceeds 25% with 95% confidence."
            if point is not None
            else "Within the delays swept, the collapse probability never exceeded 25% with 95% confidence."
        ),
        "",
    ]
    write_atomic(out / "latency_sweep.md", "\n".join(lines))
    if not args.quiet:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
