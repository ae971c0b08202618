"""Citizens: an exact Poisson process whose rate follows panic; two models of it agree."""

from __future__ import annotations

import copy
import math
import statistics
from bisect import bisect_right
from itertools import accumulate

import numpy as np
import pytest

from simulator.cli import main
from simulator.engine import derive_seeds
from simulator.infra import agents
from simulator.infra.build import build_world, citizen_model
from simulator.infra.equivalence import compare, quantities
from simulator.infra.scenario import parse_scenario

from .conftest import SCENARIOS


def test_sum_tree_picks_each_member_in_proportion_to_its_weight():
    rng = np.random.default_rng(5)
    n, size = 37, 64
    tree = [0.0] * (2 * size)
    weights = [0.0] * n
    for _ in range(300):  # updates up and down, some members back to zero
        i = int(rng.integers(n))
        weights[i] = float(rng.choice([0.0, rng.random() * 3]))
        agents.tree_set(tree, size, i, weights[i])
    assert tree[1] == pytest.approx(sum(weights))
    cumulative = list(accumulate(weights))
    for u in np.linspace(0, tree[1], 1000, endpoint=False):
        expected = bisect_right(cumulative, u)  # independent: a linear cumulative search
        got = agents.tree_pick(tree, size, float(u))
        assert got == expected or weights[got] > 0 and abs(cumulative[got] - u) < 1e-9


def test_rate_bound_dominates_the_rate_until_the_next_jump():
    for threshold, surge in ((1.5, 2.0), (1.0, 0.3), (0.5, 1.0)):
        for p0 in (0.0, 0.3, 0.99, 1.0, 1.2, 3.0):
            bound = agents.bound_factor(p0, threshold, surge)
            floor = agents.floor_factor(threshold, surge)
            for q in np.linspace(0.0, p0, 50):  # panic only decays from p0 until a jump
                rate = agents.rate_factor(float(q), threshold, surge)
                assert floor - 1e-12 <= rate <= bound + 1e-12


def warned_town(model: str, until: float = 40.0, step: float = 2.0) -> dict:
    """300 citizens warned at t=10, a service that never refuses: demand is panic alone."""
    return {
        "name": "warned_town",
        "until": until,
        "citizen_model": model,
        "recording": {"mode": "off"},
        "services": [{"id": "big", "capacity": 1e6, "servers": 100, "max_queue": 100000}],
        "citizens": [
            {
                "id": "r",
                "count": 300,
                "demand": 0.03,
                "panic_threshold": 1.5,
                "panic_step": step,
                "panic_decay": 0.1,
                "panic_surge": 2.0,
                "panic_max": 4.0,
                "uses": ["big"],
            }
        ],
        "stressors": [
            {
                "id": "flood",
                "start": 10.0,
                "duration": 1.0,
                "services": ["big"],
                "damage_rate": 0.0,
                "surge_rate": 0.0,
                "warn": ["r"],
            }
        ],
    }


@pytest.mark.parametrize("model", ["individual", "population"])
def test_demand_follows_panic_from_the_instant_of_the_warning(model):
    """Expected requests = the integral of the documented rate, panic rising at t=10 (above
    the surge threshold) and decaying. A rate frozen until each citizen's next request (the
    previous model) gives 436 requests here against 602 expected, 30 standard errors short."""
    n, d, step, k, T = 300, 0.03, 2.0, 0.1, 40.0

    def rate(t: float) -> float:
        if t < 10:
            return d
        p = step * math.exp(-k * (t - 10))
        return d * (1 + p) * (2.0 if p >= 1.5 else 1.0)

    grid = 40_000
    expected = n * sum(rate((i + 0.5) * T / grid) for i in range(grid)) * T / grid
    counts = [quantities(warned_town(model), seed)["total/demand"] for seed in derive_seeds(3, 24)]
    se = statistics.stdev(counts) / math.sqrt(len(counts))
    assert abs(statistics.mean(counts) - expected) < 4 * se, (statistics.mean(counts), expected, se)


def panic_town() -> dict:
    """A small town where rejections and a warning drive panic, and panic drives demand."""
    return {
        "name": "panic_town",
        "until": 50.0,
        "recording": {"mode": "off"},
        "latency": {
            "channels": [
                {
                    "source": "citizen",
                    "target": "service",
                    "event": "request",
                    "base": 0.01,
                    "dist": "exponential",
                    "scale": 0.02,
                },
                {"source": "service", "target": "service", "event": "dependency_degraded", "base": 0.5},
                {"source": "service", "target": "service", "event": "dependency_restored", "base": 0.5},
            ]
        },
        "services": [
            {"id": "power", "capacity": 9.0, "servers": 3, "max_queue": 10},
            {"id": "roads", "capacity": 6.0, "servers": 2, "max_queue": 10, "depends_on": ["power"]},
            {
                "id": "clinic",
                "capacity": 5.0,
                "servers": 2,
                "max_queue": 10,
                "depends_on": ["power", "roads"],
            },
        ],
        "citizens": [
            {
                "id": "residents",
                "count": 300,
                "demand": 0.03,
                "panic_threshold": 1.5,
                "panic_step": 1.0,
                "panic_decay": 0.1,
                "panic_surge": 2.0,
                "panic_max": 4.0,
                "uses": ["roads", "clinic", "power"],
            }
        ],
        "agencies": [{"id": "crew", "services": ["power", "roads", "clinic"], "patrol_every": 2.0}],
        "stressors": [
            {
                "id": "flood",
                "start": 10.0,
                "duration": 15.0,
                "services": ["power", "roads"],
                "tick": 1.0,
                "damage_rate": 0.04,
                "surge_rate": 1.0,
                "warn": ["residents"],
            }
        ],
    }


def samples(config: dict, model: str, master: int, n: int = 20) -> list[dict[str, float]]:
    return [quantities({**config, "citizen_model": model}, seed) for seed in derive_seeds(master, n)]


@pytest.fixture(scope="module")
def individual_runs():
    return samples(panic_town(), "individual", master=1)


def test_individual_and_population_models_agree(individual_runs):
    """The light version of experiments/citizen_equivalence.py: per-service demand,
    rejections, failure times, cascade frequency; Welch / Fisher tests, Holm-corrected."""
    result = compare(individual_runs, samples(panic_town(), "population", master=2))
    assert result["tests"] >= 8
    assert result["agree"], [r for r in result["rows"] if r["rejected"]]


def test_the_comparison_notices_a_changed_panic_step(individual_runs):
    """The same test fails when one model's panic step differs (x1.5): it can fail."""
    changed = copy.deepcopy(panic_town())
    changed["citizens"][0]["panic_step"] *= 1.5
    result = compare(individual_runs, samples(changed, "population", master=2))
    assert not result["agree"]
    assert any(r["rejected"] and r["quantity"].startswith("demand/") for r in result["rows"])


def test_the_model_is_chosen_by_size_unless_named():
    town = parse_scenario(warned_town("auto"))
    assert town.citizen_count() == 300 and citizen_model(town) == "individual"
    big = warned_town("auto")
    big["citizens"][0]["count"] = 1000
    assert citizen_model(parse_scenario(big)) == "population"
    assert citizen_model(parse_scenario(warned_town("population"))) == "population"
    w = build_world(parse_scenario(warned_town("population")))
    assert w.kinds["group:r"] == "citizen_group"
    assert sum(k == "citizen" for k in w.kinds.values()) == 300  # members stay addressable


def test_an_unknown_citizen_model_is_one_error_line(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(SCENARIOS / "flood_overload.yaml"),
            "--set",
            "citizen_model=crowd",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "citizen_model" in err and "population" in err
    assert err.count("\n") == 1 and not out.exists()


def test_population_runs_are_deterministic_and_replay(tmp_path):
    from simulator.infra.run import run_scenario, validate_run
    from simulator.infra.scenario import load_scenario

    s = load_scenario(str(SCENARIOS / "flood_town.yaml"), {"until": 150, "citizen_model": "population"})
    a = run_scenario(s, tmp_path / "a", quiet=True)
    b = run_scenario(s, tmp_path / "b", quiet=True)
    assert a["chain_head"] == b["chain_head"]
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
    assert validate_run(tmp_path / "a")["valid"]
    other = run_scenario(s.model_copy(update={"citizen_model": "individual"}), tmp_path / "c", quiet=True)
    assert other["chain_head"] != a["chain_head"]


def test_a_reducer_wakes_a_sleeping_actor_at_once_and_only_a_sleeping_one():
    """The kernel's part: `ctx.sleep` is cut short by `World.wake` (after the waking event);
    a plain `ctx.wait` is not."""
    from simulator.engine import Event, Woken, World

    w = World(seed=1)
    w.register("sleeper", "agent", {})
    w.register("waiter", "agent", {})
    w.register("alarm", "agent", {})
    seen: list[tuple[str, float, str]] = []

    def sleeper(ctx):
        try:
            yield ctx.sleep(100.0)
            seen.append(("sleeper", ctx.now, "slept"))
        except Woken:
            seen.append(("sleeper", ctx.now, "woken"))

    def waiter(ctx):
        yield ctx.wait(10.0)
        seen.append(("waiter", ctx.now, "waited"))

    def alarm(ctx):
        yield ctx.wait(3.0)
        ctx.emit("ring", "sleeper")
        ctx.emit("ring", "waiter")

    def ring(world, ev: Event) -> None:
        seen.append(("ring", world.now, ev.target))
        world.wake(ev.target)

    w.on("ring", ring)
    for name, behaviour in (("sleeper", sleeper), ("waiter", waiter), ("alarm", alarm)):
        w.spawn(name, behaviour)
    w.run()
    assert seen == [
        ("ring", 3.0, "sleeper"),
        ("sleeper", 3.0, "woken"),
        ("ring", 3.0, "waiter"),
        ("waiter", 10.0, "waited"),
    ]
