"""flood_city throughput and memory, against SimPy alone on the same event mix.

1. Applied events per second, median of `--repeats` runs of `--until` time units, in
   interleaved rounds with `benchmarks.simpy_floor` (SimPy alone scheduling flood_city's event
   mix, 10,000 citizen processes; and the stricter floor of the same mix drawn by one process
   a district): flood_city as shipped (population citizen model, recording as the scenario
   sets it), then each citizen model with recording in the background, inline and off. Rates
   are given as a ratio of the floor measured in the same run (target: as shipped >= 0.38x);
   each timed run is a fresh process (the world is built there, untimed), so no run inherits
   another's heap, caches or forked pages. Also given: the ratio to the individual model, and
   rates per CPU second of the simulating process (which leave out the time a busy machine
   keeps it waiting, and the background recorder's own CPU). World construction is timed
   separately.
2. A run of exactly `--events` applied events (default 1,000,000) as shipped, in a fresh
   process, reporting its peak resident memory (and the recorder process's, if any).

    python -m benchmarks.flood_city_throughput [--until 600] [--events 1000000]

Last measured (2026-11-30, 23:13, other jobs paused, README "Benchmarks"): as shipped (the
background recorder) 0.47x the floor (target 0.38x); background / inline 1.25x; recording
off 0.68x; 1,000,000 events in 68 MB peak RSS (and 53 MB the recorder's process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.arguments import at_least, positive

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "flood_city.yaml"


SHIPPED = "as shipped"
RECORDING = {
    "recording background": {"recording.background": True},
    "recording inline": {"recording.background": False},
    "recording off": {"recording.mode": "off"},
}
MODES = {SHIPPED: {}} | {
    f"{model}, {label}": {"citizen_model": model, **overrides}
    for model in ("population", "individual")
    for label, overrides in RECORDING.items()
}
FLOOR = "SimPy alone (floor)"
FLOOR_GROUPS = "SimPy alone, a process a district"


def timed_run(until: float, out: Path, overrides: dict) -> tuple[float, float, int, float]:
    """(wall seconds, CPU seconds of this process, applied events, build seconds, CPU seconds
    of the background recorder's process, if any)."""
    import resource

    from simulator.engine import CsvSink
    from simulator.infra.build import build_world
    from simulator.infra.scenario import load_scenario

    scenario = load_scenario(str(SCENARIO), {"until": until, **overrides})
    start = time.perf_counter()
    sinks = [CsvSink(out / "metrics.csv")] if scenario.recording.mode != "off" else []
    w = build_world(scenario, sinks)
    built = time.perf_counter() - start
    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    start, cpu, child_cpu = time.perf_counter(), time.process_time(), children_cpu()
    w.run(until=scenario.until)  # the recorder's process has ended (and been waited for) here
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu, w.seq, built, children_cpu() - child_cpu


def one_run(label: str, until: float, out: str) -> None:
    """Time one mode (or a floor) in this process and print its figures as JSON."""
    if label in (FLOOR, FLOOR_GROUPS):
        from benchmarks.simpy_floor import floor_run
        from simulator.infra.scenario import load_scenario

        processes = len(load_scenario(str(SCENARIO)).citizens) if label == FLOOR_GROUPS else None
        events, seconds, cpu_seconds = floor_run(10_000, until, processes=processes)
        print(json.dumps({"events": events, "seconds": seconds, "cpu_seconds": cpu_seconds}))
        return
    seconds, cpu_seconds, events, build_seconds, recorder_cpu = timed_run(
        until, Path(out), MODES[label]
    )
    print(json.dumps({"events": events, "seconds": seconds, "cpu_seconds": cpu_seconds,
                      "build_seconds": build_seconds, "recorder_cpu_seconds": recorder_cpu}))


def in_fresh_process(label: str, until: float, out: str) -> dict:
    """`one_run` in a new interpreter: no run inherits another's heap, caches or forked pages
    (in one process, the same configuration measured 13-31% apart by its place in a round)."""
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.flood_city_throughput", "--one", label,
         "--until", str(until), "--child", out],
        capture_output=True, text=True, check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def shipped_background() -> bool:
    from simulator.infra.scenario import load_scenario

    return load_scenario(str(SCENARIO)).recording.background


def peak_memory_child(events: int, out: str) -> None:
    import resource

    from simulator.engine import CsvSink
    from simulator.infra.build import build_world
    from simulator.infra.scenario import load_scenario

    # long enough to apply `events` events (~256 a time unit) and within the scenario budget check
    scenario = load_scenario(str(SCENARIO), {"until": events / 100})
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
    parser.add_argument("--until", type=float, default=600.0, help="time units of each timed run (> 0)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each mode (>= 1)")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events of the memory run (0: no memory run)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--one", choices=[FLOOR, FLOOR_GROUPS, *MODES], help=argparse.SUPPRESS)
    args = parser.parse_args()
    positive(parser, args, "until")
    at_least(parser, args, repeats=1)
    if args.events < 0:
        parser.error(f"--events must be >= 0 (0: no memory run), got {args.events}")
    if args.one:
        one_run(args.one, args.until, args.child)
        return
    if args.child:
        peak_memory_child(args.events, args.child)
        return
    from simulator.infra.scenario import load_scenario

    with tempfile.TemporaryDirectory() as tmp:
        districts = len(load_scenario(str(SCENARIO)).citizens)
        rates: dict[str, list[float]] = {label: [] for label in (FLOOR, FLOOR_GROUPS, *MODES)}
        cpu_rates: dict[str, list[float]] = {label: [] for label in (FLOOR, FLOOR_GROUPS, *MODES)}
        counts: dict[str, int] = {}
        built: dict[str, list[float]] = {}
        recorder_cpu: dict[str, list[float]] = {}
        for _ in range(args.repeats):  # interleaved, so a noisy moment hits every mode alike
            for label in (FLOOR, FLOOR_GROUPS, *MODES):
                r = in_fresh_process(label, args.until, tmp)
                rates[label].append(r["events"] / r["seconds"])
                cpu_rates[label].append(r["events"] / r["cpu_seconds"])
                counts[label] = r["events"]
                if "build_seconds" in r:
                    built.setdefault(label.split(",")[0], []).append(r["build_seconds"])
                if r.get("recorder_cpu_seconds"):
                    recorder_cpu.setdefault(label, []).append(r["recorder_cpu_seconds"] / r["events"])
        median = {label: statistics.median(r) for label, r in rates.items()}
        cpu_median = {label: statistics.median(r) for label, r in cpu_rates.items()}
        print(
            "building the world (not in the rates): "
            + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in built.items())
        )
        for label, rate in median.items():
            model = "population" if label == SHIPPED else label.split(",")[0]
            same = label.replace("population", "individual") if model == "population" else None
            if label == SHIPPED:
                same = f"individual, recording {'background' if shipped_background() else 'inline'}"
            vs = f", {rate / median[same]:.2f}x the individual model" if same in median else ""
            per_cpu = cpu_median[label]
            recorder = ""
            if label in recorder_cpu:
                each = statistics.median(recorder_cpu[label]) * 1e6
                recorder = f"; recorder process {each:.1f} CPU us an event"
            print(
                f"{label:<34} {counts[label]:>9,} events: {rate:>9,.0f} events/s (median of {args.repeats}) "
                f"= {rate / median[FLOOR]:.2f}x the floor{vs}; per CPU second of this process "
                f"{per_cpu:>9,.0f} = {per_cpu / cpu_median[FLOOR]:.2f}x{recorder}"
            )
        print(
            f"as shipped against the stricter floor ({districts} processes, as the population model "
            f"draws): {median[SHIPPED] / median[FLOOR_GROUPS]:.2f}x wall clock, "
            f"{cpu_median[SHIPPED] / cpu_median[FLOOR_GROUPS]:.2f}x per CPU second"
        )
        background = median["population, recording background"]
        inline = median["population, recording inline"]
        print(
            f"background recording / inline: {background / inline:.2f}x wall clock "
            f"(target >= 1; the shipped scenario records in the "
            f"{'background' if shipped_background() else 'simulating process'})"
        )
        print(
            "(target: as shipped >= 0.38x the floor, measured in the same run; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. Per CPU second leaves out the time a "
            "busy machine keeps the process waiting, and the background recorder's own CPU)"
        )
        if not args.events:
            return
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
