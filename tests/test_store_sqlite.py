"""The SQLite store: WAL mode, the seed's tables and indexes, CRUD, batched checkpoints,
readers alongside a writer."""

from __future__ import annotations

import sqlite3

import pytest

from simulator.store import TABLES, Store, StoreError


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "sim.sqlite") as s:
        yield s


def _row(sid: str, i: int, parent: str | None) -> tuple:
    return (f"{sid}:{i:06d}", sid, "analyze", i, i // 6, "2020-01-02", i / 6, f"h{i}", parent, f'{{"i":{i}}}')


def test_wal_mode_tables_and_indexes(store):
    assert store.journal_mode == "wal"
    names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert set(TABLES) <= names
    indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_checkpoints_sim", "idx_events_correlation"} <= indexes
    cols = {r[1] for r in store.conn.execute("PRAGMA table_info(checkpoints)")}
    assert {"simulation_id", "phase", "phase_index", "state_hash", "parent_hash", "data"} <= cols


def test_tournaments_strategies_simulations(store):
    tid = store.create_tournament("cup", {"format": "round_robin"})
    assert tid == "tour-000001"
    assert store.create_tournament("cup2", {}) == "tour-000002"
    store.update_tournament_status(tid, "running")
    t = store.get_tournament(tid)
    assert t["status"] == "running" and t["config"] == {"format": "round_robin"} and t["started_at"]
    with pytest.raises(StoreError, match="not one of"):
        store.update_tournament_status(tid, "exploded")
    with pytest.raises(StoreError, match="unknown tournament 'nope'"):
        store.get_tournament("nope")

    sid = store.register_strategy("momentum", "1.0.0", {"lookback": 20}, "desc")
    assert sid == "momentum@1.0.0"
    assert store.register_strategy("momentum", "1.0.0", {"lookback": 20}) == sid  # idempotent
    with pytest.raises(StoreError, match="already registered with other parameters"):
        store.register_strategy("momentum", "1.0.0", {"lookback": 30})
    store.register_strategy("momentum", "1.1.0", {"lookback": 30})
    assert [s["version"] for s in store.list_strategies("momentum")] == ["1.0.0", "1.1.0"]
    assert store.get_strategy(sid)["parameters"] == {"lookback": 20}

    sim = store.create_simulation({"a": 1}, 1000.0, name="x", seed=3, strategy_id=sid, tournament_id=tid)
    assert sim == "sim-000001"
    assert store.get_simulation(sim)["status"] == "running"
    store.update_simulation(
        sim, status="completed", final_capital=1100.0, result={"roi": 0.1}, chain_head="ab"
    )
    got = store.get_simulation(sim)
    assert (got["status"], got["final_capital"], got["result"], got["chain_head"]) == (
        "completed",
        1100.0,
        {"roi": 0.1},
        "ab",
    )
    assert [s["id"] for s in store.list_simulations(tid)] == [sim]


def test_checkpoint_writer_batches_and_lookup(store):
    sid = store.create_simulation({}, 1.0)
    writer = store.checkpoint_writer(sid, batch=4)
    parent = None
    for i in range(10):
        writer.add(_row(sid, i, parent))
        parent = f"h{i}"
        # whole batches only: the table always holds a prefix
        assert store.count_checkpoints(sid) == (i + 1) // 4 * 4
    writer.close()
    assert store.count_checkpoints(sid) == 10
    assert store.get_checkpoint_chain(sid) == [f"h{i}" for i in range(10)]
    assert store.get_checkpoint(sid, 3).state_hash == "h3"
    assert store.get_checkpoint(sid, "7").phase_index == 7
    assert store.get_checkpoint(sid, -1).phase_index == 9
    assert store.get_checkpoint(sid, f"{sid}:000005").payload() == {"i": 5}
    assert [c.phase_index for c in store.get_checkpoints(sid, 2, 5)] == [2, 3, 4]
    with pytest.raises(StoreError, match="has no checkpoint 42"):
        store.get_checkpoint(sid, 42)
    with pytest.raises(sqlite3.IntegrityError):  # (simulation, index) is unique
        store.save_checkpoints([_row(sid, 3, "h2")])
    assert store.count_checkpoints(sid) == 10  # the failed batch left nothing behind


def test_reader_sees_committed_prefix_while_writer_holds_more(tmp_path):
    path = tmp_path / "live.sqlite"
    with Store(path) as writer_store:
        sid = writer_store.create_simulation({}, 1.0)
        writer = writer_store.checkpoint_writer(sid, batch=3)
        with Store.reader(path) as reader:
            for i in range(7):
                writer.add(_row(sid, i, None))
                assert reader.count_checkpoints(sid) == (i + 1) // 3 * 3
            writer.flush()
            assert reader.get_checkpoint_chain(sid)[-1] == "h6"
            with pytest.raises(sqlite3.OperationalError):
                reader.conn.execute("DELETE FROM checkpoints")


def test_standings_and_events(store):
    tid = store.create_tournament("cup", {})
    store.register_strategy("a", "1", {})
    store.register_strategy("b", "1", {})
    with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
        store.update_standings(tid, "ghost@1", won=True, roi=0.0, sharpe=0.0, score=0.0)
    store.update_standings(tid, "a@1", won=True, roi=0.1, sharpe=1.0, score=10.0)
    store.update_standings(tid, "b@1", won=False, roi=-0.1, sharpe=-1.0, score=-5.0)
    store.update_standings(tid, "b@1", won=True, roi=0.3, sharpe=2.0, score=20.0)
    table = store.get_standings(tid)
    assert [(s["strategy_id"], s["rank"], s["wins"], s["losses"]) for s in table] == [
        ("b@1", 1, 1, 1),
        ("a@1", 2, 1, 0),
    ]
    assert table[0]["total_roi"] == pytest.approx(0.2)
    store.log_event("sim-1", "phase_complete", "analyze", {"x": 1})
    store.log_event("sim-1", "error", "plan", {"y": 2})
    store.log_event("sim-2", "other", "x", {})
    assert [e["event_type"] for e in store.get_events("sim-1")] == ["phase_complete", "error"]


def test_reader_of_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="missing.sqlite: no such store"):
        Store.reader(tmp_path / "missing.sqlite")


def test_a_store_from_before_owners_opens_and_reads_its_running_rows_as_interrupted(tmp_path):
    import sqlite3

    from simulator.store.schema import SCHEMA

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA.replace("    owner JSON,\n", ""))
        conn.execute(
            "INSERT INTO simulations(id, config, status, initial_capital)"
            " VALUES ('sim-000001', '{}', 'running', 1)"
        )
    conn.close()
    with Store.reader(path) as old:  # read-only: nothing is migrated
        assert old.get_simulation("sim-000001")["status"] == "interrupted"
        assert old.list_simulations()[0]["status"] == "interrupted"
    with Store(path) as s:  # writable: the column is added
        assert "owner" in {r[1] for r in s.conn.execute("PRAGMA table_info(simulations)")}
        s.claim_simulation("sim-000001")
        assert s.get_simulation("sim-000001")["status"] == "running"
        assert s.get_simulation("sim-000001")["owner"]["pid"] == __import__("os").getpid()


def test_checkpoint_objects_extracts_a_json_path_with_numbers_as_written(tmp_path):
    """`checkpoint_objects` gives what `payload()[key]` gives (floats to the last digit), from
    `start` on; a path to a scalar, a missing path or data that is not JSON is a StoreError."""
    from simulator.store import Store, StoreError

    store = Store(tmp_path / "s.sqlite")
    sid = store.create_simulation({}, 0.0, name="x")
    datas = [
        '{"row":{"a":0.30000000000000004,"b":[1e-07,2]},"n":1}',
        '{"row":{"a":1.5,"b":[]},"n":2}',
        '{"row":{"a":-0.0,"b":[3]},"n":3}',
    ]
    rows = [(f"{sid}:{i}", sid, "g", i, i, None, float(i), f"h{i}", None, d) for i, d in enumerate(datas)]
    store.save_checkpoints(rows)
    got = store.checkpoint_objects(sid, "$.row", 1)
    assert got == [c.payload()["row"] for c in store.iter_checkpoints(sid, 1)]
    assert got[0]["a"] == 1.5 and got[1]["b"] == [3]
    assert store.checkpoint_objects(sid, "$.row")[0] == {"a": 0.30000000000000004, "b": [1e-07, 2]}
    assert store.checkpoint_objects(sid, "$.row.b") == [[1e-07, 2], [], [3]]  # arrays too
    with pytest.raises(StoreError, match=r"checkpoint 0: \$\.n is integer, not an object"):
        store.checkpoint_objects(sid, "$.n")
    with pytest.raises(StoreError, match=r"checkpoint 0: \$\.none is missing"):
        store.checkpoint_objects(sid, "$.none")
    store.conn.execute("UPDATE checkpoints SET data = '{\"row\":' WHERE phase_index = 2")
    with pytest.raises(StoreError, match="checkpoint data: malformed JSON"):
        store.checkpoint_objects(sid, "$.row", 1)
    store.close()
