"""flood_city throughput and memory.

1. Applied events per second, median of `--repeats` runs of `--until` time units, with
   recording as the scenario sets it (changed rows to CSV + hash chain, formatted and hashed
   in a background process), with the same recording inline, and with recording off. World
   construction (including each actor's random stream) is timed separately.
2. A run of exactly `--events` applied events (default 1,000,000) with recording on, in a
   fresh process, reporting its peak resident memory (and the recorder process's).

    python -m benchmarks.flood_city_throughput [--until 600] [--events 1000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "flood_city.yaml"


MODES = {
    "recording on, background": {},
    "recording on, inline": {"recording.background": False},
    "recording off": {"recording.mode": "off"},
}


def timed_run(until: float, out: Path, overrides: dict) -> tuple[float, int, float]:
    from simulator.engine import CsvSink
    from simulator.infra.build import build_world
    from simulator.infra.scenario import load_scenario

    scenario = load_scenario(str(SCENARIO), {"until": until, **overrides})
    start = time.perf_counter()
    sinks = [CsvSink(out / "metrics.csv")] if scenario.recording.mode != "off" else []
    w = build_world(scenario, sinks)
    built = time.perf_counter() - start
    start = time.perf_counter()
    w.run(until=scenario.until)
    return time.perf_counter() - start, w.seq, built


def peak_memory_child(events: int, out: str) -> None:
    import resource

    from simulator.engine import CsvSink
    from simulator.infra.build import build_world
    from simulator.infra.scenario import load_scenario

    scenario = load_scenario(str(SCENARIO), {"until": 1e9})
    w = build_world(scenario, [CsvSink(Path(out) / "metrics.csv")])
    start = time.perf_counter()
    w.run(until=None, max_events=events)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    recorder_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = (Path(out) / "metrics.csv").stat().st_size / 2**20
    print(
        json.dumps(
            {
                "events": w.seq,
                "seconds": elapsed,
                "peak_mb": peak_mb,
                "recorder_mb": recorder_mb,
                "csv_mb": size_mb,
                "sim_time": w.now,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until", type=float, default=600.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peak_memory_child(args.events, args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        times: dict[str, list[float]] = {label: [] for label in MODES}
        events, built = 0, []
        for _ in range(args.repeats):  # interleaved, so a noisy moment hits every mode alike
            for label, overrides in MODES.items():
                seconds, events, build_seconds = timed_run(args.until, Path(tmp), overrides)
                times[label].append(seconds)
                built.append(build_seconds)
        print(f"flood_city: building the world takes {statistics.median(built):.2f} s (not in the rates)")
        off = statistics.median(times["recording off"])
        for label, seconds_list in times.items():
            seconds = statistics.median(seconds_list)
            print(
                f"flood_city {label:<26} {events:,} events in {seconds:.2f} s (median of "
                f"{args.repeats}): {events / seconds:,.0f} events/s = {seconds / off:.2f}x recording off"
            )
        print("(target >= 100,000 events/s with recording on)")
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.flood_city_throughput",
                "--events",
                str(args.events),
                "--child",
                tmp,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"flood_city {r['events']:,}-event run to t={r['sim_time']:.0f}: {r['seconds']:.1f} s, "
            f"{r['events'] / r['seconds']:,.0f} events/s, peak RSS {r['peak_mb']:.0f} MB "
            f"(target < 300 MB; recorder process {r['recorder_mb']:.0f} MB), metrics.csv {r['csv_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
