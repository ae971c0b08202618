"""The store returns what was put in: decoded JSON fields, ranges, negative indexes, standings."""

from __future__ import annotations

import pytest

from simulator.store import Store
from simulator.store.sqlite import StoreError


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        yield s


def test_strategies_come_back_decoded_and_filtered(store):
    store.register_strategy("b", "1.0.0", {"x": [1, 2]}, "second")
    store.register_strategy("a", "2.0.0", {"y": {"z": 1}})
    store.register_strategy("a", "1.0.0", {})
    listed = store.list_strategies()
    assert [(s["id"], s["parameters"]) for s in listed] == [
        ("a@1.0.0", {}),
        ("a@2.0.0", {"y": {"z": 1}}),
        ("b@1.0.0", {"x": [1, 2]}),
    ]
    assert [s["id"] for s in store.list_strategies("a")] == ["a@1.0.0", "a@2.0.0"]
    assert store.get_strategy("b@1.0.0")["description"] == "second"
    with pytest.raises(StoreError, match="unknown strategy 'c@1'"):
        store.get_strategy("c@1")


def test_events_come_back_in_order_with_their_data(store):
    ids = [store.log_event("sim-1", kind, "test", {"n": n}) for n, kind in enumerate(["a", "b", "c"])]
    store.log_event("sim-2", "other", "test", {})
    events = store.get_events("sim-1")
    assert [e["id"] for e in events] == ids == sorted(ids)
    assert [(e["event_type"], e["data"]) for e in events] == [
        ("a", {"n": 0}),
        ("b", {"n": 1}),
        ("c", {"n": 2}),
    ]


def test_standings_accumulate_and_rank(store):
    tid = store.create_tournament("t", {"rounds": 2})
    assert store.get_tournament(tid)["config"] == {"rounds": 2}
    s1, s2 = store.register_strategy("s1", "1", {}), store.register_strategy("s2", "1", {})
    store.update_standings(tid, s1, won=True, roi=0.1, sharpe=1.0, score=2.0)
    store.update_standings(tid, s2, won=False, roi=-0.1, sharpe=0.5, score=3.0)
    store.update_standings(tid, s1, won=None, roi=0.2, sharpe=1.5, score=4.0)
    store.update_standings(tid, s2, won=True, roi=0.05, sharpe=0.7, score=1.0)
    rows = store.get_standings(tid)
    assert [(r["rank"], r["strategy_id"], r["wins"], r["losses"]) for r in rows] == [
        (1, s1, 1, 0),
        (2, s2, 1, 1),
    ]
    assert rows[0]["total_roi"] == pytest.approx(0.3) and rows[0]["sharpe_ratio"] == 1.5
    assert rows[1]["total_roi"] == pytest.approx(-0.05) and rows[1]["composite_score"] == 1.0
    assert store.create_tournament("u", {}) == "tour-000002"
