"""The flood actor on a hand-built world: its onset and warnings, each service reached
`i x spread` after the onset (exactly at that tick), damage per tick, surge requests drawn
from its own stream, and the recede at the end of its duration."""

from __future__ import annotations

import pytest

from simulator.engine import RngStreams, World
from simulator.infra import flood
from simulator.infra.scenario import FloodSpec


def run_flood(**spec) -> tuple[list, dict]:
    fs = FloodSpec(**({"id": "river", "services": ["a", "b", "c"]} | spec))
    w = World(seed=5)
    w.register("river", "flood", flood.flood_state(fs, ["p", "q"]))
    flood.install(w)
    seen: list = []
    for kind in ("flood_damage", "request", "flood_warning"):
        w.on(kind, lambda world, ev: seen.append((world.now, ev.type, ev.target, dict(ev.payload))))
    active = []
    w.on("look", lambda world, ev: active.append((world.now, world.entities["river"]["active"])))
    from simulator.engine import Event

    for t in (0.5, 1.5, 4.5):
        w.emit(Event("look", "x", "river", delay=t))
    w.spawn("river", flood.flood)
    w.run()
    return seen, {"active": active, "state": w.entities["river"]}


def test_the_flood_warns_damages_each_service_from_its_reach_and_recedes():
    seen, info = run_flood(
        start=1.0, duration=2.0, tick=0.5, spread=0.5, intensity=2.0, damage_rate=0.25, surge_rate=0.0
    )
    assert [x for x in seen if x[1] == "flood_warning"] == [
        (1.0, "flood_warning", "p", {}),
        (1.0, "flood_warning", "q", {}),
    ]
    damage = [(t, target, p["damage"]) for t, kind, target, p in seen if kind == "flood_damage"]
    per_tick = 2.0 * 0.25 * 0.5
    expected = []
    for t in (1.0, 1.5, 2.0, 2.5):
        for i, sid in enumerate("abc"):
            if 1.0 + i * 0.5 <= t:
                expected.append((t, sid, per_tick))
    assert damage == expected
    assert not [x for x in seen if x[1] == "request"]
    assert info["active"] == [(0.5, False), (1.5, True), (4.5, False)]
    assert info["state"]["warned"] == ["p", "q"] and "id" not in info["state"] and "kind" not in info["state"]


def test_surge_requests_are_poisson_draws_of_the_floods_own_stream():
    seen, _ = run_flood(start=0.0, duration=1.0, tick=0.25, spread=0.0, intensity=1.5, surge_rate=4.0)
    draws = RngStreams(5)("actor/river")
    expected = []
    for t in (0.0, 0.25, 0.5, 0.75):
        for sid in "abc":
            expected += [(t, sid)] * int(draws.poisson(1.5 * 4.0 * 0.25))
    got = [(t, target) for t, kind, target, _ in seen if kind == "request"]
    assert got == expected and len(got) > 0


def test_a_tick_as_long_as_the_flood_acts_once():
    seen, _ = run_flood(start=0.0, duration=1.0, tick=1.0, spread=0.0, surge_rate=0.0)
    assert [t for t, kind, _, _ in seen if kind == "flood_damage"] == [0.0, 0.0, 0.0]


def test_a_service_reached_on_a_tick_up_to_rounding_is_damaged_on_it():
    # ten ticks of 0.1 add up to 0.7999999999999999 at the eighth: b is reached then, not a tick later
    seen, _ = run_flood(start=0.0, duration=1.0, tick=0.1, spread=0.8, surge_rate=0.0, services=["a", "b"])
    first_b = min(t for t, kind, target, _ in seen if kind == "flood_damage" and target == "b")
    assert first_b == pytest.approx(0.8) and first_b < 0.8
