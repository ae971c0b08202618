"""The floor under flood_city: SimPy alone scheduling the same event mix, doing nothing else.

10,000 citizen processes each wait an exponential time and schedule a request; a request
schedules its completion; both are "applied events" that only count. No world, no reducers,
no recording, the cheapest random numbers (`random.Random`). Whatever the kernel does on top
has to fit in the time this leaves: at 100,000 events/s, 10 us an event in all. This is the
floor issue 15 sets its target against (flood_city as shipped >= 0.38x of it).

The same mix drawn by a few processes (`--processes 8`, one per district, as the population
citizen model draws it: the sum of its members' rates) is a stricter floor: SimPy's heap
holds 8 sleepers instead of 10,000, which roughly halves its cost per event. The throughput
benchmark reports against both.

    python -m benchmarks.simpy_floor [--citizens 10000] [--processes 10000] [--until 600] [--repeats 5]

Last measured (2026-11-30, 2 shared cores at load 5.7-5.9): 105,187-178,831 events/s wall
clock (275,392 per CPU second) with 10,000 processes; 1.8-2.1x that with 8.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import simpy
from simpy.core import NORMAL

from experiments.arguments import at_least, positive


class _Scheduled:
    """A bare event on SimPy's heap, as the kernel schedules its deliveries."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callback) -> None:  # noqa: ANN001
        self.callbacks = [callback]
        self._ok = True
        self._value = None


def floor_run(
    citizens: int, until: float, seed: int = 1, processes: int | None = None
) -> tuple[int, float, float]:
    """(applied events, wall seconds, CPU seconds) of the run (setting up its processes is
    not timed): `citizens` requesting through `processes` processes (one per citizen by
    default; fewer draw the sum of their citizens' rates)."""
    env = simpy.Environment()
    rng = random.Random(seed)
    applied = 0
    processes = processes or citizens
    # the flood_city mix: ~122 requests per time unit over 10,000 citizens, service ~1 time unit
    mean_interarrival = citizens / 122.0 / (citizens / processes)

    def complete(_event) -> None:  # noqa: ANN001
        nonlocal applied
        applied += 1

    def request(_event) -> None:  # noqa: ANN001
        nonlocal applied
        applied += 1
        env.schedule(_Scheduled(complete), NORMAL, rng.expovariate(1.0))

    def citizen():
        while True:
            yield env.timeout(rng.expovariate(1.0 / mean_interarrival))
            env.schedule(_Scheduled(request), NORMAL, 0.01 + rng.expovariate(50.0))

    for _ in range(processes):
        env.process(citizen())
    start, cpu = time.perf_counter(), time.process_time()
    env.run(until=until)
    return applied, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=0, help="default: one per citizen")
    parser.add_argument("--until", type=float, default=600.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    positive(parser, args, "until")
    at_least(parser, args, citizens=1, repeats=1)
    if not 0 <= args.processes <= args.citizens:
        parser.error(f"--processes must be 0 (one per citizen) to --citizens, got {args.processes}")
    processes = args.processes or args.citizens
    runs = [floor_run(args.citizens, args.until, processes=processes) for _ in range(args.repeats)]
    events = runs[0][0]
    seconds = statistics.median(t for _, t, _ in runs)
    print(
        f"SimPy alone, flood_city's event mix ({args.citizens:,} citizens in {processes:,} processes, "
        f"{args.until:g} time units): {events:,} events in {seconds:.2f} s (median of {args.repeats}) = "
        f"{events / seconds:,.0f} events/s, {seconds / events * 1e6:.1f} us an event"
    )


if __name__ == "__main__":
    main()
