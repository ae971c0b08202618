"""The service model against queueing theory: M/M/c mean wait vs Erlang C."""

from __future__ import annotations

import math
import statistics

import pytest
from scipy import stats

from simulator.infra.build import build_world
from simulator.infra.scenario import parse_scenario


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    a = lam / mu
    top = a**c / math.factorial(c) / (1 - a / c)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top) / (c * mu - lam)


def mean_wait(seed: int, lam: float, mu: float, c: int, horizon: float) -> float:
    scenario = parse_scenario(
        {
            "name": "mmc",
            "seed": seed,
            "until": horizon,
            "recording": {"mode": "off"},
            "services": [
                {
                    "id": "desk",
                    "capacity": c * mu,
                    "servers": c,
                    "max_queue": 100000,
                    "overload_at": 1e9,
                    "fail_at": 1e9,
                    "recover_below": 1e9,
                }
            ],
            "citizens": [{"id": "public", "demand": lam, "uses": ["desk"]}],
        }
    )
    w = build_world(scenario)
    w.run(until=scenario.until)
    s = w.entities["desk"]
    return s["total_wait"] / s["started"]


def test_mmc_mean_wait_matches_erlang_c():
    lam, mu, c = 2.0, 1.0, 3
    waits = [mean_wait(seed, lam, mu, c, horizon=3000.0) for seed in range(12)]
    mean = statistics.fmean(waits)
    half = stats.t.ppf(0.975, len(waits) - 1) * statistics.stdev(waits) / math.sqrt(len(waits))
    expected = erlang_c_wait(lam, mu, c)
    assert abs(mean - expected) <= half, (mean, half, expected)
    assert half < 0.15 * expected  # the interval is tight enough to mean something


def erlang_b(a: float, c: int) -> float:
    """Blocking probability of M/M/c/c at offered load `a` = lambda / mu (Erlang's loss formula)."""
    return a**c / math.factorial(c) / sum(a**k / math.factorial(k) for k in range(c + 1))


def blocking(seed: int, lam: float, mu: float, c: int, horizon: float) -> float:
    """Share of requests refused by a loss system (`max_queue: 0`): no waiting room."""
    scenario = parse_scenario(
        {
            "name": "mmcc",
            "seed": seed,
            "until": horizon,
            "recording": {"mode": "off"},
            "services": [
                {
                    "id": "beds",
                    "capacity": c * mu,
                    "servers": c,
                    "max_queue": 0,
                    "overload_at": 1e9,
                    "fail_at": 1e9,
                    "recover_below": 1e9,
                }
            ],
            "citizens": [{"id": "patients", "demand": lam, "uses": ["beds"], "panic_step": 0}],
        }
    )
    w = build_world(scenario)
    w.run(until=scenario.until)
    s = w.entities["beds"]
    assert s["queue"] == 0 and s["total_wait"] == 0.0  # nobody ever waited
    return s["rejected"] / (s["rejected"] + s["started"])


def test_loss_system_blocking_matches_erlang_b():
    lam, mu, c = 2.0, 1.0, 3
    shares = [blocking(seed, lam, mu, c, horizon=3000.0) for seed in range(12)]
    mean = statistics.fmean(shares)
    half = stats.t.ppf(0.975, len(shares) - 1) * statistics.stdev(shares) / math.sqrt(len(shares))
    expected = erlang_b(lam / mu, c)  # 0.2105
    assert abs(mean - expected) <= half, (mean, half, expected)
    assert half < 0.05 * expected
    assert erlang_b(2.0, 3) == pytest.approx(4 / 19)  # the formula itself, by hand: (8/6) / (19/3)
