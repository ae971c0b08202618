"""Citizens and the policy maker: panic under its ceiling, stale reports never override newer
knowledge, a decision's budget split adds up."""

from __future__ import annotations

import math

import pytest

from simulator.infra import agents
from simulator.infra.scenario import CitizenSpec, PolicySpec
from tests.helpers_infra import service_world


def rejected(t: float, cid: str = "c1"):
    return (t, "desk", "request_rejected", cid, None)


def test_panic_rises_by_steps_decays_exponentially_and_never_passes_its_ceiling():
    script = [rejected(1.0), rejected(1.0), (3.0, "flood", "flood_warning", "c1", None)]
    script += [rejected(3.0)] * 20
    w, _ = service_world([{"id": "desk", "capacity": 1.0}], ["c1"], script)
    spec = CitizenSpec(id="c1", demand=1.0, uses=["desk"], panic_step=0.5, panic_decay=0.2, panic_max=1.75)
    w.entities["c1"].update(agents.citizen_state(spec))
    panics = []

    def watched(world, ev):  # the real reducer, then what it left
        agents.on_panic(world, ev)
        panics.append(world.entities["c1"]["panic"])

    w.reducers["request_rejected"] = w.reducers["flood_warning"] = watched
    w.run()
    c = w.entities["c1"]
    assert c["rejections"] == 22  # warnings raise panic but are not rejections
    assert max(panics) == 1.75 and c["panic"] == 1.75 and c["panic_at"] == 3.0
    assert panics[:2] == [0.5, 1.0]
    # Two time units of decay, then one more step (the warning), then the next rejection:
    assert panics[2] == pytest.approx(1.0 * math.exp(-0.2 * 2.0) + 0.5)
    assert panics[3] == pytest.approx(panics[2] + 0.5)  # same time: no decay
    assert panics[4:] == [1.75] * 19  # 2.17 is capped, and stays capped
    assert agents.panic_now(c, 5.0) == pytest.approx(1.75 * math.exp(-0.4))


def report(t: float, seen_at: float, statuses: dict[str, str], agency: str = "agency"):
    return (t, agency, "report", "policy", {"seen_at": seen_at, "statuses": statuses})


def policy_world(script, **spec):
    desks = [{"id": sid, "capacity": 1.0} for sid in ("a", "b", "c", "d")]
    w, sink = service_world(desks, script=script)
    w.register("policy", "policy", agents.policy_state(PolicySpec(id="policy", **spec)))
    return w, sink


def test_an_older_report_never_overrides_newer_knowledge():
    script = [
        report(1.0, seen_at=0.8, statuses={"a": "failed", "b": "ok"}),
        report(2.0, seen_at=0.5, statuses={"a": "ok", "b": "failed", "c": "overloaded"}),  # arrived late
        report(3.0, seen_at=2.5, statuses={"b": "ok"}),
    ]
    w, _ = policy_world(script)
    w.run()
    p = w.entities["policy"]
    assert p["known"] == {"a": "failed", "b": "ok", "c": "overloaded"}
    assert p["known_at"] == {"a": 0.8, "b": 2.5, "c": 0.5}
    assert p["reports"] == 3
    assert agents.stressed_known(p) == ["a", "c"]


def decide(t: float, targets: list[str], based_on: float = 0.0):
    return (t, "policy", "policy_decision", "policy", {"targets": targets, "based_on": based_on})


def test_a_decision_splits_its_budget_exactly_and_reallocation_nets_to_zero():
    script = [
        report(0.5, 0.5, {"a": "failed", "b": "overloaded", "c": "ok", "d": "ok"}),
        decide(1.0, ["a", "b", "c"]),  # c is known ok by now: not a target
        decide(2.0, ["a", "b"]),
        decide(3.0, ["a", "b"]),  # the budget is spent: nothing happens
    ]
    w, sink = policy_world(script, budget=1.5, per_decision=1.0, mode="both", reallocate=0.5)
    w.run()
    p = w.entities["policy"]
    assert p["budget"] == 0.0
    assert [(d["at"], d["targets"], d["amount"]) for d in p["decisions"]] == [
        (1.0, ["a", "b"], 1.0),
        (2.0, ["a", "b"], 0.5),
    ]
    by_decision: dict[int, list] = {}
    for r in sink.records:
        if r.type in ("budget_release", "capacity_reallocation"):
            by_decision.setdefault(r.cause, []).append((r.type, r.target, r.payload))
    spent = []
    for effects in by_decision.values():
        released = [pl["amount"] for kind, _, pl in effects if kind == "budget_release"]
        bonuses = {t: pl["bonus"] for kind, t, pl in effects if kind == "capacity_reallocation"}
        assert {t for kind, t, _ in effects if kind == "budget_release"} == {"a", "b"}
        assert released[0] == released[1]
        spent.append(sum(released))
        assert bonuses["a"] == bonuses["b"] > 0 and bonuses["c"] == bonuses["d"] < 0
        assert sum(bonuses.values()) == pytest.approx(0.0, abs=1e-12)
        assert bonuses["a"] + bonuses["b"] == pytest.approx(0.5 * sum(released))
    assert spent == [1.0, 0.5]
    assert w.entities["a"]["bonus"] == pytest.approx(0.25 + 0.125)
    assert w.entities["c"]["bonus"] == pytest.approx(-(0.25 + 0.125))


def test_a_budget_release_only_decision_moves_no_capacity():
    script = [report(0.5, 0.5, {"a": "failed", "b": "ok"}), decide(1.0, ["a"])]
    w, sink = policy_world(script, budget=1.0, per_decision=0.25, mode="budget_release")
    w.run()
    kinds = [(r.type, r.target, r.payload) for r in sink.records if r.cause and r.type != "report"]
    assert kinds == [("budget_release", "a", {"amount": 0.25})]
    assert w.entities["policy"]["budget"] == 0.75
    assert w.entities["a"]["resource_level"] == 1.0 and w.entities["a"]["interventions"] == 1


def test_the_policy_decides_only_on_enough_known_trouble():
    script = [report(0.5, 0.4, {"a": "failed", "b": "ok", "c": "ok"})]
    w, sink = policy_world(script, budget=1.0, trigger=2, review_every=1.0)
    w.spawn("policy", agents.policy)
    w.run(until=3.5)
    assert not [r for r in sink.records if r.type == "policy_decision"]
    w2, sink2 = policy_world(script + [report(1.5, 1.2, {"b": "overloaded"})], budget=1.0, trigger=2)
    w2.spawn("policy", agents.policy)
    w2.run(until=3.5)
    decisions = [r for r in sink2.records if r.type == "policy_decision"]
    assert decisions and decisions[0].time == 2.0
    assert decisions[0].payload == {"targets": ["a", "b"], "based_on": 1.2}
