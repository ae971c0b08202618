"""The store's bookkeeping at its edges: statuses it refuses by name, a strategy registered
twice, checkpoints by index, negative index or id, a writer's batches, and a simulation's
status changes (owner released, completion stamped)."""

from __future__ import annotations

import os

import pytest

from simulator.store import Store, StoreError
from simulator.store.sqlite import STATUSES


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        yield s


def row(sim: str, i: int) -> tuple:
    return (
        f"{sim}:{i:06d}",
        sim,
        i,
        i,
        "open",
        "2020-01-01",
        float(i),
        f"h{i}",
        f"h{i - 1}" if i else None,
        "{}",
    )


def test_an_unknown_status_is_refused_naming_the_allowed_ones(store):
    tid = store.create_tournament("t", {})
    allowed = ", ".join(STATUSES)
    with pytest.raises(StoreError) as caught:
        store.update_tournament_status(tid, "done")
    assert str(caught.value) == f"tournament status 'done' is not one of {allowed}"
    sid = store.create_simulation({}, 100.0)
    with pytest.raises(StoreError) as caught:
        store.update_simulation(sid, status="done")
    assert str(caught.value) == f"simulation status 'done' is not one of {allowed}"
    store.update_tournament_status(tid, "running")
    t = store.get_tournament(tid)
    assert t["status"] == "running" and t["started_at"] and not t["completed_at"]
    store.update_tournament_status(tid, "completed")
    assert store.get_tournament(tid)["completed_at"]


def test_a_strategy_registered_twice_must_keep_its_parameters(store):
    assert store.register_strategy("mom", "1", {"lookback": 5}) == "mom@1"
    assert store.register_strategy("mom", "1", {"lookback": 5}) == "mom@1"
    with pytest.raises(StoreError) as caught:
        store.register_strategy("mom", "1", {"lookback": 6})
    assert str(caught.value) == "strategy mom@1 is already registered with other parameters"
    store.register_strategy("mom", "2", {"lookback": 6})
    store.register_strategy("alpha", "1", {})
    assert [s["id"] for s in store.list_strategies()] == ["alpha@1", "mom@1", "mom@2"]
    assert [s["id"] for s in store.list_strategies("mom")] == ["mom@1", "mom@2"]
    assert store.get_strategy("mom@2")["parameters"] == {"lookback": 6}


def test_a_simulations_status_changes_release_its_owner_and_stamp_completion(store):
    sid = store.create_simulation({"a": 1}, 100.0, name="n", seed=3)
    assert store.get_simulation(sid)["owner"] is not None
    store.update_simulation(sid, status="interrupted")
    sim = store.get_simulation(sid)
    assert sim["owner"] is None and sim["status"] == "interrupted" and not sim["completed_at"]
    store.claim_simulation(sid)
    assert store.get_simulation(sid)["status"] == "running"
    store.update_simulation(sid, status="completed", final_capital=120.5, result={"x": 1}, chain_head="h")
    sim = store.get_simulation(sid)
    assert (sim["status"], sim["final_capital"], sim["result"], sim["chain_head"]) == (
        "completed",
        120.5,
        {"x": 1},
        "h",
    )
    assert sim["completed_at"] and sim["owner"] is None
    with pytest.raises(StoreError) as caught:
        store.claim_simulation(sid)
    assert str(caught.value) == f"simulation {sid} is completed: nothing to resume"
    store.update_simulation(sid)  # nothing to change: nothing changes
    assert store.get_simulation(sid)["final_capital"] == 120.5


def test_checkpoints_by_index_negative_index_or_id(store):
    sid = store.create_simulation({}, 1.0)
    store.save_checkpoints([row(sid, i) for i in range(4)])
    assert store.get_simulation(sid)["chain_head"] == "h3"
    assert store.count_checkpoints(sid) == 4
    assert store.get_checkpoint(sid, 2).phase_index == 2 and store.get_checkpoint(sid, 0).phase_index == 0
    assert store.get_checkpoint(sid, "2").phase_index == 2
    assert store.get_checkpoint(sid, -1).phase_index == 3
    assert store.get_checkpoint(sid, "-4").phase_index == 0
    assert store.get_checkpoint(sid, f"{sid}:000001").phase_index == 1
    for ref in (4, -5, "x"):
        with pytest.raises(StoreError) as caught:
            store.get_checkpoint(sid, ref)
        assert str(caught.value) == f"simulation {sid} has no checkpoint {ref!r}"
    assert [c.phase_index for c in store.get_checkpoints(sid, 1, 3)] == [1, 2]
    assert [c.phase_index for c in store.get_checkpoints(sid, 2)] == [2, 3]
    assert store.get_checkpoint_chain(sid) == ["h0", "h1", "h2", "h3"]
    store.save_checkpoints([])
    assert store.count_checkpoints(sid) == 4


def test_a_checkpoint_writer_writes_whole_batches_and_the_rest_on_close(store):
    sid = store.create_simulation({}, 1.0)
    with pytest.raises(StoreError) as caught:
        store.checkpoint_writer(sid, batch=0)
    assert str(caught.value) == "checkpoint batch must be >= 1, got 0"
    writer = store.checkpoint_writer(sid, batch=3)
    counts = []
    for i in range(7):
        writer.add(row(sid, i))
        counts.append(store.count_checkpoints(sid))
    assert counts == [0, 0, 3, 3, 3, 6, 6] and writer.written == 6
    writer.close()
    assert store.count_checkpoints(sid) == 7 and writer.written == 7
    assert store.get_simulation(sid)["chain_head"] == "h6"
    other = store.create_simulation({}, 1.0)
    one = store.checkpoint_writer(other, batch=1)
    one.add(row(other, 0))
    assert one.written == 1


def test_a_failed_batch_writes_none_of_its_rows(store):
    sid = store.create_simulation({}, 1.0)
    store.save_checkpoints([row(sid, 0)])
    with pytest.raises(Exception):  # noqa: B017 - sqlite's own integrity error
        store.save_checkpoints([row(sid, 1), row(sid, 0)])  # the second repeats an id
    assert store.count_checkpoints(sid) == 1 and store.get_simulation(sid)["chain_head"] == "h0"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read any file")
def test_a_store_this_process_cannot_read_says_so(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path):
        pass
    path.chmod(0)
    with pytest.raises(StoreError, match=r"permission denied \(this process cannot read it\)"):
        Store.reader(path)
