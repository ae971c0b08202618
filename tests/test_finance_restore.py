"""Restoring a world from checkpoints on a small hand-made world: logs rebuilt from every
checkpoint's appended part, streams, seq and chain continued; each broken chain refused with
a message naming the checkpoint."""

from __future__ import annotations

import pytest

from simulator.engine import RecordLayout, World
from simulator.finance.checkpoints import restore_world
from simulator.finance.errors import FinanceError
from simulator.finance.runtime import SimulationRuntime

LAYOUT = RecordLayout(kinds=("box",), fields=("n",), id_column="box_id")


def fresh(layout=None) -> World:
    w = World(seed=9, layout=layout)
    w.register("a", "box", {"n": 0, "log": []})
    w.register("b", "box", {"n": 0})
    return w


def checkpoint(index: int, n: int, appended: dict, rng: dict, chain=None, records=0, seq=0) -> dict:
    return {
        "index": index,
        "time": float(index),
        "state": {"a": {"n": n}, "b": {"n": -n}},
        "appended": appended,
        "rng": rng,
        "kernel": {"seq": seq, "chain": chain, "records": records},
    }


def test_a_world_is_put_into_the_last_checkpoints_state_with_every_log_entry():
    source = World(seed=9)
    stream = source.rng("actor/a")
    stream.random()
    rng_state = source.rng.state()
    cps = [
        checkpoint(0, 1, {"a": {"log": [1, 2]}}, {}),
        checkpoint(1, 2, {}, {}),
        checkpoint(2, 5, {"a": {"log": [3]}}, rng_state, seq=41),
    ]
    w = fresh()
    last = restore_world(w, cps, {"a": ("log",)})
    assert w.entities == {"a": {"n": 5, "log": [1, 2, 3]}, "b": {"n": -5}}
    assert last == cps[-1] and last is not cps[-1]
    assert w.seq == 41
    assert w.rng("actor/a").random() == stream.random()
    w = fresh()
    restore_world(w, cps[:2], {"a": ("log",)})
    assert w.entities["a"] == {"n": 2, "log": [1, 2]}
    w = fresh()
    restore_world(w, [checkpoint(0, 1, {}, {})], {"a": ("log",)})
    assert w.entities["a"] == {"n": 1, "log": []}  # a log nothing was appended to is empty


def test_the_record_chain_continues_from_the_checkpoint():
    w = fresh(LAYOUT)
    head = "ab" * 32
    restore_world(w, [checkpoint(0, 1, {}, {}, chain=head, records=7)], {})
    assert w.chain.head == head and w.chain.count == 7
    assert w.entities["a"] == {"n": 1}  # what the checkpoint does not hold is gone, not left over
    w = fresh(LAYOUT)
    with pytest.raises(FinanceError) as caught:
        restore_world(w, [checkpoint(0, 1, {}, {}, chain=None)], {})
    assert str(caught.value) == "checkpoint 0: recorded without the event chain; set record_events false"
    w = fresh()  # no layout: nothing to continue, whatever the checkpoint holds
    restore_world(w, [checkpoint(0, 1, {}, {}, chain=head, records=7)], {})
    assert w.chain is None


@pytest.mark.parametrize(
    ("cps", "message"),
    [
        ([], "nothing to restore from: no checkpoints"),
        (
            [checkpoint(0, 1, {}, {}), checkpoint(2, 1, {}, {})],
            "checkpoint 1: holds index 2; the chain has a gap",
        ),
        ([checkpoint(1, 1, {}, {})], "checkpoint 0: holds index 1; the chain has a gap"),
    ],
)
def test_a_broken_chain_of_checkpoints_is_refused(cps, message):
    with pytest.raises(FinanceError) as caught:
        restore_world(fresh(), cps, {})
    assert str(caught.value) == message


def test_a_checkpoint_of_another_world_names_the_entities_that_differ():
    cp = checkpoint(0, 1, {}, {})
    cp["state"] = {"a": {"n": 1}, "c": {"n": 2}}
    with pytest.raises(FinanceError) as caught:
        restore_world(fresh(), [cp], {})
    assert str(caught.value) == "checkpoint 0: entities differ from this world's (b, c)"


def test_without_a_store_resume_says_what_it_needs():
    with pytest.raises(FinanceError) as caught:
        SimulationRuntime(None).resume("sim-000001")
    assert str(caught.value) == "this needs a store (--db PATH)"
