"""The post-mortem's building blocks on small hand-built records whose answers are known.

Episodes, service effects, detections, decisions, the timeline, damage and what-if parsing,
each against a handful of rows written out below (the same columns `load_run` reads), with
the boundaries (a snapshot at an episode's exact start or end, an episode still open at the
end, ties in time) spelled out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from simulator.analysis import findings as fd
from simulator.analysis import whatif
from simulator.analysis.cascade import CascadeLink, cascade, cause_chain, roots
from simulator.analysis.episodes import Episode, episodes, service_effects
from simulator.analysis.gat_findings import IDLE, GatInput, gat_findings, gat_input, verdict
from simulator.analysis.policy_timeline import Decision, decisions, detections
from simulator.analysis.run_data import AnalysisError, RunData

COLUMNS = [
    "seq", "time", "event_type", "source", "target", "cause", "payload",
    "service_id", "status", "stress_level", "resource_level", "rejected", "degraded_by",
]  # fmt: skip


def run_of(
    rows: list[tuple], services=("a", "b", "c"), end: float = 20.0, outcomes=None, **config
) -> RunData:
    """A RunData from rows (seq, time, event_type, source, target, cause, payload, service,
    status, stress, resource, rejected); a record without a service has service ''."""
    frame = pd.DataFrame([(*r, "") if len(r) == 12 else r for r in rows], columns=COLUMNS)
    frame["cause"] = frame["cause"].astype("float64")
    per_service = {s: {"served": 10 + i, "rejected": i, "status": "ok"} for i, s in enumerate(services)}
    summary = {
        "scenario": "hand",
        "seed": 2**33 + 2**31 + 5,
        "chain_head": "f" * 64,
        "config": {"services": [{"id": s, "capacity": 5} for s in services], **config},
        "outcomes": {"end_time": end, "events": len(rows), "services": per_service, **(outcomes or {})},
    }
    first = ~frame["seq"].duplicated().to_numpy()
    events = frame.loc[first, ["seq", "time", "event_type", "source", "target", "cause", "payload"]]
    return RunData(Path("hand"), summary, frame, events.set_index("seq"))


def state(seq, time, service, status, stress=0.5, resource=1.0, rejected=0, event="tick", cause=None):
    return (seq, time, event, "x", service, cause, "", service, status, stress, resource, rejected)


def event(seq, time, kind, source="x", target="", cause=None, payload=None):
    text = json.dumps(payload) if payload is not None else ""
    return (seq, time, kind, source, target, cause, text, "", "", math.nan, math.nan, math.nan)


# -- episodes ------------------------------------------------------------------------------------
ROWS = [
    state(1, 1.0, "a", "ok", 0.2, 1.0),
    state(2, 2.0, "a", "overloaded", 1.5, 0.8, rejected=1),
    state(3, 2.0, "b", "overloaded", 1.2, 0.9),
    state(4, 3.0, "a", "failed", 3.0, 0.1, rejected=4),
    state(5, 4.0, "a", "overloaded", 2.0, 0.3, rejected=6),
    state(6, 5.0, "a", "ok", 0.4, 0.7, rejected=6),
    state(7, 6.0, "b", "ok", 0.3, 1.0),
    state(8, 9.0, "a", "overloaded", 1.1, 0.6, rejected=6),
    state(9, 12.0, "b", "failed", 2.5, 0.2),
]


def test_episodes_are_the_runs_of_rows_out_of_ok_in_order_of_start():
    found = episodes(run_of(ROWS))
    assert found == [
        Episode("a", 2.0, 5.0, "failed", 3.0, 0.1, 2),
        Episode("b", 2.0, 6.0, "overloaded", 1.2, 0.9, 3),
        Episode("a", 9.0, None, "overloaded", 1.1, 0.6, 8),
        Episode("b", 12.0, None, "failed", 2.5, 0.2, 9),
    ]
    assert found[0].duration == 3.0 and found[2].duration is None
    assert episodes(run_of([state(1, 0.0, "a", "ok")])) == []
    assert episodes(run_of([event(1, 0.0, "flood")])) == []


def test_an_episode_from_a_services_first_row_to_another_services_row_is_not_closed_by_it():
    rows = [state(1, 0.0, "a", "overloaded"), state(2, 1.0, "b", "ok"), state(3, 2.0, "b", "overloaded")]
    assert [(e.service, e.start, e.end) for e in episodes(run_of(rows))] == [
        ("a", 0.0, None),
        ("b", 2.0, None),
    ]


def test_service_effects_sum_time_not_ok_to_the_end_and_default_unwritten_services():
    run = run_of(ROWS, end=20.0)
    frame = service_effects(run).set_index("service")
    a, b, c = frame.loc["a"], frame.loc["b"], frame.loc["c"]
    assert (a.episodes, a.time_not_ok, a.first_failure, a.peak_stress, a.min_resource) == (
        2,
        3.0 + 11.0,
        3.0,
        3.0,
        0.1,
    )
    assert (b.episodes, b.time_not_ok, b.first_failure) == (2, 4.0 + 8.0, 12.0)
    assert (c.episodes, c.time_not_ok, c.peak_stress, c.min_resource) == (0, 0.0, 0.0, 1.0)
    assert c.first_failure is None or pd.isna(c.first_failure)
    assert (c.served, c.rejected, c.final_status) == (12, 2, "ok")


def test_rejected_during_an_episode_is_the_counters_rise_inside_it():
    run = run_of(ROWS)
    eps = episodes(run)
    got = fd.rejected_during(run.states(), eps, 20.0)
    assert got == {("a", 2): 6, ("b", 3): 0, ("a", 8): 0, ("b", 9): 0}


def test_the_episode_running_at_a_time_includes_both_ends():
    eps = {"a": [Episode("a", 2.0, 5.0, "failed", 1, 1, 2), Episode("a", 5.0, None, "overloaded", 1, 1, 6)]}
    assert fd._episode_of(eps, "a", 1.9) is None
    assert fd._episode_of(eps, "a", 2.0).start_seq == 2
    assert fd._episode_of(eps, "a", 5.0).start_seq == 6  # the latest that started by then
    assert fd._episode_of(eps, "a", 99.0).start_seq == 6
    assert fd._episode_of(eps, "b", 3.0) is None


# -- policy --------------------------------------------------------------------------------------
def test_detections_match_a_report_to_the_episode_its_snapshot_saw_ends_included():
    rows = ROWS + [
        event(
            20, 2.5, "report", payload={"seen_at": 2.0, "statuses": {"a": "overloaded", "b": "ok", "c": "ok"}}
        ),
        event(21, 3.5, "report", payload={"seen_at": 3.0, "statuses": {"a": "failed"}}),
        event(22, 6.5, "report", payload={"seen_at": 6.0, "statuses": {"b": "overloaded"}}),  # at b's end
        event(23, 7.0, "report", payload={"seen_at": 7.0, "statuses": {"a": "overloaded"}}),  # no episode
    ]
    run = run_of(rows)
    eps = episodes(run)
    seen, missed = detections(run, eps)
    assert [
        (d.service, d.episode_start, d.observed_at, d.report_arrived, d.status_seen, d.report_seq)
        for d in seen
    ] == [
        ("a", 2.0, 2.0, 2.5, "overloaded", 20),
        ("b", 2.0, 6.0, 6.5, "overloaded", 22),
    ]
    assert seen[0].worst == "failed" and seen[0].delay == 0.0 and seen[1].delay == 4.0
    assert [(e.service, e.start) for e in missed] == [("a", 9.0), ("b", 12.0)]


def test_decisions_take_effect_at_the_first_intervention_on_each_of_their_targets():
    rows = [
        event(1, 1.0, "policy_decision", payload={"based_on": 0.5, "targets": ["a", "b"]}),
        event(2, 1.5, "budget_release", target="b", cause=1),
        event(3, 2.0, "capacity_reallocation", target="b", cause=1),  # later: not the first
        event(4, 2.5, "capacity_reallocation", target="c", cause=1),  # not a target
        event(5, 2.7, "budget_release", target="a", cause=None),  # no cause
        event(6, 3.0, "policy_decision", payload={"based_on": 3.0, "targets": ["c"]}),
        event(7, 4.0, "budget_release", target="a", cause=1),
    ]
    decs = decisions(run_of(rows))
    assert decs == [Decision(1, 1.0, 0.5, ["a", "b"], {"b": 1.5, "a": 4.0}), Decision(6, 3.0, 3.0, ["c"], {})]
    assert decs[0].staleness == 0.5 and decs[0].first_effect == 1.5
    assert decs[1].staleness == 0.0 and decs[1].first_effect is None


# -- findings' pieces ----------------------------------------------------------------------------
def test_the_timeline_orders_everything_by_time_then_seq_and_marks_failed_episodes():
    eps = [Episode("a", 2.0, 5.0, "failed", 1, 1, 2), Episode("b", 2.0, 6.0, "overloaded", 1, 1, 3)]
    causes = pd.DataFrame(
        [(3, 2.0, "b", "overloaded", "tick"), (2, 2.0, "a", "overloaded", "flood")],
        columns=["seq", "time", "service", "became", "trigger"],
    )
    decs = [Decision(9, 3.0, 2.5, ["a", "b"], {"b": 4.0, "a": 3.5})]
    entries = fd.timeline((1.0, 7.0), causes, eps, decs)
    assert [(e.time, e.seq, e.kind, e.service, e.text, e.failed_episode) for e in entries] == [
        (1.0, None, "flood", None, "flood begins", False),
        (2.0, 2, "degraded", "a", "**a** overloaded (trigger: flood)", True),
        (2.0, 3, "degraded", "b", "**b** overloaded (trigger: tick)", False),
        (3.0, 9, "decision", None, "policy decides for a, b (on information from t=2.5)", False),
        (3.5, None, "intervention", "a", "intervention reaches a", False),
        (4.0, None, "intervention", "b", "intervention reaches b", False),
        (5.0, None, "recovered", "a", "a back to ok", True),
        (6.0, None, "recovered", "b", "b back to ok", False),
        (7.0, None, "flood", None, "flood recedes", False),
    ]
    assert fd.timeline(None, causes.head(0), [], []) == []


def test_the_flood_window_spans_every_stressor():
    assert fd.flood_window({}) is None
    stressors = [{"start": 5, "duration": 2}, {"start": 3, "duration": 1}, {"start": 4, "duration": 10}]
    assert fd.flood_window({"stressors": stressors}) == (3.0, 14.0)


def test_citizens_are_grouped_by_the_id_of_their_spec():
    groups = fd.citizen_group({"citizens": [{"id": "commuter"}, {"id": "old_folk"}]})
    assert groups == {"commuter": "commuter", "old_folk": "old_folk"}
    assert fd.group_of("commuter", groups) == "commuter"
    assert fd.group_of("commuter_12", groups) == "commuter (citizens)"
    assert fd.group_of("old_folk_3", groups) == "old_folk (citizens)"
    assert fd.group_of("old_folk_x", groups) == "old_folk_x"
    assert fd.group_of("power_1", groups) == "power_1"


def test_the_last_failure_cleared_is_when_the_last_failed_service_left_failed():
    rows = ROWS + [state(10, 15.0, "b", "overloaded"), state(11, 16.0, "b", "ok"), state(12, 17.0, "a", "ok")]
    run = run_of(rows)
    assert fd.failure_cleared_at(run.states(), {"a": "ok", "b": "ok"}) == 15.0
    assert fd.failure_cleared_at(run.states(), {"a": "ok", "b": "failed"}) is None
    calm = run_of([state(1, 0.0, "a", "ok"), state(2, 1.0, "a", "overloaded"), state(3, 2.0, "b", "ok")])
    assert fd.failure_cleared_at(calm.states(), {"a": "ok", "b": "ok"}) is None
    # a failed row followed by another service's row is not a recovery
    split = run_of([state(1, 0.0, "a", "failed"), state(2, 1.0, "b", "ok")])
    assert fd.failure_cleared_at(split.states(), {"a": "ok", "b": "ok"}) is None


def test_damage_follows_links_transitively_and_ranks_by_downstream_unmet_demand():
    rows = [
        state(1, 1.0, "a", "failed", rejected=1),
        state(2, 2.0, "b", "overloaded", rejected=0),
        state(3, 3.0, "c", "failed", rejected=0),
        state(4, 4.0, "b", "ok", rejected=5),
        state(5, 6.0, "c", "ok", rejected=2),
        state(6, 8.0, "a", "ok", rejected=1),
    ]
    run = run_of(rows, end=10.0)
    eps = episodes(run)
    links = [
        CascadeLink("a", "b", "direct", 1, 2, 1.0, 2.0, "overloaded", "r"),
        CascadeLink("b", "c", "contributing", 2, 3, 2.0, 3.0, "failed", "r"),
        CascadeLink("a", "c", "direct", 1, 3, 1.0, 3.0, "failed", "r"),
        CascadeLink("c", "a", "direct", 3, 1, 3.0, 0.5, "failed", "r"),  # no episode of a at 0.5
    ]
    effects = fd._effects(run, eps)
    edges, services = fd.damage(run, eps, links, effects)
    assert [
        (d.upstream, d.downstream, d.episodes, d.failed_episodes, d.rejected, d.time_not_ok) for d in edges
    ] == [
        ("a", "b", 1, 0, 5, 2.0),
        ("a", "c", 1, 1, 2, 3.0),
        ("b", "c", 1, 1, 2, 3.0),
    ]
    by_name = {s.service: s for s in services}
    a = by_name["a"]
    assert (a.direct_episodes, a.downstream_episodes, a.downstream_failed, a.downstream_rejected) == (
        2,
        2,
        1,
        7,
    )
    assert a.downstream_time_not_ok == 5.0 and a.own_time_not_ok == 7.0
    b = by_name["b"]
    assert (b.direct_episodes, b.downstream_episodes, b.downstream_rejected, b.own_rejected) == (1, 1, 2, 1)
    assert [s.service for s in services] == ["a", "b", "c"]


# -- graph attention reading ---------------------------------------------------------------------
def test_the_verdict_in_full_for_each_case():
    assert verdict([("a", "b")], 3, 0.45, 0.5) == (
        "Plainly: the attention's agreement with what really happened is moderate (Spearman 0.45, top-5 "
        "overlap 0.5 over 3 candidate edges). An untrained layer's attention reflects random projections of "
        "the features, not learned causality; the cause links are the ground truth."
    )
    assert verdict([("a", "b")], 2, 0.9, 1.0) == (
        "Only 2 candidate edge(s): any ranking puts the true edge on top, so agreement here says nothing "
        "about the attention's insight."
    )
    assert verdict([], 9, 0.9, 1.0) == (
        "The run's cascade has no dependency link into a failed service, so there is no ground truth for "
        "the attention to match; read the ranking as structure only."
    )


def test_the_gat_reads_overloads_when_nothing_failed_and_idle_features_for_unwritten_services():
    rows = [
        state(1, 1.0, "b", "overloaded", 1.5),
        state(2, 3.0, "a", "overloaded", 1.2),
        state(3, 4.0, "b", "ok"),
    ]
    run = run_of(rows, end=10.0)
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    given = gat_input(run, graph, episodes(run))
    assert given.target_word == "overloaded"
    assert given.failed == {"a": 3.0, "b": 1.0} and list(given.failed) == ["a", "b"]
    assert given.features["c"] == IDLE | {"time_to_first_failure": 10.0}
    assert given.seed == 2**31 + 5  # the run's seed, cut to 32 bits
    failing = run_of(rows + [state(4, 5.0, "c", "failed", 2.0)], end=10.0)
    given = gat_input(failing, graph, episodes(failing))
    assert given.target_word == "failed" and given.failed == {"c": 5.0}


def test_without_an_edge_into_a_failed_service_there_is_nothing_to_rank():
    graph = nx.DiGraph([("a", "b")])
    found, attention = gat_findings(graph, [], GatInput({}, {"a": 1.0}, "failed", 0))
    assert found.candidates == 0 and found.top_edges == [] and attention == {}
    assert found.verdict == "No service with a dependency was failed, so there is no edge to rank."
    assert found.target_word == "failed"


# -- what-if -------------------------------------------------------------------------------------
CONFIG = {
    "services": [{"id": "water", "capacity": 5}, {"id": "power", "capacity": 9}],
    "policy": {"intervention_delay": 2.0, "budget": 10},
    "levels": [1, 2, 3],
}


def test_a_what_if_is_resolved_by_id_or_index_with_its_recorded_value():
    w = whatif.parse_what_ifs(CONFIG, ["services.power.capacity=12"])[0]
    assert (w.spec, w.path, w.value, w.recorded, w.steps) == (
        "services.power.capacity=12",
        "services.power.capacity",
        12,
        9,
        ["services", 1, "capacity"],
    )
    w = whatif._resolve(CONFIG, "services.0.capacity=1.5")
    assert (w.path, w.value, w.recorded) == ("services.water.capacity", 1.5, 5)
    w = whatif._resolve(CONFIG, "levels.2=7")
    assert (w.path, w.recorded, w.steps) == ("levels.2", 3, ["levels", 2])
    w = whatif._resolve(CONFIG, "policy.intervention_delay=x=y")
    assert w.value == "x=y"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("policy", "--what-if 'policy': expected KEY=VALUE, e.g. policy.intervention_delay=0"),
        (
            "services.gas.capacity=1",
            "--what-if services.gas.capacity=1: services has no item 'gas' "
            "(an index below 2 or an id: water, power)",
        ),
        ("services.2.capacity=1", "services has no item '2' (an index below 2"),
        (
            "policy.delay=1",
            "--what-if policy.delay=1: policy has no key 'delay' (allowed: budget, intervention_delay)",
        ),
        ("nope=1", "the scenario has no key 'nope' (allowed: levels, policy, services)"),
        (
            "policy.budget.x=1",
            "--what-if policy.budget.x=1: policy.budget is a value, not a mapping or a list",
        ),
        ("policy.budget=[1", "--what-if policy.budget=[1: cannot read the value '[1'"),
    ],
)
def test_a_bad_what_if_says_where_and_what_is_allowed(spec, message):
    with pytest.raises(AnalysisError) as caught:
        whatif._resolve(CONFIG, spec)
    assert message in str(caught.value)


def test_a_list_of_more_than_twelve_ids_is_cut():
    config = {"s": [{"id": f"n{i}"} for i in range(13)]}
    with pytest.raises(AnalysisError, match=r"n10, n11 \.\.\.\)$"):
        whatif._resolve(config, "s.zz=1")
    config = {"s": [{"id": f"n{i}"} for i in range(12)]}
    with pytest.raises(AnalysisError, match=r"n10, n11\)$"):
        whatif._resolve(config, "s.zz=1")


def test_what_ifs_are_applied_to_a_copy_and_compared_alone_then_together():
    changes = whatif.parse_what_ifs(CONFIG, ["policy.budget=20", "services.water.capacity=6"])
    seen = []

    def rerun(config):
        seen.append(config)
        return {
            "unmet_demand": config["policy"]["budget"] + config["services"][0]["capacity"],
            "recovered": True,
        }

    steps = []
    rows = whatif.compare(CONFIG, {"unmet_demand": 15, "recovered": True}, changes, rerun, steps.append)
    assert [r["label"] for r in rows] == [
        "recorded run",
        "replay, no change",
        "policy.budget=20",
        "services.water.capacity=6",
        "policy.budget=20 + services.water.capacity=6",
    ]
    assert [r["unmet_demand"] for r in rows] == [15, 15, 25, 16, 26]
    assert steps == [
        "replay without change",
        "what-if policy.budget=20",
        "what-if services.water.capacity=6",
        "what-if policy.budget=20 + services.water.capacity=6",
    ]
    assert CONFIG["policy"]["budget"] == 10 and CONFIG["services"][0]["capacity"] == 5
    assert rows[2]["changes"][0]["path"] == "policy.budget" and rows[0]["changes"] == []
    assert set(rows[0]) == {"label", "changes", "final_failed", *whatif.COMPARED}
    one = whatif.compare(CONFIG, {}, changes[:1], rerun)
    assert len(one) == 3
    assert whatif.replay_matches(rows)


def test_a_replay_matches_up_to_ten_significant_digits_only():
    base = {k: 0 for k in whatif.COMPARED}
    assert whatif.replay_matches([base | {"unmet_share": 0.1}, base | {"unmet_share": 0.1 + 1e-12}])
    assert not whatif.replay_matches([base | {"unmet_share": 0.1}, base | {"unmet_share": 0.1001}])
    assert not whatif.replay_matches([base | {"recovered": True}, base | {"recovered": False}])
    assert whatif._same(1, 1) and not whatif._same(1, 2) and whatif._same(None, None)


def test_the_batch_command_names_the_scenario_file_and_every_sweep():
    assert whatif.batch_command("no_such_scenario", {"a.b": [1.0, 2.5, True], "c": ["x"]}, n=7) == (
        "simulator batch <no_such_scenario.yaml> -n 7 --sweep a.b=1,2.5,true --sweep c=x --backend processes"
    )
    here = Path("scenarios/flood_overload.yaml")
    if here.is_file():
        assert whatif.scenario_hint("flood_overload") == "scenarios/flood_overload.yaml"
    assert whatif._fmt(False) == "false" and whatif._fmt(3.0) == "3" and whatif._fmt(0.25) == "0.25"


def test_a_services_downstream_damage_never_counts_its_own_episodes_through_a_cycle():
    rows = [
        state(1, 1.0, "a", "overloaded", rejected=0),
        state(2, 2.0, "b", "overloaded", rejected=0),
        state(3, 3.0, "a", "ok", rejected=3),
        state(4, 4.0, "a", "failed", rejected=3),
        state(5, 5.0, "b", "ok", rejected=4),
        state(6, 6.0, "a", "ok", rejected=9),
    ]
    run = run_of(rows, end=10.0)
    eps = episodes(run)
    links = [
        CascadeLink("a", "b", "direct", 1, 2, 1.0, 2.0, "overloaded", "r"),
        CascadeLink("b", "a", "direct", 2, 4, 2.0, 4.0, "failed", "r"),
    ]
    _, services = fd.damage(run, eps, links, fd._effects(run, eps))
    a = next(s for s in services if s.service == "a")
    # a tipped b (3 time units, 4 rejected), b tipped a again: a's own episode is not downstream of a
    assert (a.downstream_episodes, a.downstream_rejected, a.downstream_time_not_ok, a.downstream_failed) == (
        1,
        4,
        3.0,
        0,
    )
    b = next(s for s in services if s.service == "b")
    assert (b.downstream_episodes, b.downstream_rejected, b.downstream_failed) == (1, 6, 1)


# -- cascade -------------------------------------------------------------------------------------
def row(seq, time, kind, source, target="", cause=None, service="", by=""):
    """A record; with `service`, the row of that service (ok) whose capacity `by` degraded."""
    if not service:
        return (*event(seq, time, kind, source, target, cause), "")
    return (seq, time, kind, source, target, cause, "", service, "ok", 0.5, 1.0, 0, by)


CASCADE = [
    row(1, 1.0, "flood_tick", "river", "a"),
    row(2, 1.0, "service_overloaded", "a", cause=1),
    row(3, 1.5, "dependency_degraded", "a", "b", cause=2),
    row(4, 1.5, "service_failed", "b", cause=3),
    row(5, 2.0, "request", "people_1", "c", service="c", by="a"),
    row(6, 2.0, "service_overloaded", "c", cause=5),
    row(7, 3.0, "request", "people_2", "d", service="d", by="zz"),  # zz never degraded
    row(8, 3.0, "service_overloaded", "d", cause=7),
    row(9, 4.0, "service_overloaded", "e", service="e", by="c"),  # no cause: its own trigger
    row(10, 5.0, "request", "people_3", "g", service="g", by="h"),
    row(11, 5.0, "service_overloaded", "g", cause=10),  # h degrades only later
    row(12, 6.0, "service_failed", "h"),
]


def test_cascade_links_direct_and_contributing_from_hand_built_records():
    links = cascade(run_of(CASCADE, services=("a", "b", "c", "d", "e", "g", "h")))
    assert links == [
        CascadeLink("a", "b", "direct", 2, 4, 1.0, 1.5, "failed", "flood_tick from river"),
        CascadeLink("a", "c", "contributing", 2, 6, 1.0, 2.0, "overloaded", "request from people_1"),
        CascadeLink("c", "e", "contributing", 6, 9, 2.0, 4.0, "overloaded", "service_overloaded from e"),
    ]
    assert links[0].delay == 0.5


def test_roots_name_the_trigger_and_the_root_of_every_degradation():
    frame = roots(run_of(CASCADE, services=("a", "b", "c", "d", "e", "g", "h")))
    assert frame.to_dict("records") == [
        {
            "seq": 2,
            "time": 1.0,
            "service": "a",
            "became": "overloaded",
            "trigger": "flood_tick from river",
            "root": "flood_tick from river",
            "chain_length": 2,
        },
        {
            "seq": 4,
            "time": 1.5,
            "service": "b",
            "became": "failed",
            "trigger": "dependency_degraded from a",
            "root": "flood_tick from river",
            "chain_length": 4,
        },
        {
            "seq": 6,
            "time": 2.0,
            "service": "c",
            "became": "overloaded",
            "trigger": "request from people_1",
            "root": "request from people_1",
            "chain_length": 2,
        },
        {
            "seq": 8,
            "time": 3.0,
            "service": "d",
            "became": "overloaded",
            "trigger": "request from people_2",
            "root": "request from people_2",
            "chain_length": 2,
        },
        {
            "seq": 9,
            "time": 4.0,
            "service": "e",
            "became": "overloaded",
            "trigger": "",
            "root": "service_overloaded from e",
            "chain_length": 1,
        },
        {
            "seq": 11,
            "time": 5.0,
            "service": "g",
            "became": "overloaded",
            "trigger": "request from people_3",
            "root": "request from people_3",
            "chain_length": 2,
        },
        {
            "seq": 12,
            "time": 6.0,
            "service": "h",
            "became": "failed",
            "trigger": "",
            "root": "service_failed from h",
            "chain_length": 1,
        },
    ]
    empty = roots(run_of([row(1, 0.0, "tick", "x")]))
    assert list(empty.columns) == ["seq", "time", "service", "became", "trigger", "root", "chain_length"]
    assert len(empty) == 0


def test_a_cause_chain_walks_back_to_the_root_or_stops_at_its_limit():
    events = run_of(CASCADE).events
    assert cause_chain(events, 4) == [4, 3, 2, 1]
    assert cause_chain(events, 4, limit=2) == [4, 3]
    assert cause_chain(events, 1) == [1]


def test_root_causes_group_citizens_by_their_spec_and_rank_by_count():
    run = run_of(CASCADE, services=("a", "b", "c", "d", "e", "g", "h"), citizens=[{"id": "people"}])
    got = [(r.root, r.overloaded, r.failed, r.services) for r in fd.root_causes(run)]
    assert got == [
        ("request from people (citizens)", 3, 0, ["c", "d", "g"]),
        ("flood_tick from river", 1, 1, ["a", "b"]),
        ("service_failed from h", 0, 1, ["h"]),
        ("service_overloaded from e", 1, 0, ["e"]),
    ]
