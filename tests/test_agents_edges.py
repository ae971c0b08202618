"""Citizens, agencies and the policy maker at their edges, on hand-built worlds: panic's rate
factors at the threshold, its ceiling and decay, reports that never let older news win, a
decision's budget split, the trigger and coverage boundaries, and crews sent worst first."""

from __future__ import annotations

import math

import pytest

from simulator.engine import Event, World
from simulator.infra import agents
from simulator.infra.scenario import AgencySpec, CitizenSpec, PolicySpec


def test_the_rate_factor_surges_from_the_threshold_on():
    assert agents.rate_factor(0.0, 1.5, 2.0) == 1.0
    assert agents.rate_factor(1.4, 1.5, 2.0) == pytest.approx(2.4)
    assert agents.rate_factor(1.5, 1.5, 2.0) == 5.0
    assert agents.rate_factor(2.0, 1.5, 0.5) == 1.5


def test_the_bound_dominates_the_rate_while_panic_decays():
    for threshold, surge in ((1.5, 2.0), (1.5, 0.5), (0.5, 1.0), (1.0, 0.2)):
        for p in (0.0, 0.3, threshold - 1e-9, threshold, threshold + 0.7, 3.0):
            bound = agents.bound_factor(p, threshold, surge)
            rates = [agents.rate_factor(p * f, threshold, surge) for f in [i / 200 for i in range(201)]]
            assert bound >= max(rates) - 1e-12
            assert agents.floor_factor(threshold, surge) <= min(rates) + 1e-12
    assert agents.bound_factor(1.0, 1.5, 2.0) == 2.0
    assert agents.bound_factor(1.5, 1.5, 2.0) == 5.0
    assert agents.bound_factor(2.0, 1.5, 0.5) == 2.5  # decaying below the threshold: back to 1 + threshold
    assert agents.floor_factor(1.5, 2.0) == 1.0 and agents.floor_factor(1.0, 0.2) == pytest.approx(0.4)


def test_panic_decays_exponentially_from_its_last_rise():
    c = {"panic": 2.0, "panic_at": 1.0, "panic_decay": 0.5}
    assert agents.panic_now(c, 1.0) == 2.0
    assert agents.panic_now(c, 3.0) == pytest.approx(2.0 * math.exp(-1.0))
    assert agents.panic_now(c, 3.0, decay=0.25) == pytest.approx(2.0 * math.exp(-0.5))
    assert agents.panic_now({"panic": 0.0, "panic_at": 5.0, "panic_decay": 0.5}, 1.0) == 0.0


SPEC = CitizenSpec(id="p", demand=2.0, uses=["s"], panic_step=0.5, panic_max=1.2, panic_decay=0.1)


def test_a_citizens_panic_steps_up_to_its_ceiling_and_counts_rejections_only():
    w = World(seed=1)
    w.register("p", "citizen", agents.citizen_state(SPEC))
    agents.install(w)
    w.emit(Event("request_rejected", "s", "p"))
    w.emit(Event("flood_warning", "river", "p", delay=2.0))
    w.emit(Event("request_rejected", "s", "p", delay=3.0))
    seen = []
    w.on("look", lambda world, ev: seen.append(dict(world.entities["p"])))
    for t in (0.0, 2.0, 3.0):
        w.emit(Event("look", "x", "p", delay=t))
    w.run()
    first = 0.5
    second = first * math.exp(-0.1 * 2.0) + 0.5  # decayed, then one step up
    assert second * math.exp(-0.1) + 0.5 > 1.2
    assert [s["panic"] for s in seen] == [first, pytest.approx(second), 1.2]
    assert [s["rejections"] for s in seen] == [1, 1, 2]
    assert seen[-1]["panic_at"] == 3.0


def test_a_group_members_rise_updates_its_bound_in_the_groups_tree():
    spec = CitizenSpec(id="g", count=3, demand=2.0, uses=["s"], panic_step=2.0, panic_threshold=1.5)
    w = World(seed=1)
    members = [f"g_{i}" for i in range(3)]
    w.register("g", "citizen_group", agents.group_state(spec, members))
    for i, m in enumerate(members):
        w.register(m, "citizen", agents.member_state("g", i))
    agents.install(w)
    w.emit(Event("request_rejected", "s", "g_2"))
    w.run()
    g = w.entities["g"]
    assert g["size"] == 4 and len(g["excess"]) == 8
    expected = 2.0 * (agents.bound_factor(2.0, 1.5, spec.panic_surge) - g["floor"])
    assert g["excess"][4 + 2] == expected and g["excess"][1] == expected
    assert w.entities["g_2"]["panic"] == 2.0 and w.entities["g_2"]["rejections"] == 1
    assert w.entities["g_0"]["panic"] == 0.0
    assert agents.group_state(spec, ["a"])["size"] == 1
    assert agents.group_state(spec, ["a", "b", "c", "d", "e"])["size"] == 8


def test_every_citizens_panic_is_read_in_either_model():
    w = World(seed=1)
    w.register("p", "citizen", agents.citizen_state(SPEC) | {"panic": 1.0, "panic_at": 0.0})
    w.register("g", "citizen_group", agents.group_state(SPEC, ["g_0"]) | {"panic_decay": 1.0})
    w.register("g_0", "citizen", agents.member_state("g", 0) | {"panic": 1.0})
    w.register("s", "service", {})
    w.env.run(until=2.0)
    assert agents.citizen_panics(w) == [pytest.approx(math.exp(-0.2)), pytest.approx(math.exp(-2.0))]


def policy_world(**spec) -> World:
    w = World(seed=1)
    w.register("pm", "policy", agents.policy_state(PolicySpec(**spec)))
    agents.install(w)
    return w


def test_a_report_never_lets_older_news_win():
    w = policy_world()
    reports = [
        (2.0, {"a": "failed", "b": "ok"}),
        (1.0, {"a": "ok", "c": "overloaded"}),
        (2.0, {"b": "failed"}),
    ]
    for seen_at, statuses in reports:
        w.emit(Event("report", "agency", "pm", {"seen_at": seen_at, "statuses": statuses}))
    w.run()
    p = w.entities["pm"]
    assert p["known"] == {"a": "failed", "b": "failed", "c": "overloaded"}
    assert p["known_at"] == {"a": 2.0, "b": 2.0, "c": 1.0}
    assert p["reports"] == 3
    assert agents.stressed_known(p) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("mode", "budget", "expected"),
    [
        ("budget_release", 5.0, [("budget_release", "a", 0.5), ("budget_release", "c", 0.5)]),
        ("budget_release", 0.6, [("budget_release", "a", 0.3), ("budget_release", "c", 0.3)]),
        (
            "capacity_reallocation",
            5.0,
            [
                ("capacity_reallocation", "a", 0.25),
                ("capacity_reallocation", "c", 0.25),
                ("capacity_reallocation", "b", -0.25),
                ("capacity_reallocation", "d", -0.25),
            ],
        ),
        (
            "both",
            5.0,
            [
                ("budget_release", "a", 0.5),
                ("budget_release", "c", 0.5),
                ("capacity_reallocation", "a", 0.25),
                ("capacity_reallocation", "c", 0.25),
                ("capacity_reallocation", "b", -0.25),
                ("capacity_reallocation", "d", -0.25),
            ],
        ),
    ],
)
def test_a_decisions_budget_is_split_over_the_targets_still_in_trouble(mode, budget, expected):
    w = policy_world(mode=mode, budget=budget, per_decision=1.0, reallocate=0.5)
    p = w.entities["pm"]
    p["known"] = {"a": "failed", "b": "ok", "c": "overloaded", "d": "ok"}
    out = agents.on_policy_decision(w, Event("policy_decision", "pm", "pm", {"targets": ["a", "b", "c"]}))
    got = [(e.type, e.target, e.payload.get("amount", e.payload.get("bonus"))) for e in out]
    assert got == [(t, s, pytest.approx(v)) for t, s, v in expected]
    amount = min(budget, 1.0)
    assert p["budget"] == pytest.approx(budget - amount)
    assert p["decisions"] == [{"at": 0.0, "targets": ["a", "c"], "amount": amount}]
    releases = sum(e.payload["amount"] for e in out if e.type == "budget_release")
    assert releases == pytest.approx(amount if mode != "capacity_reallocation" else 0.0)
    assert sum(e.payload["bonus"] for e in out if e.type == "capacity_reallocation") == pytest.approx(0.0)


def test_no_decision_without_budget_targets_or_donors():
    w = policy_world(mode="both", budget=0.0)
    w.entities["pm"]["known"] = {"a": "failed"}
    assert agents.on_policy_decision(w, Event("policy_decision", "pm", "pm", {"targets": ["a"]})) == []
    assert w.entities["pm"]["decisions"] == []
    w = policy_world(budget=3.0)
    w.entities["pm"]["known"] = {"a": "ok"}
    assert agents.on_policy_decision(w, Event("policy_decision", "pm", "pm", {"targets": ["a"]})) == []
    assert w.entities["pm"]["budget"] == 3.0
    w = policy_world(mode="capacity_reallocation", budget=3.0)
    w.entities["pm"]["known"] = {"a": "failed"}
    assert agents.on_policy_decision(w, Event("policy_decision", "pm", "pm", {"targets": ["a"]})) == []
    assert w.entities["pm"]["budget"] == 2.0  # spent, though no donor could give


def run_policy(trigger: int, known: dict, budget: float = 1.0) -> list[dict]:
    w = World(seed=1)
    state = agents.policy_state(PolicySpec(trigger=trigger, budget=budget, review_every=1.0))
    state["known"] = dict(known)
    state["known_at"] = {sid: float(i) / 4 for i, sid in enumerate(sorted(known))}
    w.register("pm", "policy", state)
    decided = []
    w.on("policy_decision", lambda world, ev: decided.append((world.now, ev.payload)))
    w.spawn("pm", agents.policy)
    w.run(until=1.5)
    return decided


def test_the_policy_decides_once_enough_services_are_known_in_trouble():
    known = {"a": "failed", "b": "overloaded", "c": "ok"}
    assert run_policy(2, known) == [(1.0, {"targets": ["a", "b"], "based_on": 0.25})]
    assert run_policy(3, known) == []
    assert run_policy(1, known, budget=0.0) == []


def run_agency(coverage=1.0, crews=1, repair=0.1, policy="pm", states=None, seed=2) -> tuple[list, list]:
    w = World(seed=seed)
    for sid, (status, resource, stress) in (states or {}).items():
        w.register(sid, "service", {"status": status, "resource_level": resource, "stress_level": stress})
    spec = AgencySpec(
        id="crew", services=sorted(states), coverage=coverage, crews=crews, repair_amount=repair
    )
    w.register("crew", "agency", agents.agency_state(spec, policy))
    repairs, reports = [], []
    w.on("repair", lambda world, ev: repairs.append((ev.target, ev.payload["amount"])))
    w.on("report", lambda world, ev: reports.append((ev.target, ev.payload)))
    w.spawn("crew", agents.agency)
    w.run(until=1.5)
    return repairs, reports


STATES = {
    "a": ("ok", 1.0, 0.1),
    "b": ("overloaded", 0.6, 1.2),
    "c": ("ok", 0.6, 1.9),  # as low as b, more stressed: first
    "d": ("failed", 0.9, 0.2),
}


def test_crews_go_to_the_lowest_resource_then_the_most_stressed():
    repairs, reports = run_agency(crews=3, states=STATES)
    assert repairs == [("c", 0.1), ("b", 0.1), ("d", 0.1)]
    statuses = {"a": "ok", "b": "overloaded", "c": "ok", "d": "failed"}
    assert reports == [("pm", {"seen_at": 1.0, "statuses": statuses})]
    repairs, _ = run_agency(crews=1, states=STATES)
    assert repairs == [("c", 0.1)]


def test_no_repair_without_an_amount_and_no_report_without_a_policy():
    repairs, reports = run_agency(repair=0.0, states=STATES)
    assert repairs == [] and len(reports) == 1
    repairs, reports = run_agency(policy=None, states=STATES)
    assert reports == [] and repairs == [("c", 0.1)]
    repairs, reports = run_agency(states={"a": ("ok", 1.0, 0.0)})
    assert repairs == [] and reports == [("pm", {"seen_at": 1.0, "statuses": {"a": "ok"}})]


def test_with_partial_coverage_each_service_is_seen_on_its_own_draw():
    from simulator.engine import RngStreams

    draws = RngStreams(4)("actor/crew")
    visible = [sid for sid in sorted(STATES) if draws.random() < 0.5]
    assert 0 < len(visible) < len(STATES)  # this seed shows some and hides some
    repairs, reports = run_agency(coverage=0.5, crews=4, states=STATES, seed=4)
    assert set(reports[0][1]["statuses"]) == set(visible)
    troubled = [s for s in ("c", "b", "d") if s in visible]
    assert [sid for sid, _ in repairs] == troubled


def test_an_agency_that_saw_nothing_reports_nothing():
    from simulator.engine import RngStreams

    draws = RngStreams(2)("actor/crew")
    assert all(draws.random() >= 0.5 for _ in STATES)  # this seed hides every service
    assert run_agency(coverage=0.5, states=STATES, seed=2) == ([], [])
