"""The metropolitan scenario from the CLI: wall time, events/s, peak memory; then its report.

    python -m benchmarks.metropolis [--until 820] [--repeats 1] [--scenario scenarios/metropolis.yaml]

Each step runs in a fresh process, exactly as a user would type it (`simulator run ... --quiet`,
then `simulator report <folder> --quiet`), and reports its wall time, events/s and peak resident
memory (the run's background recorder process, if any, separately); with `--repeats N`, the
median of N (the report N times on the first run's folder). The default horizon, t=820 instead
of the scenario's 800, takes the run past a million events (1,013,852). Targets: the run's
own peak under 300 MB for 1M events; the report of a 1M-event run under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.arguments import at_least, folder, positive
from simulator.infra.scenario import load_scenario
from simulator.scenario import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "metropolis.yaml"

CHILD = """
import json, resource, sys, time
from simulator.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
self = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "code": code,
    "seconds": time.perf_counter() - start,
    "cpu_seconds": self.ru_utime + self.ru_stime,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""

# The baseline, measured the same way: pandas reading metrics.csv with its defaults, nothing else.
PLAIN = """
import json, resource, sys, time
import pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
self = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "cpu_seconds": self.ru_utime + self.ru_stime,
    "peak_mb": self.ru_maxrss / 1024,
}))
"""

# Where the report's memory goes: its resident memory as each stage starts (and the peak so far).
STAGES = """
import json, resource, sys, time
import psutil
from simulator.analysis import report
process, start, stages = psutil.Process(), time.perf_counter(), []

class Stages:
    def __init__(self, total, quiet): pass
    def __call__(self, name): self.mark(name)
    def close(self): self.mark("end")
    def mark(self, name):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stages.append([name, time.perf_counter() - start, process.memory_info().rss / 2**20, peak])

report.Progress = Stages
report.build_report(sys.argv[1], quiet=True)
print(json.dumps({"stages": stages}))
"""


def measured(args: list[str], child: str = CHILD) -> dict:
    """Run `simulator <args>` (or `child` with them) in a fresh interpreter; its exit code, wall
    time, peak RSS."""
    done = subprocess.run([sys.executable, "-c", child, *args], capture_output=True, text=True, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if done.returncode == 0 and lines else {}
    code = done.returncode or result.get("code", 0) or (0 if result else 1)
    if code:  # the inner command's own error line(s), and its exit code (2: bad input)
        print(f"simulator {' '.join(args)} failed (exit {code}):", file=sys.stderr)
        print(done.stderr.strip()[-2000:], file=sys.stderr)
        raise SystemExit(code)
    return result


def median_of(runs: list[dict]) -> dict:
    """Per key, the median over repeated measurements."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def verdict(peak_mb: float, limit_mb: float) -> str:
    return f"target < {limit_mb:,.0f} MB: {'met' if peak_mb < limit_mb else 'NOT met'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SCENARIO), help="an infra scenario YAML")
    parser.add_argument(
        "--until", type=float, default=820.0, help="horizon, > 0 (default 820: >= 1M events)"
    )
    parser.add_argument("--repeats", type=int, default=1, help="measure each step N times (>= 1); medians")
    parser.add_argument("--keep", help="write the run here instead of a temporary folder")
    parser.add_argument("--stages", action="store_true", help="also the report's memory, stage by stage")
    args = parser.parse_args()
    positive(parser, args, "until")
    at_least(parser, args, repeats=1)
    folder(parser, args, "keep")
    try:  # the scenario's own checks here, before any run (the run would refuse it too)
        load_scenario(args.scenario, {"until": args.until})
    except ScenarioError as exc:
        parser.error(f"--scenario: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or tmp) / "run"
        runs = []
        for i in range(args.repeats):
            where = out if i == 0 else Path(tmp) / f"run{i}"
            start = time.perf_counter()
            command = ["run", args.scenario, "--out", str(where), "--quiet", "--until", f"{args.until:g}"]
            runs.append(measured(command))
            runs[-1]["wall"] = time.perf_counter() - start
            if where != out:
                shutil.rmtree(where)  # the same bytes as the first run's (determinism)
        run = median_of(runs)
        summary = json.loads((out / "summary.json").read_text())
        o = summary["outcomes"]
        services = len(summary["config"]["services"])
        citizens = sum(c["count"] for c in summary["config"]["citizens"])
        csv_mb = (out / "metrics.csv").stat().st_size / 2**20
        print(
            f"{summary['scenario']}: {services} services, {citizens:,} citizens, to t={o['end_time']:g}: "
            f"{o['events']:,} events, {summary['records']:,} records ({csv_mb:.0f} MB metrics.csv); "
            f"medians of {args.repeats}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        print(
            f"  run:    {run['seconds']:.1f} s in the command ({run['wall']:.1f} s with interpreter start), "
            f"{o['events'] / run['seconds']:,.0f} events/s ({run['cpu_seconds']:.1f} CPU s in the main "
            f"process), peak RSS {run['peak_mb']:.0f} MB (recorder process {run['children_mb']:.0f} MB); "
            f"{verdict(run['peak_mb'], 300)}"
        )
        print(
            f"  outcome: {o['services_failed']} services failed, {o['cascade_failures']} cascade failures, "
            f"unmet demand {o['unmet_share']:.1%}, first failure at t={o['first_failure_at']}"
        )
        report = median_of([measured(["report", str(out), "--quiet"]) for _ in range(args.repeats)])
        plain = median_of([measured([str(out / "metrics.csv")], PLAIN) for _ in range(args.repeats)])
        print(
            f"  report: {report['seconds']:.1f} s ({report['cpu_seconds']:.1f} CPU s), "
            f"{o['events'] / report['seconds']:,.0f} events/s analysed, peak RSS {report['peak_mb']:.0f} MB; "
            f"{verdict(report['peak_mb'], 1024)}"
        )
        print(
            f"  baseline, pandas.read_csv(metrics.csv) alone with its defaults: {plain['seconds']:.1f} s, "
            f"peak RSS {plain['peak_mb']:.0f} MB; the whole report: "
            f"{report['peak_mb'] / plain['peak_mb']:.2f}x its memory, "
            f"{report['seconds'] / plain['seconds']:.1f}x its time"
        )
        if args.stages:
            print("  report stage by stage (RSS as the stage starts; peak so far):")
            for name, at, rss, peak in measured([str(out)], STAGES)["stages"]:
                print(f"    {at:6.1f} s  {rss:6.0f} MB  (peak {peak:6.0f} MB)  {name}")
        print(f"  load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
