"""Kernel overhead on an M/M/3 queue (lambda = 2.7, mu = 1, 200,000 customers).

The same queue three ways, in one process: bare SimPy (a Resource and a process per
customer), through the kernel with recording off, and through the kernel with full CSV
recording and the hash chain. Prints medians and the ratios against bare SimPy, plus each
variant's mean wait beside the Erlang-C value so the three are seen to be the same queue.

    python -m benchmarks.kernel_overhead [--customers N] [--repeats R]
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
import simpy

from experiments.arguments import at_least
from simulator.engine import CsvSink, Event, RecordLayout, World

from .common import interleaved_medians

LAM, MU, C = 2.7, 1.0, 3


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def bare_simpy(n: int, seed: int = 1) -> float:
    env = simpy.Environment()
    server = simpy.Resource(env, C)
    rng = np.random.default_rng(seed)
    total = [0.0]

    def customer():
        arrived = env.now
        with server.request() as req:
            yield req
            total[0] += env.now - arrived
            yield env.timeout(rng.exponential(1 / MU))

    def source():
        for _ in range(n):
            yield env.timeout(rng.exponential(1 / LAM))
            env.process(customer())

    env.process(source())
    env.run()
    return total[0] / n


def on_arrive(w: World, ev: Event) -> list[Event] | None:
    q = w.entity("queue")
    if q["busy"] < C:
        q["busy"] += 1
        return [Event("depart", "queue", "queue", delay=w.rng("service").exponential(1 / MU))]
    q["waiting"].append(w.now)
    q["queue"] += 1
    return None


def on_depart(w: World, ev: Event) -> list[Event] | None:
    q = w.entity("queue")
    q["served"] += 1
    if q["waiting"]:
        q["total_wait"] += w.now - q["waiting"].popleft()
        q["queue"] -= 1
        return [Event("depart", "queue", "queue", delay=w.rng("service").exponential(1 / MU))]
    q["busy"] -= 1
    return None


def kernel(n: int, csv: Path | None, seed: int = 1, background: bool = False) -> float:
    from collections import deque

    layout = sinks = None
    if csv is not None:
        layout = RecordLayout(kinds=("station",), fields=("busy", "queue", "served"), id_column="station")
        sinks = [CsvSink(csv)]
    w = World(seed=seed, layout=layout, sinks=sinks or (), background=background)
    w.register(
        "queue", "station", {"busy": 0, "queue": 0, "served": 0, "waiting": deque(), "total_wait": 0.0}
    )
    w.register("source", "source", {})
    w.on("arrive", on_arrive)
    w.on("depart", on_depart)

    def source(ctx):
        rng = ctx.rng
        for _ in range(n):
            yield ctx.wait(rng.exponential(1 / LAM))
            ctx.emit("arrive", "queue")

    w.spawn("source", source)
    w.run()
    return w.entities["queue"]["total_wait"] / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000, help=">= 1")
    parser.add_argument("--repeats", type=int, default=5, help=">= 1")
    args = parser.parse_args()
    at_least(parser, args, customers=1, repeats=1)
    n = args.customers
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "metrics.csv"
        variants = {
            "bare SimPy": lambda: bare_simpy(n),
            "kernel, recording off": lambda: kernel(n, None),
            "kernel, CSV + hash chain": lambda: kernel(n, csv),
            "  same, in background": lambda: kernel(n, csv, background=True),
        }
        results = interleaved_medians(variants, args.repeats)
        waits = {name: fn() for name, fn in variants.items()}
    base = results["bare SimPy"]
    print(f"M/M/3, lambda={LAM}, mu={MU}, {n:,} customers, median of {args.repeats}")
    print(f"Erlang-C mean wait: {erlang_c_wait(LAM, MU, C):.3f}")
    limits = {"kernel, recording off": 1.3, "kernel, CSV + hash chain": 2.0}
    for name, median in results.items():
        limit = limits.get(name)
        target = f"  (target <= {limit}x: {'met' if median / base <= limit else 'MISSED'})" if limit else ""
        print(f"  {name:<26} {median:7.3f} s  {median / base:5.2f}x  mean wait {waits[name]:.3f}{target}")


if __name__ == "__main__":
    main()
