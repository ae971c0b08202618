"""OttoChain traffic (part 2): population invariants, evolution, identity, bridge, resume."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import MemorySink
from simulator.ottochain.bridge import backoff_ms, in_outage
from simulator.ottochain.identity import acceptable, next_reputation, trust_graph, trusted_within
from simulator.ottochain.population import crossover, evolve, fitness, mutate, random_traits, shares
from simulator.ottochain.traffic import Traffic, run_traffic
from simulator.ottochain.traffic_config import Bridge, Evolution, Identity, load_traffic

SMALL = {"population": 10, "generations": 3, "episode": 300.0, "seed": 11}


def small(**extra):
    return load_traffic(None, {**SMALL, **extra})


def test_traits_weights_sum_to_one_through_crossover_and_mutation():
    rng = np.random.default_rng(1)
    types = ["A", "B", "C", "D"]
    a, b = random_traits(rng, types, (0.5, 1.0)), random_traits(rng, types, (0.5, 1.0))
    for _ in range(200):
        a = mutate(crossover(a, b, rng), rng, 0.4)
        assert abs(sum(a["fiber_weights"].values()) - 1.0) < 1e-9
        assert all(
            0.0 <= a[k] <= 1.0 for k in ("activity", "risk_tolerance", "cooperativeness", "response_speed")
        )


def test_fitness_matches_the_seed_formula():
    stats = {
        "a": {
            "fibers": 4,
            "completed": 3,
            "types": {"X", "Y"},
            "counterparties": {"b", "c"},
            "earnings": 50.0,
            "self_attest": 1,
            "verified": 0,
            "vouch_given": 2,
            "vouch_received": 1,
        },
        "b": {
            "fibers": 0,
            "completed": 0,
            "types": set(),
            "counterparties": set(),
            "earnings": -50.0,
            "self_attest": 0,
            "verified": 1,
            "vouch_given": 0,
            "vouch_received": 0,
        },
    }
    fit = fitness(stats, {"a": 20.0, "b": 10.0}, n_types=4, rep_cap=40.0)
    expect_a = 0.30 * 0.75 + 0.25 * 0.5 + 0.20 * 1.0 + 0.15 * 1.0 + 0.10 * 0.5 + 0.02 + 0.02 + 0.03
    expect_b = 0.25 * 0.25 + 0.05
    assert fit["a"] == pytest.approx(expect_a)
    assert fit["b"] == pytest.approx(expect_b)


def test_selection_shares_keep_size_and_replace_the_worst():
    rng = np.random.default_rng(3)
    cfg = Evolution()
    members = [{"id": f"m{i:02d}", "traits": random_traits(rng, ["A", "B"], (0, 1))} for i in range(20)]
    fit = {m["id"]: float(i) for i, m in enumerate(members)}  # m19 best, m00 worst
    counter = iter(range(100, 200))
    out, retired, born = evolve(
        members, fit, rng, cfg, 0.1, lambda: f"n{next(counter)}", lambda aid: {"id": aid, "traits": {}}
    )
    top, bottom, replaced = shares(20, cfg)
    assert (top, bottom, replaced) == (4, 4, 1)
    assert len(out) == 20 and retired == ["m00"] and born == ["n100"]
    by_id = {m["id"]: m for m in out}
    for m in members[4:]:  # top and middle keep their traits
        assert by_id[m["id"]]["traits"] == m["traits"]
    for m in members[1:4]:  # bottom (not replaced) keep their agent, adopt new traits
        assert by_id[m["id"]]["traits"] != m["traits"]


def test_reputation_rule_and_trust_depth():
    cfg = Identity()
    facts = {"completed": 2, "vouch_received": 3, "violations": 1}
    assert next_reputation(30.0, facts, cfg) == pytest.approx(10 + 20 * 0.9 + 10 + 6 - 10)
    g = trust_graph(
        [["a", "b", 0.9], ["b", "c", 0.5], ["c", "d", 0.7], ["x", "a", 1.0]], ["a", "b", "c", "d"]
    )
    assert trusted_within(g, "a", 1) == {"b"}
    assert trusted_within(g, "a", 2) == {"b", "c"}
    assert trusted_within(g, "a", 3) == {"b", "c", "d"}
    rep = {"a": 1.0, "b": 5.0, "c": 9.0, "d": 13.0}
    assert acceptable(rep, list(rep), 1.0) == ["a", "b", "c", "d"]
    assert acceptable(rep, list(rep), 0.0) == ["c", "d"]


def test_trust_edges_fade_renew_and_leave_with_retired_agents():
    from simulator.ottochain.traffic import merge_edges

    old = [["a", "b", 0.5], ["a", "c", 0.11], ["x", "a", 0.9]]
    new = [["b", "a", 0.7], ["a", "b", 0.3]]
    out = merge_edges(old, new, {"a", "b", "c"}, 0.9)
    assert out == [["a", "b", 0.45], ["b", "a", 0.7]]  # faded, dropped below 0.1, retired x gone


def test_backoff_and_outage_schedule():
    assert [backoff_ms(f) for f in (0, 1, 2, 5, 6, 10)] == [1000, 2000, 4000, 32000, 60000, 60000]
    for frac in (0.1, 0.3, 0.6):
        cfg = Bridge(outage_fraction=frac, outage_period=100)
        down = np.mean([in_outage(cfg, t / 10) for t in range(10_000)])
        assert down == pytest.approx(frac, abs=0.002)


def test_population_constant_and_no_agent_created_twice():
    t = Traffic(small(evolution={"replace": 0.1, "bottom": 0.2}))
    t.genesis()
    seen = {m["id"] for m in t.members}
    addresses = {t.wallet(a).address for a in seen}
    for _ in range(3):
        before = {m["id"] for m in t.members}
        row = t.step()
        after = {m["id"] for m in t.members}
        assert len(t.members) == 10 == row["population"]
        new = after - before
        assert len(new) == row["born"] == row["retired"] == 1
        assert not new & seen  # a new agent never reuses an id
        seen |= new
        for aid in new:
            addr = t.wallet(aid).address
            assert addr not in addresses
            addresses.add(addr)
        assert row["created"] > 0 and row["completion"] > 0.5


def test_attestations_per_generation_and_over_a_lifetime():
    """Per agent per generation: this generation's self-attestations, verifications and
    vouches received, over the population. Over a lifetime: with nobody replaced, the sum of
    the per-generation figures. Self-attestation and verification happen once per agent, so
    the per-generation figure drops after the first generation while the lifetime one grows."""
    t = Traffic(small(population=12, evolution={"replace": 0.0}))
    t.genesis()
    rows = [t.step() for _ in range(3)]
    assert all(r["born"] == 0 for r in rows)
    for r in rows:
        assert r["attestations_per_agent"] == round(r["attestations"] / 12, 6)
    total = sum(r["attestations_per_agent"] for r in rows)
    assert abs(rows[-1]["attestations_lifetime_per_agent"] - total) < 1e-5
    lifetime = sum(m["attestations"] for m in t.members) / 12
    assert abs(rows[-1]["attestations_lifetime_per_agent"] - lifetime) < 1e-6
    assert rows[0]["attestations_per_agent"] > rows[1]["attestations_per_agent"]  # attested once


def test_identity_registered_activated_and_vouched_on_chain():
    t = Traffic(small())
    t.genesis()
    t.step()
    ids = t.identities
    assert len(ids) == 10
    states = {r["state"] for r in ids.values()}
    assert states == {"ACTIVE"}
    reps = [r["data"]["reputation"] for r in ids.values()]
    assert (
        all(r >= 10 for r in reps) and max(r for r in reps) > 10
    )  # receive_vouch/receive_completion applied
    assert t.row["vouches"] > 0 and t.row["reputation_queries"] > 0


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6])
def test_bridge_outages_lose_nothing_and_apply_nothing_twice(fraction):
    cfg = small(
        population=8,
        bridge={"outage_fraction": fraction, "outage_period": 60, "timeout_rate": 0.1, "error_rate": 0.05},
    )
    t = Traffic(cfg)
    t.genesis()
    sink = MemorySink()
    row = t.step([sink])
    sent, applied = set(), {}
    for rec in sink.records:
        if rec.type == "bridge":
            sent.add(rec.payload["tx"]["id"] if "tx" in rec.payload else rec.payload["ref"])
        elif rec.type == "apply" and rec.payload["result"] == "accepted":
            applied[rec.payload["tx"]] = applied.get(rec.payload["tx"], 0) + 1
    receipted = {rec.payload["tx"] for rec in sink.records if rec.type == "apply"}
    assert max(applied.values()) == 1  # never applied twice, counted from the record
    assert row["bridge_failures"] > 0 and row["backoff_ms"] > 0
    assert row["double_applied"] == 0 and row["lost"] == 0
    unanswered = sent - receipted
    assert len(unanswered) <= row["outstanding"]  # every message is applied, refused or still queued
    if fraction < 0.5:
        assert row["completion"] >= 0.5


def test_a_stalled_metagraph_is_seen_and_waited_out():
    cfg = small(population=8, bridge={"stall_fraction": 0.4, "outage_period": 100})
    t = Traffic(cfg)
    t.genesis()
    sink = MemorySink()
    row = t.step([sink])
    seals = [rec.time for rec in sink.records if rec.type == "seal"]
    assert len(seals) < 0.7 * cfg.episode / cfg.metagraph.snapshot_interval  # none while stalled
    assert all(t % 100 < 60 for t in seals)
    assert row["held_polls"] > 0  # agents saw "not producing" and held their outboxes
    assert row["lost"] == 0 and row["double_applied"] == 0 and row["completed"] > 0


def test_upstream_mode_completes_nothing():
    t = Traffic(small(mode="upstream"))
    t.genesis()
    row = t.step()
    assert row["created"] > 0 and row["completed"] == 0


def test_resume_reads_the_rows_without_parsing_every_checkpoint(tmp_path, monkeypatch):
    """A resume parses one checkpoint whole (the last, to restore from); the earlier rows
    come from SQLite's JSON extraction, equal to the rows the uninterrupted run wrote."""
    from simulator.store import StoredCheckpoint

    cfg = small(population=8, generations=4, episode=200.0)
    full = run_traffic(cfg, tmp_path / "full")
    run_traffic(cfg.model_copy(update={"generations": 3}), tmp_path / "part")
    parsed, seen = [], []
    original = StoredCheckpoint.payload
    monkeypatch.setattr(StoredCheckpoint, "payload", lambda c: parsed.append(c.phase_index) or original(c))
    resumed = run_traffic(cfg, tmp_path / "part", resume=True, on_generation=lambda t, row: seen.append(row))
    assert parsed == [3]
    assert resumed["chain_head"] == full["chain_head"]
    assert resumed["outcomes"] == full["outcomes"]
    assert [r["generation"] for r in seen if r] == [1, 2, 3, 4]
    csv = "generations.csv"
    assert (tmp_path / "part" / csv).read_bytes() == (tmp_path / "full" / csv).read_bytes()


@pytest.mark.parametrize(
    ("damage", "index", "why"),
    [
        ("UPDATE checkpoints SET data = substr(data, 1, 100) WHERE phase_index = 1", 1, "stored data"),
        (
            "UPDATE checkpoints SET data = replace(data, '\"next_id\":', '\"next_id\":1') "
            "WHERE phase_index = 2",  # still JSON, one agent id more
            2,
            "stored data",
        ),
        ("UPDATE checkpoints SET parent_hash = 'x' WHERE phase_index = 2", 2, "parent hash"),
        ("DELETE FROM checkpoints WHERE phase_index = 1", 1, "missing"),
    ],
)
def test_resume_refuses_a_damaged_chain_and_changes_nothing(tmp_path, damage, index, why):
    """A checkpoint whose data, hash or link is wrong stops the resume with one line naming
    it; the stored run and its CSV are left as they were."""
    import sqlite3

    from simulator.scenario import ScenarioError

    cfg = small(population=8, generations=2, episode=200.0)
    out = tmp_path / "run"
    run_traffic(cfg, out)
    con = sqlite3.connect(out / "traffic.sqlite")
    con.execute(damage)
    con.commit()
    con.close()
    before = [(f.name, f.read_bytes()) for f in sorted(out.iterdir()) if f.name != "traffic.sqlite-shm"]
    with pytest.raises(ScenarioError, match=rf"--resume: .*checkpoint {index}\b.*{why}.*new --out"):
        run_traffic(cfg.model_copy(update={"generations": 3}), out, resume=True)
    after = [(f.name, f.read_bytes()) for f in sorted(out.iterdir()) if f.name != "traffic.sqlite-shm"]
    assert after == before


def test_resume_in_process_equals_uninterrupted(tmp_path):
    cfg = small(population=8, generations=3, episode=200.0)
    full = run_traffic(cfg, tmp_path / "full")
    part = run_traffic(cfg.model_copy(update={"generations": 1}), tmp_path / "part")
    resumed = run_traffic(cfg, tmp_path / "part", resume=True)
    assert part["chain_head"] != full["chain_head"]
    assert resumed["chain_head"] == full["chain_head"]
    assert (tmp_path / "part/generations.csv").read_bytes() == (
        tmp_path / "full/generations.csv"
    ).read_bytes()


def test_agents_own_wallets_from_the_encrypted_store(tmp_path, monkeypatch):
    from simulator.ottochain.wallet import Store, Wallet, WalletError

    monkeypatch.setenv("SIMULATOR_WALLET_PASSPHRASE", "pass-for-tests")
    path = tmp_path / "wallets.json"
    store = Store(path, "pass-for-tests")
    for i in range(9):
        store.add(Wallet.from_seed_bytes(f"store-{i}".encode()))
    store.save()
    entries = [e["address"] for e in store.entries]
    cfg = small(population=8, episode=200.0, wallet_store=str(path), evolution={"replace": 0.125})
    t = Traffic(cfg)
    t.genesis()
    t.step()  # one newborn: agent_00009 takes the 9th wallet
    assert sorted(t.wallet(m["id"]).address for m in t.members) == sorted(
        entries[int(m["id"][-5:]) - 1] for m in t.members
    )
    assert t.row["completed"] > 0
    with pytest.raises(WalletError, match="holds 9 wallets"):
        t.step()  # a second newborn needs a 10th wallet


@pytest.mark.parametrize(
    ("bridge", "extra"),
    [
        ({}, {}),
        ({"stall_fraction": 0.3, "outage_period": 100}, {}),
        ({"timeout_rate": 0.3}, {}),
        ({"outage_fraction": 0.6}, {}),
        ({}, {"behaviour": {"timeout": 30.0}}),  # many deadlines
        ({}, {"mode": "upstream"}),
    ],
)
def test_sleeping_agents_leave_the_record_as_polling_agents_make_it(monkeypatch, tmp_path, bridge, extra):
    """An agent whose next poll could only look sleeps until an event touches it or one of its
    deadlines (a timeout, a backoff) comes, then resumes at the poll its polling would have
    reached: byte-identical CSV and chain head to agents that poll every time (held polls of a
    stalled metagraph included), with far fewer polls."""
    from simulator.engine.world import ActorContext
    from simulator.ottochain.traffic_world import TrafficWorld

    cfg = small(population=16, generations=2, episode=400.0, fibers_per_agent=2, bridge=bridge, **extra)
    real_observe, real_look, real_sleep = ActorContext.observe, TrafficWorld.look, TrafficWorld.sleep
    rows, polls, sleeps = {}, {}, {}
    for sleeping in (True, False):
        monkeypatch.setattr(TrafficWorld, "sleeping", sleeping)
        calls, slept = [], []

        def observe(ctx, ids, fields=None, calls=calls):
            calls.append(ids[0] == "metagraph")  # a poll's first look
            return real_observe(ctx, ids, fields)

        def look(world, ctx, ids, calls=calls):
            calls.append(ids[0] == "metagraph")
            return real_look(world, ctx, ids)

        def sleep(world, ctx, poll, until, slept=slept):
            slept.append(until)
            return real_sleep(world, ctx, poll, until)

        monkeypatch.setattr(ActorContext, "observe", observe)
        monkeypatch.setattr(TrafficWorld, "sleep", sleep)
        monkeypatch.setattr(TrafficWorld, "look", look)
        traffic = Traffic(cfg)
        traffic.genesis()
        rows[sleeping] = [traffic.step() for _ in range(cfg.generations)]
        polls[sleeping], sleeps[sleeping] = sum(calls), slept
    assert rows[True] == rows[False]  # every column, the episode's chain head among them
    assert rows[True][0]["episode_head"] and (rows[True][0]["held_polls"] > 0) == ("stall_fraction" in bridge)
    assert sleeps[True] and not sleeps[False]
    assert any(u < cfg.episode for u in sleeps[True])  # some slept until a deadline
    assert polls[True] < polls[False] * 0.75


def test_quiet_until_is_exactly_when_respond_neither_acts_nor_draws(monkeypatch):
    """Every fiber state a real episode went through, for every party: where a type says it is
    quiet until t, `respond` at any time before t returns None and draws nothing from the
    agent's stream; where it says None, the answer is an action or a draw at some time."""
    import copy
    import math

    from simulator.ottochain.parties import Traits, fiber_types
    from simulator.ottochain.traffic_world import TrafficWorld

    seen: list[tuple[dict, dict]] = []
    real_apply = TrafficWorld._apply

    def apply(self, world, event):
        real_apply(self, world, event)
        for fid in self.last_touched:
            rec = world.entities.get(fid)
            if rec is not None and world.kinds[fid] == "fiber":
                oracle = rec["data"].get("oracleFiberId")
                views = {oracle: copy.deepcopy(world.entities[oracle])} if oracle in world.entities else {}
                seen.append((copy.deepcopy(rec), views))

    monkeypatch.setattr(TrafficWorld, "_apply", apply)
    cfg = small(population=40, generations=1, episode=400.0, fibers_per_agent=3)
    traffic = Traffic(cfg)
    traffic.genesis()
    traffic.step()
    types = fiber_types(cfg.voters, cfg.bidders)
    timeout = cfg.behaviour.timeout
    verdicts = {"quiet": 0, "deadline": 0, "busy": 0}
    for fiber, views in seen:
        if fiber["final"]:
            continue
        ftype = types[fiber["fiber_type"]]
        for role, me in enumerate(fiber["parties"]):
            q = ftype.quiet_until(role, me, fiber, views, timeout)
            times = [fiber["changed_at"] + dt for dt in (0.0, 1.0, timeout / 3 - 1e-3, timeout - 1e-3)]
            times += [fiber["changed_at"] + timeout + 1.0, fiber["changed_at"] + 10 * timeout]
            acted = False
            for now in times:
                for coop in (0.0, 0.5, 1.0):
                    rng = np.random.default_rng(7)
                    before = rng.bit_generator.state
                    action = ftype.respond(role, me, fiber, views, Traits(coop, 0.7), rng, now, timeout)
                    drew = rng.bit_generator.state != before
                    if q is not None and now < q:
                        where = (fiber["fiber_type"], fiber["state"], role, now, q)
                        assert action is None and not drew, where
                    acted = acted or action is not None or drew
            if q is None:
                assert acted, (fiber["fiber_type"], fiber["state"], role)
            verdicts["busy" if q is None else "quiet" if q == math.inf else "deadline"] += 1
    assert all(verdicts.values()), verdicts  # every kind of answer was exercised


def test_trusted_within_is_networkx_reachability():
    import networkx as nx

    rng = np.random.default_rng(3)
    nodes = [f"a{i}" for i in range(30)]
    edges = [[nodes[int(a)], nodes[int(b)], 0.5] for a, b in rng.integers(0, 30, size=(70, 2)) if a != b]
    g = trust_graph(edges, nodes)
    for node in nodes:
        for depth in (0, 1, 2, 3):
            want = set(nx.single_source_shortest_path_length(g, node, cutoff=depth)) - {node}
            assert trusted_within(g, node, depth) == want
    assert trusted_within(g, "nobody", 2) == set()


@pytest.mark.parametrize("latency", [0.0, 0.2])
def test_looking_at_once_decides_as_observing_through_the_kernel(monkeypatch, latency):
    """`TrafficWorld.look` (a zero-latency observation taken at once) against `yield
    ctx.observe` (the kernel's): the same decisions, so every CSV column but the episode's
    chain head is equal; the head too when the bridge has a latency (with none, the agent's
    same-instant requests to the bridge are recorded after its other sends, not before)."""
    from simulator.ottochain.traffic_world import TrafficWorld

    bridge = {"timeout_rate": 0.2, "latency": latency}
    cfg = small(population=16, generations=2, episode=400.0, fibers_per_agent=2, bridge=bridge)
    rows = {}
    for at_once in (True, False):
        if not at_once:
            monkeypatch.setattr(TrafficWorld, "look", lambda world, ctx, ids: None)
        traffic = Traffic(cfg)
        traffic.genesis()
        rows[at_once] = [traffic.step() for _ in range(cfg.generations)]
    strip = [{k: v for k, v in r.items() if k != "episode_head"} for r in rows[True]]
    assert strip == [{k: v for k, v in r.items() if k != "episode_head"} for r in rows[False]]
    assert rows[True][-1]["completed"] > 0 and rows[True][-1]["bridge_failures"] > 0
    assert (rows[True][0]["episode_head"] == rows[False][0]["episode_head"]) == (latency > 0)


def test_a_request_reaches_the_bridge_after_the_bridges_latency():
    """`bridge.latency` delays every agent -> bridge request: the episode's first request (the
    same agent and transaction in both runs: nothing before it depends on the bridge) arrives
    exactly that much later than with no latency."""

    def first_request(latency: float):
        t = Traffic(small(population=6, bridge={"latency": latency}))
        t.genesis()
        sink = MemorySink()
        t.step([sink])
        first = next(rec for rec in sink.records if rec.type == "bridge")
        return first.time, first.source, first.payload["tx"]["id"]

    t0, agent, tx = first_request(0.0)
    assert first_request(7.5) == (t0 + 7.5, agent, tx)


def test_a_generation_frees_its_episode_and_restores_the_collector():
    """The episode's World (full of cycles) is gone when `step` returns, and the collector is
    as the caller left it: on, or off (then nothing is collected for the caller)."""
    import gc

    from simulator.ottochain.traffic_world import TrafficWorld

    def worlds() -> int:
        return sum(type(o) is TrafficWorld for o in gc.get_objects())  # type(): no attribute reads

    t = Traffic(small(population=8, episode=200.0))
    t.genesis()
    gc.collect()  # what earlier tests left
    assert gc.isenabled() and worlds() == 0
    t.step()
    assert gc.isenabled()
    assert worlds() == 0
    gc.disable()
    try:
        t.step()
        assert not gc.isenabled()
        assert worlds() == 1
    finally:
        gc.enable()
        gc.collect()


@pytest.mark.parametrize("kind", ["not sqlite", "a folder"])
def test_an_out_whose_store_is_not_a_store_is_one_error_line(tmp_path, capsys, kind):
    """`simulator traffic --out DIR` where DIR/traffic.sqlite is not a SQLite file: one error
    line naming --out, exit 2, and the file left as it was."""
    from simulator.cli import main

    store = tmp_path / "traffic.sqlite"
    if kind == "a folder":
        store.mkdir()
    else:
        store.write_text("garbage")
    argv = ["traffic", "--out", str(tmp_path), "--generations", "1", "--set", "population=6", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {tmp_path}: {store}: ") and "Traceback" not in err
    assert "--db" not in err and err.count("\n") == 1
    assert store.is_dir() if kind == "a folder" else store.read_text() == "garbage"
