"""Services: the health state machine at its exact thresholds, queue bounds, FIFO, rejections,
and degradation along dependencies; each against a hand-built script whose answer is known."""

from __future__ import annotations

import heapq

import pytest

from tests.helpers_infra import service_world, states_of, statuses

# capacity 2 on one server: a deterministic service takes 0.5; stress = (busy + queue) / 2.
DESK = {
    "id": "desk",
    "capacity": 2.0,
    "servers": 1,
    "service_time": "deterministic",
    "overload_at": 1.0,
    "fail_at": 3.0,
    "recover_below": 0.5,
    "fail_resource": 0.25,
    "recover_resource": 0.5,
}


def request(t: float, who: str = "driver", target: str = "desk"):
    return (t, who, "request", target, None)


def test_overload_at_exactly_the_threshold_and_hysteresis_on_the_way_down():
    w, sink = service_world([DESK], script=[request(0.0), request(0.0)])
    w.run()
    rows = [(kind, s["status"], s["stress_level"]) for _, kind, s in states_of(sink, "desk")]
    assert rows[:2] == [("request", "ok", 0.5), ("request", "overloaded", 1.0)]
    # First completion (t=0.5): stress back to 0.5, not below recover_below: still overloaded.
    completions = [
        (s["status"], s["stress_level"]) for _, kind, s in states_of(sink, "desk") if kind == "complete"
    ]
    assert completions == [("overloaded", 0.5), ("ok", 0.0)]
    assert statuses(sink, "desk") == ["ok", "overloaded", "ok"]
    assert w.entities["desk"]["overloads"] == 1 and w.entities["desk"]["failures"] == 0
    assert [r.type for r in sink.records if r.type.startswith("service_")] == [
        "service_overloaded",
        "service_recovered",
    ]


def test_failure_at_exactly_fail_at_rejects_every_waiting_request_and_tells_its_citizens():
    citizens = ["c1", "c2", "c3", "c4", "c5"]
    # One in service, then five waiting (stress 1.0 .. 3.0): the fifth reaches fail_at exactly.
    script = [request(0.0), request(0.0, "c1"), request(0.0, "c2"), request(0.0), request(0.0, "c3")]
    script += [request(0.0, "c4"), request(0.1, "c5")]
    w, sink = service_world([DESK], citizens, script)
    w.run()
    by_seq = {r.seq: r for r in sink.records}
    failed = next(r for r in sink.records if r.type == "service_failed")
    tipping = by_seq[failed.cause]
    assert tipping.type == "request" and tipping.source == "c4"
    tipped = dict(tipping.states)["desk"]  # the stress that tipped it, the queue emptied
    assert (tipped["status"], tipped["stress_level"], tipped["queue"], tipped["load"]) == (
        "failed",
        3.0,
        0,
        1,
    )
    # The five waiting were rejected by the failure; only the citizens among them were told,
    # in the order they waited, each told by the event that failed the service.
    told = [(r.target, r.cause) for r in sink.records if r.type == "request_rejected"]
    assert told == [
        ("c1", tipping.seq),
        ("c2", tipping.seq),
        ("c3", tipping.seq),
        ("c4", tipping.seq),
        ("c5", told[-1][1]),
    ]
    assert by_seq[told[-1][1]].source == "c5"  # the later request met a failed service
    desk = w.entities["desk"]
    assert desk["rejected"] == 6 and desk["served"] == 1 and desk["started"] == 1
    assert [w.entities[c]["rejections"] for c in citizens] == [1, 1, 1, 1, 1]
    assert desk["failures"] == 1 and desk["first_failure_at"] == 0.0
    # Recovery needs stress strictly below recover_below: 1 busy (0.5) is not enough.
    assert statuses(sink, "desk") == ["ok", "overloaded", "failed", "ok"]
    recovered = next(r for r in sink.records if r.type == "service_recovered")
    assert by_seq[recovered.cause].type == "complete" and recovered.time == 0.5


def test_stress_just_below_fail_at_keeps_the_queue():
    script = [request(0.0)] + [request(0.0, f"c{i}") for i in range(1, 5)]
    w, sink = service_world([DESK], ["c1", "c2", "c3", "c4"], script)
    w.run()
    assert "failed" not in statuses(sink, "desk")
    assert w.entities["desk"]["rejected"] == 0 and w.entities["desk"]["served"] == 5


def test_resource_thresholds_fail_and_recover_exactly():
    script = [
        (1.0, "driver", "flood_damage", "desk", {"damage": 0.75}),  # 0.25 == fail_resource: ok
        (2.0, "driver", "flood_damage", "desk", {"damage": 0.125}),  # 0.125 < 0.25: failed
        (3.0, "driver", "repair", "desk", {"amount": 0.25}),  # 0.375 < 0.5: still failed
        (4.0, "driver", "repair", "desk", {"amount": 0.125}),  # 0.5 == recover_resource: ok
        (5.0, "driver", "budget_release", "desk", {"amount": 0.25}),
    ]
    w, sink = service_world([DESK], script=script)
    w.run()
    after = {
        r.time: (dict(r.states)["desk"]["status"], dict(r.states)["desk"]["resource_level"])
        for r in sink.records
        if r.type in ("flood_damage", "repair", "budget_release")
    }
    assert after == {
        1.0: ("ok", 0.25),
        2.0: ("failed", 0.125),
        3.0: ("failed", 0.375),
        4.0: ("ok", 0.5),
        5.0: ("ok", 0.75),
    }
    desk = w.entities["desk"]
    assert desk["interventions"] == 1 and desk["first_intervention_at"] == 5.0  # repairs do not count


def fifo_reference(arrivals: list[float], servers: int, max_queue: int, service: float):
    """An independent FIFO queue with `servers` servers and room for `max_queue` waiting:
    (start time or None if rejected) per arrival, in arrival order."""
    free = [0.0] * servers
    accepted: list[float] = []  # start times of accepted requests
    out = []
    for t in arrivals:
        waiting = sum(start > t for start in accepted)
        busy = sum(start <= t < start + service for start in accepted)
        if busy >= servers and waiting >= max_queue:
            out.append(None)
            continue
        start = max(t, heapq.heappop(free))
        heapq.heappush(free, start + service)
        accepted.append(start)
        out.append(start)
    return out


def run_queue(arrivals: list[float], servers: int, max_queue: int):
    """Requests from citizens q0, q1, ... at `arrivals` into a desk that never changes state."""
    spec = {
        "id": "desk",
        "capacity": float(servers),  # each server serves in exactly 1.0
        "servers": servers,
        "max_queue": max_queue,
        "service_time": "deterministic",
        "overload_at": 1e9,
        "fail_at": 1e9,
        "recover_below": 1e9,
    }
    citizens = [f"q{i}" for i in range(len(arrivals))]
    script = [request(t, cid) for t, cid in zip(arrivals, citizens, strict=True)]
    w, sink = service_world([spec], citizens, script)
    w.run()
    return w, sink, citizens


def check_queue_against_reference(arrivals: list[float], servers: int, max_queue: int) -> list[str]:
    w, sink, citizens = run_queue(arrivals, servers, max_queue)
    expected = fifo_reference(arrivals, servers, max_queue, 1.0)
    rows = states_of(sink, "desk")
    assert max(s["queue"] for _, _, s in rows) <= max_queue
    assert all(s["busy"] <= servers and s["load"] == s["busy"] + s["queue"] for _, _, s in rows)
    rejected = [cid for cid, start in zip(citizens, expected, strict=True) if start is None]
    assert [cid for cid in citizens if w.entities[cid]["rejections"]] == rejected
    assert w.entities["desk"]["rejected"] == len(rejected)
    # The wait of each start, in the order services started, is the reference's (FIFO).
    waits, last = [], 0.0
    for _, _, s in rows:
        if s["total_wait"] != last:
            waits.append(s["total_wait"] - last)
            last = s["total_wait"]
    ordered = sorted(
        (start, start - t) for t, start in zip(arrivals, expected, strict=True) if start is not None
    )
    nonzero = [wait for _, wait in ordered if wait > 0]
    assert waits == pytest.approx(nonzero, abs=1e-9)
    assert w.entities["desk"]["started"] == w.entities["desk"]["served"] == len(ordered)
    return rejected


STEP = 2**-0.5  # arrival gaps never a whole number of service times: no ties with completions


def test_queue_is_fifo_and_bounded_like_an_independent_queue():
    ks = [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 20, 21, 22, 40, 41, 42, 43, 44, 45, 46]
    for servers, max_queue in ((1, 2), (2, 1), (3, 3)):
        arrivals = [k * STEP / 5 for k in ks]
        rejected = check_queue_against_reference(arrivals, servers, max_queue)
        assert rejected, "the script must fill the queue"


def test_waiting_requests_are_served_in_arrival_order():
    # Arrivals 0, 0.1, 0.3, 0.6 at a one-server desk taking 1.0 each: FIFO waits 0.9, 1.7, 2.4
    # (last-in-first-out would give 0.4 first).
    w, sink, _ = run_queue([0.0, 0.1, 0.3, 0.6], servers=1, max_queue=10)
    totals = [s["total_wait"] for _, kind, s in states_of(sink, "desk") if kind == "complete"]
    assert [round(b - a, 9) for a, b in zip([0.0] + totals, totals, strict=False)] == [0.9, 1.7, 2.4, 0.0]


# -- degradation along dependencies -----------------------------------------------------------
UP = {"id": "a", "capacity": 1.0}
SIDE = {"id": "c", "capacity": 1.0}


def degraded(t: float, dep: str, status: str, target: str = "b"):
    kind = "dependency_restored" if status == "ok" else "dependency_degraded"
    return (t, dep, kind, target, {"dependency": dep, "status": status})


def test_degraded_by_is_the_first_degraded_dependency_in_declared_order():
    b = {"id": "b", "capacity": 10.0, "depends_on": ["a", "c"]}
    script = [
        degraded(1.0, "c", "failed"),
        degraded(2.0, "a", "overloaded"),
        degraded(3.0, "a", "ok"),
        degraded(4.0, "c", "overloaded"),
        degraded(5.0, "c", "ok"),
    ]
    w, sink = service_world([UP, SIDE, b], script=script)
    w.run()
    seen = [
        (r.time, dict(r.states)["b"]["degraded_by"], dict(r.states)["b"]["dep_factor"]) for r in sink.records
    ]
    assert seen == [
        (1.0, "c", 0.4),
        (2.0, "a", pytest.approx(0.75 * 0.4)),
        (3.0, "c", 0.4),
        (4.0, "c", 0.75),
        (5.0, "", 1.0),
    ]
    assert w.entities["b"]["effective_capacity"] == 10.0


def test_no_cascade_credit_while_every_dependency_is_ok():
    b = {"id": "b", "capacity": 2.0, "depends_on": ["a"], "service_time": "deterministic"}
    w, sink = service_world([UP, b], script=[request(0.0, target="b")] * 6)
    w.run()
    assert statuses(sink, "b") == ["ok", "overloaded", "failed", "ok"]
    assert w.entities["b"]["cascade_failures"] == 0


def test_cascade_credit_when_a_degraded_dependency_cut_the_capacity():
    # a failed: b's capacity 2 x 0.4 = 0.8; two requests overload it (2 / 0.8 >= 1), six fail it.
    b = {"id": "b", "capacity": 2.0, "depends_on": ["a"], "service_time": "deterministic"}
    script = [degraded(0.0, "a", "failed")] + [request(1.0, target="b")] * 3
    w, sink = service_world([UP, b], script=script)
    w.run()
    assert statuses(sink, "b")[:3] == ["ok", "overloaded", "failed"]
    assert w.entities["b"]["cascade_failures"] == 2  # ok -> overloaded, then -> failed


def test_a_status_change_tells_every_dependent_in_order():
    # a fails through its resources; b and d depend on it and are told, b first.
    b = {"id": "b", "capacity": 5.0, "depends_on": ["a"]}
    d = {"id": "d", "capacity": 5.0, "depends_on": ["a"]}
    w, sink = service_world([UP, d, b], script=[(1.0, "driver", "flood_damage", "a", {"damage": 0.9})])
    w.run()
    failed = next(r for r in sink.records if r.type == "service_failed")
    told = [(r.type, r.source, r.target, r.cause) for r in sink.records if r.type.startswith("dependency_")]
    assert told == [
        ("dependency_degraded", "a", "b", failed.seq),
        ("dependency_degraded", "a", "d", failed.seq),
    ]
    assert w.entities["b"]["deps"] == {"a": "failed"} and w.entities["d"]["dep_factor"] == 0.4
