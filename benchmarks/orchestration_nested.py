"""10,000 tasks through a three-level nested orchestration: events per second against the
kernel's M/M/3 queue in the same run, and peak memory.

The tree (from scenarios/orchestration_desk.yaml, regrouped): desk (sequential) -> research
(sequential) -> analysts (concurrent) -> agents, beside planning, a magentic review and a
handoff to compliance, with the desk's agent fault rates. Timed in interleaved rounds after a
warm-up: the orchestration with metrics.csv + hash chain + transcript, the same with
recording off, and the kernel's M/M/3 (benchmarks.kernel_overhead) with CSV + hash chain.
Then one recorded run in a fresh process for its peak resident memory.

    python -m benchmarks.orchestration_nested [--tasks 10000] [--customers 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from experiments.arguments import at_least

from .common import interleaved_medians
from .kernel_overhead import kernel

DESK = Path(__file__).resolve().parent.parent / "scenarios" / "orchestration_desk.yaml"


def nested_spec(tasks: int) -> dict[str, Any]:
    data = yaml.safe_load(DESK.read_text())
    data["patterns"]["research"] = {"pattern": "sequential", "members": ["analysts", "planning"]}
    data["patterns"]["desk"]["members"] = ["research", "review", "orders"]
    data["tasks"]["count"] = tasks
    return data


def run_orchestration(tasks: int, out: Path | None, background: bool = False) -> int:
    from simulator.engine import CsvSink
    from simulator.orchestration.run import JsonlSink, execute
    from simulator.orchestration.spec import parse_spec

    spec = parse_spec(nested_spec(tasks), "benchmark")
    sinks = [CsvSink(out / "metrics.csv"), JsonlSink(out / "transcript.jsonl")] if out else []
    session = execute(spec, sinks, record=out is not None, background=background)
    assert len(session.rows) == tasks
    return session.world.seq


def peak_child(tasks: int, out: str) -> None:
    import resource
    import time

    start = time.perf_counter()
    events = run_orchestration(tasks, Path(out), background=True)
    print(
        json.dumps(
            {
                "events": events,
                "seconds": time.perf_counter() - start,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "recorder_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "csv_mb": (Path(out) / "metrics.csv").stat().st_size / 2**20,
                "transcript_mb": (Path(out) / "transcript.jsonl").stat().st_size / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000, help=">= 1")
    parser.add_argument("--customers", type=int, default=100_000, help="M/M/3 customers, >= 1")
    parser.add_argument("--repeats", type=int, default=3, help=">= 1")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    at_least(parser, args, tasks=1, customers=1, repeats=1)
    if args.child:
        peak_child(args.tasks, args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        events = {"orchestration": run_orchestration(args.tasks, out), "M/M/3": 2 * args.customers}
        variants = {
            "orchestration, CSV + chain + transcript": lambda: run_orchestration(args.tasks, out),
            "  same, background recorder": lambda: run_orchestration(args.tasks, out, background=True),
            "orchestration, recording off": lambda: run_orchestration(args.tasks, None),
            "M/M/3 kernel, CSV + chain": lambda: kernel(args.customers, out / "mm3.csv"),
        }
        medians = interleaved_medians(variants, args.repeats)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.orchestration_nested",
                "--tasks",
                str(args.tasks),
                "--child",
                tmp,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        peak = json.loads(proc.stdout)
    mm3 = events["M/M/3"] / medians["M/M/3 kernel, CSV + chain"]
    print(
        f"{args.tasks:,} tasks, three-level nesting, {events['orchestration']:,} events; "
        f"M/M/3: {args.customers:,} customers; median of {args.repeats} interleaved rounds"
    )
    for name, seconds in medians.items():
        n = events["M/M/3"] if name.startswith("M/M/3") else events["orchestration"]
        rate = n / seconds
        print(f"  {name:<42} {seconds:7.2f} s  {rate:10,.0f} events/s  {rate / mm3:5.2f}x M/M/3")
    print(
        f"  peak RSS of a recorded {args.tasks:,}-task run (background recorder): {peak['peak_mb']:.0f} MB, "
        f"recorder process {peak['recorder_mb']:.0f} MB"
    )
    print(f"  metrics.csv {peak['csv_mb']:.0f} MB, transcript {peak['transcript_mb']:.0f} MB")


if __name__ == "__main__":
    main()
