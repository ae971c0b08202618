"""The floor under flood_city: SimPy alone scheduling the same event mix, doing nothing else.

10,000 citizen processes each wait an exponential time and schedule a request; a request
schedules its completion; both are "applied events" that only count. No world, no reducers,
no recording, the cheapest random numbers (`random.Random`). Whatever the kernel does on top
has to fit in the time this leaves: at 100,000 events/s, 10 us an event in all.

    python -m benchmarks.simpy_floor [--citizens 10000] [--until 600] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import simpy
from simpy.core import NORMAL


class _Scheduled:
    """A bare event on SimPy's heap, as the kernel schedules its deliveries."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callback) -> None:  # noqa: ANN001
        self.callbacks = [callback]
        self._ok = True
        self._value = None


def floor_run(citizens: int, until: float, seed: int = 1) -> tuple[int, float]:
    env = simpy.Environment()
    rng = random.Random(seed)
    applied = 0
    # the flood_city mix: ~122 requests per time unit over 10,000 citizens, service ~1 time unit
    mean_interarrival = citizens / 122.0

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

    for _ in range(citizens):
        env.process(citizen())
    start = time.perf_counter()
    env.run(until=until)
    return applied, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--until", type=float, default=600.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs = [floor_run(args.citizens, args.until) for _ in range(args.repeats)]
    events = runs[0][0]
    seconds = statistics.median(t for _, t in runs)
    print(
        f"SimPy alone, flood_city's event mix ({args.citizens:,} citizens, {args.until:g} time units): "
        f"{events:,} events in {seconds:.2f} s (median of {args.repeats}) = "
        f"{events / seconds:,.0f} events/s, {seconds / events * 1e6:.1f} us an event"
    )


if __name__ == "__main__":
    main()
