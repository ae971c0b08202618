"""A run's key outcomes from a hand-built final state, each figure worked out by hand."""

from __future__ import annotations

import math

import pytest

from simulator.engine import World
from simulator.infra.outcomes import outcomes


def service(status="ok", failures=0, overloads=0, cascade=0, first_failure=None, served=0, rejected=0,
            wait=0.0, started=0, interventions=0, first_intervention=None) -> dict:  # fmt: skip
    return {
        "status": status,
        "failures": failures,
        "overloads": overloads,
        "cascade_failures": cascade,
        "first_failure_at": first_failure,
        "served": served,
        "rejected": rejected,
        "total_wait": wait,
        "started": started,
        "interventions": interventions,
        "first_intervention_at": first_intervention,
    }


def world() -> World:
    w = World(seed=1)
    w.register("a", "service", service("failed", 2, 1, 1, 4.0, 30, 10, 12.0, 40, 1, 6.5))
    w.register("b", "service", service("overloaded", 0, 3, 0, None, 50, 5, 0.0, 0, 2, 5.5))
    w.register("c", "service", service("ok", 1, 0, 0, 2.5, 20, 0, 3.0, 20))
    w.register("d", "service", service())
    w.register("p", "citizen", {"panic": 1.0, "panic_at": 0.0, "panic_decay": 0.5})
    w.register("q", "citizen", {"panic": 0.0, "panic_at": 0.0, "panic_decay": 0.5})
    decisions = [{"at": 3.0, "targets": ["a"], "amount": 1.0}, {"at": 5.0, "targets": ["b"], "amount": 1.0}]
    w.register("pm", "policy", {"decisions": decisions, "budget": 0.25})
    w.env.run(until=2.0)
    w.seq = 77
    return w


def test_every_outcome_of_a_hand_built_final_state():
    out = outcomes(world())
    services = out.pop("services")
    mean_panic = out.pop("mean_panic")
    assert out == {
        "events": 77,
        "end_time": 2.0,
        "served": 100,
        "unmet_demand": 15,
        "unmet_share": 15 / 115,
        "services_failed": 2,
        "services_overloaded": 3,
        "cascade": True,
        "cascade_failures": 1,
        "first_failure_at": 2.5,
        "first_decision_at": 3.0,
        "first_intervention_at": 5.5,
        "decisions": 2,
        "budget_left": 0.25,
        "recovered": False,
        "final_failed": ["a"],
    }
    assert mean_panic == pytest.approx((math.exp(-1.0) + 0.0) / 2)
    assert services["a"]["mean_wait"] == 12.0 / 40 and services["b"]["mean_wait"] == 0.0
    expected = service("ok", 1, 0, 0, 2.5, 20, 0, 3.0, 20) | {"mean_wait": 0.15}
    del expected["total_wait"], expected["started"]
    assert services["c"] == expected


def test_the_outcomes_of_a_quiet_world_without_policy_or_citizens():
    w = World(seed=1)
    w.register("a", "service", service())
    out = outcomes(w)
    assert out["unmet_share"] == 0.0 and out["recovered"] is True and out["final_failed"] == []
    assert out["first_failure_at"] is None and out["first_intervention_at"] is None
    assert out["first_decision_at"] is None and out["decisions"] == 0 and out["budget_left"] is None
    assert out["mean_panic"] == 0.0 and out["cascade"] is False and out["services_overloaded"] == 0
