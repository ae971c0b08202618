"""Small deterministic run functions: templates for `fn(params, seed)`, used by the tests
and benchmarks. Each draws its randomness only from a Generator seeded by the task seed."""

from __future__ import annotations

from typing import Any

import numpy as np


def noisy_mean(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Mean and max of `samples` normal draws around `mu`; raises if `fail` is set."""
    if params.get("fail"):
        raise RuntimeError(f"asked to fail (mu={params['mu']})")
    rng = np.random.default_rng(seed)
    draws = rng.normal(params["mu"], params.get("sigma", 1.0), size=params.get("samples", 100))
    return {
        "mean": float(draws.mean()),
        "max": float(draws.max()),
        "exceeded": float(draws.max() > params.get("threshold", 2.0)),
    }


def queue_waits(params: dict[str, Any], seed: int) -> dict[str, float]:
    """A CPU-bound single-server queue (Lindley recursion in pure Python).

    `customers` arrivals at rate `arrival_rate`, service rate `service_rate`. The loop is
    deliberately plain Python over small blocks of draws, so one run is single-threaded CPU
    work with a small memory footprint (about 0.25 s for the default two million customers on
    one current CPU core).
    """
    n = int(params.get("customers", 2_000_000))
    block = 4096
    rng = np.random.default_rng(seed)
    arrival_mean = 1.0 / params.get("arrival_rate", 0.9)
    service_mean = 1.0 / params.get("service_rate", 1.0)
    limit = params.get("long_wait", 20.0)
    wait = total = peak = 0.0
    long_waits = 0
    for start in range(0, n, block):
        size = min(block, n - start)
        gaps = rng.exponential(arrival_mean, size).tolist()
        services = rng.exponential(service_mean, size).tolist()
        for gap, service in zip(gaps, services, strict=True):
            wait = wait + service - gap
            if wait < 0.0:
                wait = 0.0
            total += wait
            if wait > peak:
                peak = wait
            if wait > limit:
                long_waits += 1
    return {
        "mean_wait": total / n,
        "max_wait": peak,
        "share_long_waits": long_waits / n,
        "any_long_wait": float(long_waits > 0),
    }
