"""Five orchestration patterns on the same task stream under agent faults.

    python -m experiments.orchestration_stress [--replications 10] [--backend processes] [--out DIR]

Every pattern of scenarios/orchestration_stress.yaml is run as the root over the same tasks
and arrival times (common random numbers: replicate r has the same seed at every point) at
agent fault rates 0%, 10% and 30% (split evenly between reported failure, no answer and an
exception). Per run: success rate, makespan p50 and p95, messages per task; per point: the
mean over replications with a Student-t 95% interval. Writes summary.csv,
orchestration_stress.md and orchestration_stress.png into the output folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from experiments.arguments import at_least, folder
from simulator.batch import mean_ci, sweep, write_json
from simulator.orchestration.run import run_outcomes
from simulator.orchestration.spec import PATTERNS, load_spec
from simulator.runs import write_atomic

SPEC = Path(__file__).resolve().parent.parent / "scenarios" / "orchestration_stress.yaml"
RATES = (0.0, 0.1, 0.3)
OUTCOMES = ("success_rate", "makespan_p50", "makespan_p95", "messages_per_task")


def faults(rate: float) -> dict[str, float]:
    third = rate / 3
    return {"failure": third, "timeout": third, "exception": third}


def table(results: list[dict]) -> pd.DataFrame:
    rows = []
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in results:
        rate = round(sum(r["overrides"]["faults"].values()), 9)
        groups.setdefault((r["overrides"]["root"], rate), []).append(r)
    for (root, rate), group in groups.items():
        ok = [g for g in group if g["status"] == "ok"]
        for name in OUTCOMES:
            ci = mean_ci([g["outcomes"][name] for g in ok])
            if name == "success_rate":  # a rate's interval is clipped to [0, 1]
                ci = ci._replace(low=max(0.0, ci.low), high=min(1.0, ci.high))
            rows.append(
                {
                    "pattern": root,
                    "fault_rate": rate,
                    "outcome": name,
                    "n": len(ok),
                    "failed_runs": len(group) - len(ok),
                    "mean": ci.estimate,
                    "ci_low": ci.low,
                    "ci_high": ci.high,
                }
            )
    return pd.DataFrame(rows)


def plot(summary: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(16, 4))
    for ax, name in zip(axes, OUTCOMES, strict=True):
        for pattern in PATTERNS:
            rows = summary[(summary["pattern"] == pattern) & (summary["outcome"] == name)]
            ax.errorbar(
                rows["fault_rate"] * 100,
                rows["mean"],
                yerr=[rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]],
                marker="o",
                capsize=3,
                label=pattern,
            )
        ax.set(xlabel="agent fault rate (%)", title=name.replace("_", " "))
    axes[0].legend(fontsize=8)
    fig.suptitle("Orchestration patterns under agent faults (mean, 95% t interval over replications)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(summary: pd.DataFrame, replications: int, tasks: int) -> str:
    lines = [
        "# Orchestration patterns under agent faults",
        "",
        f"{replications} replications x {tasks} tasks per point; the same tasks and arrivals for every "
        "pattern and fault rate (common random numbers). Mean over replications, 95% Student-t interval.",
        "",
        "| pattern | fault rate | success rate | makespan p50 | makespan p95 | messages per task |",
        "|---|---|---|---|---|---|",
    ]
    for pattern in PATTERNS:
        for rate in RATES:
            cells = []
            for name in OUTCOMES:
                row = summary[
                    (summary["pattern"] == pattern)
                    & (summary["fault_rate"] == rate)
                    & (summary["outcome"] == name)
                ].iloc[0]
                fmt = "{:.1%}" if name == "success_rate" else "{:.2f}"
                cells.append(
                    f"{fmt.format(row['mean'])} [{fmt.format(row['ci_low'])}, {fmt.format(row['ci_high'])}]"
                )
            lines.append(f"| {pattern} | {rate:.0%} | " + " | ".join(cells) + " |")
    best = {}
    for rate in RATES:
        rows = summary[(summary["fault_rate"] == rate) & (summary["outcome"] == "success_rate")]
        top = rows["mean"].max()
        names = ", ".join(rows[rows["mean"] >= top - 1e-12]["pattern"])
        best[rate] = f"{names} ({top:.1%})"
    lines += ["", "Highest success rate: " + "; ".join(f"{r:.0%} faults: {b}" for r, b in best.items()) + "."]
    lines += ["", "![patterns under faults](orchestration_stress.png)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=10, help=">= 1")
    parser.add_argument("--tasks", type=int, help="tasks per run, >= 1 (default: the spec's)")
    parser.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial")
    parser.add_argument("--workers", type=int, help=">= 1 (default: one per CPU)")
    parser.add_argument("--out", default="results/orchestration_stress")
    args = parser.parse_args(argv)
    at_least(parser, args, replications=1, tasks=1, workers=1)
    folder(parser, args, "out")
    spec = load_spec(str(SPEC), {"tasks.count": args.tasks} if args.tasks is not None else None)
    base = spec.model_dump(mode="json")
    grid = {"root": list(PATTERNS), "faults": [faults(r) for r in RATES]}
    results = sweep(
        run_outcomes,
        base,
        grid,
        args.replications,
        spec.seed,
        backend=args.backend,
        workers=args.workers,
        progress=True,
    )
    out = Path(args.out)
    write_json(results, out / "batch_results.json")
    summary = table(results)
    write_atomic(out / "summary.csv", summary.to_csv(index=False, float_format="%.6g"))
    plot(summary, out / "orchestration_stress.png")
    text = report(summary, args.replications, spec.tasks.count)
    write_atomic(out / "orchestration_stress.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
