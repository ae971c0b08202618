"""Property-based tests (Hypothesis) for the invariants: money conserved under random transfers
and faults, an altered byte found at its index, queues within capacity, deterministic order."""

from __future__ import annotations

import heapq
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.engine import Event, MemorySink, RecordLayout, World
from simulator.finance.config import BankConfig
from simulator.finance.runtime import verify_stored
from simulator.finance.services.bank import Bank
from simulator.infra.run import run_scenario, validate_run
from simulator.infra.scenario import load_scenario
from simulator.scenario import ScenarioError
from tests.conftest import SCENARIOS
from tests.test_services_properties import STEP, check_queue_against_reference

# Derandomized (the same examples every run, no example database): a red CI here is a bug,
# never a roll of the dice. `HYPOTHESIS_EXPLORE=1` searches harder with fresh examples.
EXPLORE = os.environ.get("HYPOTHESIS_EXPLORE") == "1"
COMMON = {"deadline": None, "derandomize": not EXPLORE, "database": None}
FAST = settings(max_examples=400 if EXPLORE else 40, **COMMON)
FIXTURE = settings(
    max_examples=200 if EXPLORE else 40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    **COMMON,
)

# -- money -------------------------------------------------------------------------------------
ACCOUNTS = {"a": (5_000, "x", False), "b": (0, "y", False), "c": (1_000, "z", False), "m": (0, "mkt", True)}
NAMES = [*ACCOUNTS, "ghost"]
legs = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES), st.integers(-50, 4_000)), min_size=0, max_size=3
)
transfers = st.lists(st.tuples(st.floats(0, 3, allow_nan=False), legs), min_size=1, max_size=25)


def valid(balances: dict[str, int], legs_: list) -> bool:
    """All legs known and positive, and no account without overdraft ends below zero."""
    if not legs_:
        return False
    net: dict[str, int] = {}
    for src, dst, amount in legs_:
        if src not in balances or dst not in balances or amount <= 0:
            return False
        net[src] = net.get(src, 0) - amount
        net[dst] = net.get(dst, 0) + amount
    return all(ACCOUNTS[k][2] or balances[k] + v >= 0 for k, v in net.items())


@FAST
@given(transfers, st.sampled_from([None, 2.0, 5.0]))
def test_the_bank_conserves_money_under_random_transfers_and_faults(script, capacity):
    w = World(seed=1)
    Bank(BankConfig(capacity=capacity), lambda t: f"day {t:g}").install(w, ACCOUNTS)
    w.register("client", "client", {})
    replies = []
    w.on("done", lambda world, ev: replies.append(ev.payload))

    def client(ctx):
        for i, (at, legs_) in enumerate(sorted(script, key=lambda s: s[0])):
            if at > ctx.now:
                yield ctx.wait(at - ctx.now)
            ctx.emit(
                "bank.transfer", "svc/bank", {"ref": i, "legs": [list(leg) for leg in legs_], "reply": "done"}
            )
        yield ctx.wait(0)

    w.spawn("client", client)
    w.run()
    expected = {k: v[0] for k, v in ACCOUNTS.items()}
    for reply in sorted(replies, key=lambda r: r["ref"]):
        legs_ = next(s[1] for i, s in enumerate(sorted(script, key=lambda s: s[0])) if i == reply["ref"])
        if reply["ok"]:
            assert valid(expected, legs_)  # a posted transfer was a valid one
            for src, dst, amount in legs_:
                expected[src] -= amount
                expected[dst] += amount
        elif capacity is None:
            assert not valid(expected, legs_)  # without capacity faults, only invalid ones fail
    assert {k: w.entities[k]["balance"] for k in ACCOUNTS} == expected
    assert sum(expected.values()) == sum(v[0] for v in ACCOUNTS.values())
    assert all(expected[k] >= 0 for k in ("a", "b", "c"))
    bank = w.entities["svc/bank"]
    assert bank["posted"] + bank["refused"] == len(replies) == len(script)


# -- altered bytes -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoints():
    from simulator.finance import SimulationRuntime

    from .test_finance_support import FAULTY, make_config

    outcome = SimulationRuntime().run(make_config(FAULTY, **{"market.end": "2008-06-30"}), keep=True)
    return [
        SimpleNamespace(phase_index=c.index, parent_hash=c.parent_hash, data=c.text, state_hash=c.state_hash)
        for c in outcome.checkpoints
    ]


def altered(text: str, position: int, byte: int) -> str:
    raw = bytearray(text.encode())
    position %= len(raw)
    raw[position] = byte if byte != raw[position] else (byte + 1) % 128
    return raw.decode(errors="replace")


@FIXTURE
@given(st.data())
def test_any_altered_byte_of_a_checkpoint_is_found_at_its_index(checkpoints, data):
    i = data.draw(st.integers(0, len(checkpoints) - 1), label="checkpoint")
    field = data.draw(st.sampled_from(["data", "state_hash", "parent_hash"]), label="field")
    if field == "parent_hash" and i == 0:
        field = "data"
    rows = list(checkpoints)
    row = rows[i]
    value = altered(getattr(row, field), data.draw(st.integers(0, 10**6)), data.draw(st.integers(32, 126)))
    rows[i] = SimpleNamespace(**{**vars(row), field: value})
    hashes, bad, why = verify_stored(rows)
    assert bad == i, why
    assert why.startswith(f"checkpoint {i}")


@pytest.fixture(scope="module")
def recorded_run():
    folder = Path(tempfile.mkdtemp(prefix="altered-"))
    run_scenario(load_scenario(str(SCENARIOS / "flood_overload.yaml")), folder, quiet=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@FIXTURE
@given(position=st.integers(0, 10**7), byte=st.sampled_from(b"0123456789.,-abcxyz_ \n"))
def test_any_altered_byte_of_a_record_is_found_at_its_index(recorded_run, tmp_path_factory, position, byte):
    original = (recorded_run / "metrics.csv").read_bytes()
    header = original.index(b"\n") + 1
    position = header + position % (len(original) - header)
    copy = tmp_path_factory.mktemp("copy")
    shutil.copy(recorded_run / "summary.json", copy / "summary.json")
    body = bytearray(original)
    body[position] = byte if byte != body[position] else ord("#")
    (copy / "metrics.csv").write_bytes(bytes(body))
    # the record that holds the byte (records are in seq order, seq counts from 1)
    line_start = original.rindex(b"\n", 0, position) + 1  # a newline belongs to its line
    seq_column = original[:header].decode().strip().split(",").index("seq")
    seq = int(original[line_start:].split(b"\n", 1)[0].split(b",")[seq_column])
    line = original[:position].count(b"\n") + 1  # its line in the file (the header is line 1)
    try:
        report = validate_run(copy)
    except ScenarioError as exc:  # a line the file check refuses: named by its line number
        assert re.search(rf"metrics\.csv:({line}|{line + 1}): ", str(exc)), str(exc)
        return
    assert not report["valid"]
    assert report["first_mismatch"]["seq"] == seq


def test_an_extra_record_after_the_last_is_found_after_the_last(recorded_run, tmp_path):
    original = (recorded_run / "metrics.csv").read_bytes()
    last = original[original.rindex(b"\n", 0, len(original) - 1) + 1 :]
    shutil.copy(recorded_run / "summary.json", tmp_path / "summary.json")
    n = json.loads((recorded_run / "summary.json").read_text())["records"]
    (tmp_path / "metrics.csv").write_bytes(original + last.replace(f",{n},".encode(), f",{n + 1},".encode()))
    report = validate_run(tmp_path)
    assert not report["valid"] and (report["original_count"], report["replay_count"]) == (n + 1, n)
    assert (report["first_mismatch"]["seq"], report["first_mismatch"]["expected"]) == (
        n + 1,
        "<record count differs>",
    )


# -- queues ------------------------------------------------------------------------------------
@FAST
@given(
    ks=st.lists(st.integers(0, 60), min_size=1, max_size=30, unique=True),
    servers=st.integers(1, 3),
    max_queue=st.integers(1, 4),
)
def test_a_queue_stays_within_capacity_and_fifo_under_random_arrivals(ks, servers, max_queue):
    check_queue_against_reference(sorted(k * STEP / 5 for k in ks), servers, max_queue)


# -- order of simultaneous events --------------------------------------------------------------
event = st.tuples(st.integers(0, 1), st.lists(st.integers(0, 1), max_size=3))  # (delay, follow-up delays)
scripts = st.lists(st.lists(event, max_size=4), min_size=1, max_size=4)  # per actor


def expected_order(script):
    """An independent scheduler: (time, order scheduled) decides; follow-ups are scheduled
    when their cause is applied, in the order returned."""
    heap, counter, applied = [], 0, []
    for a, events in enumerate(script):
        for j, (delay, children) in enumerate(events):
            heapq.heappush(heap, (delay, counter, f"{a}.{j}", children))
            counter += 1
    while heap:
        time, _, name, children = heapq.heappop(heap)
        applied.append((time, name))
        for k, delay in enumerate(children):
            heapq.heappush(heap, (time + delay, counter, f"{name}.{k}", []))
            counter += 1
    return applied


@FAST
@given(scripts)
def test_simultaneous_events_are_applied_in_a_deterministic_documented_order(script):
    def run_once():
        sink = MemorySink()
        w = World(seed=3, layout=RecordLayout(kinds=("box",), fields=("n",)), sinks=[sink])
        w.register("box", "box", {"n": 0})

        def apply(world, ev):
            world.entity("box")["n"] += 1
            return [
                Event("step", "box", "box", {"name": f"{ev.payload['name']}.{k}", "children": []}, delay=d)
                for k, d in enumerate(ev.payload["children"])
            ]

        w.on("step", apply)
        for a, events in enumerate(script):
            w.register(f"actor{a}", "agent", {})

            def actor(ctx, a=a, events=events):
                for j, (delay, children) in enumerate(events):
                    ctx.emit("step", "box", {"name": f"{a}.{j}", "children": children}, delay=delay)
                yield ctx.wait(0)

            w.spawn(f"actor{a}", actor)
        w.run()
        return [(r.time, r.payload["name"]) for r in sink.records], w.chain_head

    first, head = run_once()
    assert first == expected_order(script)
    assert run_once() == (first, head)
