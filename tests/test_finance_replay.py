"""Determinism, the checkpoint chain, replay from any checkpoint, resume, and tampering."""

from __future__ import annotations

import hashlib
import json

import pytest

from simulator.finance import (
    FinanceError,
    MarketDataError,
    SimulationRuntime,
    replay_simulation,
    validate_chain,
)
from simulator.finance.checkpoints import canonical
from simulator.finance.context import PHASES
from simulator.finance.market import write_csv
from simulator.finance.synthetic import synthetic_bars
from simulator.store import Store

from .test_finance_support import FAULTY, make_config

LATENCY = {
    "services.latency": [
        {"source": "trader", "target": "*", "base": 0.001, "dist": "exponential", "scale": 0.02},
        {"source": "*", "target": "bank", "dist": "lognormal", "scale": 0.3},
    ]
}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "finance.sqlite") as s:
        yield s


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One faulty run with latency, stored; shared by the read-only checks below."""
    path = tmp_path_factory.mktemp("rec") / "finance.sqlite"
    with Store(path) as s:
        outcome = SimulationRuntime(s).run(make_config(FAULTY, **LATENCY), keep=True)
    return path, outcome


def test_same_config_and_seed_give_identical_checkpoints_and_chain():
    cfg = make_config(FAULTY, **LATENCY)
    a = SimulationRuntime().run(cfg, keep=True)
    b = SimulationRuntime().run(cfg, keep=True)
    assert a.status == "completed" and len(a.checkpoints) == 6 * a.result.cycles
    assert [c.text for c in a.checkpoints] == [c.text for c in b.checkpoints]
    assert a.hashes == b.hashes and a.result == b.result
    assert a.result.record_chain_head == b.result.record_chain_head
    c = SimulationRuntime().run(make_config(FAULTY, seed=12, **LATENCY), keep=True)
    assert c.hashes[-1] != a.hashes[-1]


def test_chain_is_sha256_of_parent_and_canonical_json(recorded):
    _, outcome = recorded
    parent = ""
    for i, cp in enumerate(outcome.checkpoints):
        data = json.loads(cp.text)
        assert cp.text == canonical(data)  # sorted keys, compact
        assert (data["index"], data["phase"]) == (i, PHASES[i % 6]) and cp.phase == PHASES[i % 6]
        assert cp.state_hash == hashlib.sha256((parent + cp.text).encode()).hexdigest()
        assert cp.parent_hash == (parent or None)
        parent = cp.state_hash
    # every checkpoint carries the random streams' state and the kernel's position
    data = json.loads(outcome.checkpoints[-1].text)
    assert {"kernel/latency", "svc/payments", "svc/compliance", "svc/exchange"} <= set(data["rng"])
    assert data["kernel"]["seq"] > 0 and data["kernel"]["chain"] == outcome.result.record_chain_head


def test_stored_chain_and_simulation_row(recorded):
    path, outcome = recorded
    with Store.reader(path) as s:
        assert s.get_checkpoint_chain(outcome.simulation_id) == outcome.hashes
        sim = s.get_simulation(outcome.simulation_id)
        assert sim["status"] == "completed" and sim["chain_head"] == outcome.hashes[-1]
        assert sim["result"]["final_capital"] == pytest.approx(outcome.result.final_capital)
        assert sim["config"]["data_digest"] == outcome.result.data_digest
        assert sim["strategy_id"].startswith("mean_reversion@1.0.0+")
        row = s.get_checkpoint(outcome.simulation_id, 9)
        assert (row.phase, row.cycle, row.date) == ("execute", 1, "2008-06-03")


def test_replay_from_start_and_from_middle_checkpoints(recorded, tmp_path):
    path, outcome = recorded
    n = len(outcome.hashes)
    with Store(path) as s:
        sid = outcome.simulation_id
        full = replay_simulation(s, sid)
        assert (full.valid, full.original_count, full.replay_count, full.first_mismatch) == (True, n, n, None)
        assert full.rerun_count == n and full.from_index is None
        for ref in (n // 2, f"{sid}:{n // 3 + 1:06d}", 0, -1):
            r = replay_simulation(s, sid, ref)
            assert r.valid, (ref, r)
            assert r.replay_count == n and r.rerun_count == n - 1 - r.from_index
        assert [e["event_type"] for e in s.get_events(sid)].count("replay") == 5


def test_altered_checkpoint_is_reported_at_its_index(tmp_path):
    with Store(tmp_path / "t.sqlite") as s:
        out = SimulationRuntime(s).run(make_config(FAULTY))
        sid, n = out.simulation_id, len(out.hashes)
        bad = 137
        row = s.get_checkpoint(sid, bad)
        data = row.payload()
        data["state"]["acct/trader"]["balance"] += 100  # a dollar appears from nowhere
        s.conn.execute("UPDATE checkpoints SET data = ? WHERE id = ?", (canonical(data), row.id))
        for start in (None, 50, bad, 300):
            r = replay_simulation(s, sid, start)
            assert not r.valid and r.first_mismatch == bad, (start, r)
            assert r.original_count == n and r.reason.startswith(
                f"checkpoint {bad}: stored data does not match"
            )
        # forging the hash too breaks the next checkpoint's parent link, and the replay differs at `bad`
        forged = hashlib.sha256((row.parent_hash + canonical(data)).encode()).hexdigest()
        s.conn.execute("UPDATE checkpoints SET state_hash = ? WHERE id = ?", (forged, row.id))
        r = replay_simulation(s, sid, 10)
        assert not r.valid and r.first_mismatch == bad
        s.update_simulation(sid, status="failed")  # as if it had stopped there
        with pytest.raises(FinanceError, match=f"cannot resume {sid}: checkpoint {bad + 1}: parent hash"):
            SimulationRuntime(s).resume(sid)


def test_resumed_run_chain_equals_the_uninterrupted_one(store):
    cfg = make_config(FAULTY, **LATENCY)
    whole = SimulationRuntime(store).run(cfg)
    runtime = SimulationRuntime(store)
    part = runtime.run(cfg, stop_after=100)
    assert (
        part.status == "interrupted" and store.get_simulation(part.simulation_id)["status"] == "interrupted"
    )
    assert store.count_checkpoints(part.simulation_id) == 100
    more = runtime.resume(part.simulation_id, stop_after=7)  # resume mid-cycle, then again
    assert more.status == "interrupted"
    done = runtime.resume(part.simulation_id)
    assert done.status == "completed"
    assert store.get_checkpoint_chain(part.simulation_id) == store.get_checkpoint_chain(whole.simulation_id)
    assert done.result.model_dump(exclude={"simulation_id"}) == whole.result.model_dump(
        exclude={"simulation_id"}
    )
    assert replay_simulation(store, part.simulation_id, 50).valid


def test_a_crash_leaves_a_consistent_prefix_that_resumes(store):
    cfg = make_config(FAULTY, **{"executor.checkpoint_batch": 64})
    whole = SimulationRuntime().run(cfg)

    def crash(cp):
        if cp.index == 200:
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        SimulationRuntime(store).run(cfg, on_checkpoint=crash)
    sid = store.list_simulations()[-1]["id"]
    assert store.get_simulation(sid)["status"] == "failed"
    assert store.get_checkpoint_chain(sid) == whole.hashes[:201]  # everything taken before the crash
    assert store.get_events(sid)[-1]["event_type"] == "simulation_failed"
    assert SimulationRuntime(store).resume(sid).result.chain_head == whole.hashes[-1]


def test_readers_work_while_a_run_writes(store):
    seen = []

    with Store.reader(store.path) as reader:

        def peek(cp):
            if cp.index % 97 == 0:
                sid = reader.list_simulations()[-1]["id"]
                seen.append(reader.count_checkpoints(sid))

        out = SimulationRuntime(store).run(
            make_config(FAULTY, **{"executor.checkpoint_batch": 50}), on_checkpoint=peek
        )
        assert reader.count_checkpoints(out.simulation_id) == len(out.hashes)
    assert seen == sorted(seen) and seen[0] == 0 and 0 < seen[-1] < len(out.hashes)
    assert all(c % 50 == 0 for c in seen)  # whole batches only


def test_replay_of_an_interrupted_run_reports_the_length_difference(store):
    part = SimulationRuntime(store).run(make_config(FAULTY), stop_after=40)
    r = replay_simulation(store, part.simulation_id, 20)
    assert not r.valid and r.original_count == 40 and r.replay_count > 40 and r.first_mismatch == 40
    assert "ran past the 40 stored checkpoints" in r.reason


def test_replay_refuses_market_data_that_changed(store, tmp_path):
    path = tmp_path / "acme.csv"
    write_csv(synthetic_bars("ACME", seed=9, days=60), path)
    cfg = make_config(
        FAULTY,
        **{
            "market.symbols": ["ACME"],
            "market.csv": {"ACME": str(path)},
            "market.start": None,
            "market.end": None,
        },
    )
    out = SimulationRuntime(store).run(cfg)
    assert replay_simulation(store, out.simulation_id).valid
    lines = path.read_text().splitlines()
    day, o, h, lo, c, vol = next(line for line in lines if line.startswith("2000-01-05,")).split(",")
    changed = f"{day},{c},{c},{c},{c},{vol}"  # one bar changes (and stays a valid bar)
    path.write_text("\n".join(changed if line.startswith(day) else line for line in lines) + "\n")
    with pytest.raises(MarketDataError, match="its market data changed since it was recorded"):
        replay_simulation(store, out.simulation_id)


def test_validate_chain():
    assert validate_chain(["a", "b"], ["a", "b"]) == (True, None)
    assert validate_chain(["a", "b", "c"], ["a", "x", "c"]) == (False, 1)
    assert validate_chain(["a", "b"], ["a", "b", "c"]) == (False, 2)


def test_a_checkpoint_refuses_unsettled_state(monkeypatch):
    """A service whose chain leaves an event in flight would make checkpoints incomplete."""
    from simulator.engine import Event
    from simulator.finance.services.exchange import Exchange

    real = Exchange.on_open

    def leaky(self, world, event):
        if "noise" not in world.reducers:
            world.on("noise", lambda w, e: None)
        return [*real(self, world, event), Event("noise", "svc/exchange", "svc/exchange", delay=0.5)]

    monkeypatch.setattr(Exchange, "on_open", leaky)
    with pytest.raises(FinanceError, match=r"^checkpoint 0 at t=0.0: events are still scheduled"):
        SimulationRuntime().run(make_config(FAULTY))


def _forge(s, sid, bad):
    """Tamper checkpoint `bad` and re-hash every checkpoint from it on, as a forger would."""
    rows = s.get_checkpoints(sid)
    parent = rows[bad].parent_hash
    for row in rows[bad:]:
        data = row.payload()
        if row.phase_index == bad:
            data["state"]["acct/trader"]["balance"] += 100  # a dollar appears from nowhere
        text = canonical(data)
        new = hashlib.sha256(((parent or "") + text).encode()).hexdigest()
        s.conn.execute(
            "UPDATE checkpoints SET data = ?, state_hash = ?, parent_hash = ? WHERE id = ?",
            (text, new, parent, row.id),
        )
        parent = new
    return parent


def test_a_partial_replay_checks_the_recorded_chain_head(tmp_path):
    from simulator.finance.cli import main

    db = tmp_path / "t.sqlite"
    with Store(db) as s:
        out = SimulationRuntime(s).run(make_config(FAULTY))
        sid, n, bad = out.simulation_id, len(out.hashes), 137
        assert s.get_simulation(sid)["chain_head"] == out.hashes[-1]
        forged_head = _forge(s, sid, bad)
        # the chain is self-consistent again, and the replayed part alone would match it
        assert s.get_checkpoint_chain(sid)[-1] == forged_head != out.hashes[-1]
        r = replay_simulation(s, sid, 300)
        assert not r.valid and r.first_mismatch == bad and r.original_count == n
        assert f"is not the head recorded for the run {out.hashes[-1][:16]}" in r.reason
        assert f"differs at checkpoint {bad}" in r.reason
        # a forger who also rewrites the simulation's head is caught by the head the run printed
        s.conn.execute("UPDATE simulations SET chain_head = ? WHERE id = ?", (forged_head, sid))
        assert replay_simulation(s, sid, 300).valid
        r = replay_simulation(s, sid, 300, expect_head=out.hashes[-1])
        assert not r.valid and r.first_mismatch == bad and "is not the head expected" in r.reason
    assert main(["replay", sid, "--from", "300", "--db", str(db), "--head", out.hashes[-1]]) == 1
    assert main(["replay", sid, "--from", "300", "--db", str(db), "--head", forged_head]) == 0


def test_a_killed_resume_leaves_the_recorded_head_on_the_stored_prefix(store):
    """Every checkpoint batch moves the recorded head with it, so a run stopped anywhere
    still replays as valid."""
    cfg = make_config(FAULTY, **{"executor.checkpoint_batch": 64})

    def crash(cp):
        if cp.index == 200:
            raise OSError("killed")

    with pytest.raises(OSError):
        SimulationRuntime(store).run(cfg, on_checkpoint=crash)
    sid = store.list_simulations()[-1]["id"]
    assert store.get_simulation(sid)["chain_head"] == store.get_checkpoint_chain(sid)[-1]
    r = replay_simulation(store, sid, 100)
    assert r.first_mismatch == 201 and "ran past the 201 stored" in r.reason
