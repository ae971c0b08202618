"""Do the individual and population citizen models agree? The heavy version of the test.

    python -m experiments.citizen_equivalence [--replications 50] [--backend processes]
        [--workers 2] [--scenarios flood_town flood_city] [--out results/citizen_equivalence]

For each scenario, N runs of each model over disjoint seeds (derived up front). Compared: per
service demand (requests that reached it), rejections and the time of its first failure
(censored at the end of the run), total demand and rejections, and the cascade frequency.
Welch's t-test for means, Fisher's exact test for the cascade frequency; the whole family
(every quantity of every scenario) is Holm-corrected at alpha = 0.05. Writes
`citizen_equivalence.md` and `.json` into the output folder; exit code 1 when they disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from statsmodels.stats.multitest import multipletests

from experiments.arguments import at_least, folder, probability
from simulator.infra.equivalence import MODELS, compare, run_models
from simulator.infra.scenario import load_scenario
from simulator.runs import write_atomic
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parent.parent


def holm_over_scenarios(results: dict[str, dict], alpha: float) -> None:
    """Re-correct every tested row of every scenario as one family."""
    rows = [r for res in results.values() for r in res["rows"] if "p" in r and r["test"] != "constant"]
    rows += [r for res in results.values() for r in res["rows"] if r["test"] == "constant" and r["p"] == 0.0]
    reject, adjusted, _, _ = multipletests([r["p"] for r in rows], alpha=alpha, method="holm")
    for r, rej, adj in zip(rows, reject, adjusted, strict=True):
        r["p_holm"], r["rejected"] = float(adj), bool(rej)
    for res in results.values():
        res["agree"] = not any(r["rejected"] for r in res["rows"])


def markdown(results: dict[str, dict], n: int, alpha: float, seconds: dict[str, dict[str, float]]) -> str:
    tests = sum(res["tests"] for res in results.values())
    agree = all(res["agree"] for res in results.values())
    lines = [
        "# Individual vs population citizen model",
        "",
        f"{n} runs per model and scenario over disjoint seeds; {tests} comparisons, Holm-corrected "
        f"as one family at alpha = {alpha}: **{'agree' if agree else 'DISAGREE'}**.",
        "",
    ]
    for name, res in results.items():
        rejected = sum(r["rejected"] for r in res["rows"])
        t = seconds[name]
        lines += [
            f"## {name}",
            "",
            f"{res['tests']} comparisons, {rejected} rejected; wall time per run: individual "
            f"{t['individual']:.2f} s, population {t['population']:.2f} s.",
            "",
            "| quantity | individual (95% CI) | population (95% CI) | test | p | p (Holm) |",
            "|---|---|---|---|---|---|",
        ]
        shown = [r for r in res["rows"] if r["quantity"].startswith(("total/", "cascade"))]
        shown += sorted((r for r in res["rows"] if r not in shown), key=lambda r: r["p"])[:10]
        for r in shown:
            lines.append(
                f"| {r['quantity']} | {r['a_mean']:.2f} ± {r['a_ci']:.2f} | {r['b_mean']:.2f} ± "
                f"{r['b_ci']:.2f} | {r['test']} | {r['p']:.3g} | {r['p_holm']:.3g} |"
            )
        lines += ["", "(the totals, the cascade frequency and the 10 smallest p-values)", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=50, help="runs per model and scenario, >= 2")
    parser.add_argument("--master-seed", type=int, default=2026, help=">= 0")
    parser.add_argument("--backend", default="processes", choices=("serial", "processes", "dask"))
    parser.add_argument("--workers", type=int, default=2, help=">= 1")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance, in (0, 1)")
    parser.add_argument(
        "--scenarios", nargs="+", default=["flood_town", "flood_city"], help="infra scenarios/ names"
    )
    parser.add_argument("--out", default=str(ROOT / "results" / "citizen_equivalence"))
    args = parser.parse_args()
    at_least(parser, args, replications=2, master_seed=0, workers=1)
    probability(parser, args, "alpha", open_interval=True)
    folder(parser, args, "out")
    configs = {}
    for name in args.scenarios:  # every scenario checked before the first run
        try:
            configs[name] = load_scenario(str(ROOT / "scenarios" / f"{name}.yaml")).model_dump(mode="json")
        except ScenarioError as exc:
            parser.error(f"--scenarios {name}: {exc}")
    results, seconds = {}, {}
    for name, config in configs.items():
        start = time.perf_counter()
        runs, took = {}, {}
        for model in MODELS:
            t0 = time.perf_counter()
            runs[model] = run_models(
                config, args.replications, args.master_seed, args.backend, args.workers, models=(model,)
            )[model]
            took[model] = (time.perf_counter() - t0) / args.replications * (args.workers or 1)
        results[name] = compare(runs["individual"], runs["population"], args.alpha)
        seconds[name] = took
        print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    holm_over_scenarios(results, args.alpha)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "citizen_equivalence.json", json.dumps(results, indent=1))
    text = markdown(results, args.replications, args.alpha, seconds)
    write_atomic(out / "citizen_equivalence.md", text)
    print(text)
    sys.exit(0 if all(res["agree"] for res in results.values()) else 1)


if __name__ == "__main__":
    main()
