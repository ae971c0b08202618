"""The kernel at its edges: bad registrations, errors that say where, stopping exactly at
max_events, progress steps, waking a sleeper, observation channels, multi-entity records in
`changed` mode, the garbage collector handed back, and the latency channel's arithmetic."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from simulator.engine import Channel, Event, LatencyModel, MemorySink, RecordLayout, RngStreams, World
from simulator.engine.world import EventLimitReached, Woken

LAYOUT = RecordLayout(kinds=("box",), fields=("n",), id_column="box_id")


def world(layout=LAYOUT, sinks=(), latency=None, seed=3) -> World:
    w = World(seed=seed, layout=layout, sinks=sinks, latency=latency)
    for name in ("a", "b"):
        w.register(name, "box", {"n": 0})
    w.register("actor", "agent", {})

    def add(world: World, ev: Event):
        world.entity(ev.target)["n"] += ev.payload.get("k", 1)

    w.on("add", add)
    return w


def test_an_event_without_payload_gets_its_own_empty_dict_and_reads_well():
    a, b = Event("t", "s"), Event("t", "s")
    assert a.payload == {} and a.payload is not b.payload
    assert (a.target, a.delay, a.cause) == ("", 0.0, None)
    given: dict = {}
    assert Event("t", "s", payload=given).payload is given  # the emitter's own dict, even empty
    e = Event("add", "x", "y", {"k": 1}, delay=2.0, cause=4)
    assert repr(e) == "Event('add', 'x' -> 'y', payload={'k': 1}, cause=4)"
    assert e.delay == 2.0


@pytest.mark.parametrize("bad", ["", "a,b", "a\nb"])
def test_an_entity_id_must_be_non_empty_without_commas_or_newlines(bad):
    w = World(seed=1)
    with pytest.raises(ValueError, match="must be non-empty, without commas"):
        w.register(bad, "box", {})
    assert bad not in w.entities


def test_recorded_fields_must_hold_scalars_and_other_kinds_are_not_recorded():
    layout = RecordLayout(kinds=("box",), fields=("n", "m"), id_column="box_id")
    w = World(seed=1, layout=layout)
    with pytest.raises(TypeError, match=r"^x: recorded fields must hold scalars \(numbers, text\): \['m'\]$"):
        w.register("x", "box", {"n": 1, "m": [1]})
    w.register("y", "box", {"n": 1, "m": None})
    w.register("z", "agent", {"n": [1], "m": {}})  # not a recorded kind: anything goes
    assert w._recorded_ids == ["y"]


def test_a_second_reducer_for_one_event_type_is_refused():
    w = world()
    with pytest.raises(ValueError, match="^event type 'add' already has a reducer$"):
        w.on("add", lambda world, ev: None)


def test_an_unknown_event_type_names_the_known_ones_sorted():
    w = world()
    w.on("zap", lambda world, ev: None)
    w.on("aaa", lambda world, ev: None)
    w.emit(Event("nope", "actor", "a"))
    with pytest.raises(KeyError, match=r"no reducer for event type 'nope' \(known: aaa, add, zap\)"):
        w.run()


def test_a_failing_reducer_says_which_event_it_was_applying():
    w = world()

    def boom(world, ev):
        raise RuntimeError("bad")

    w.on("boom", boom)
    w.emit(Event("add", "actor", "a"))
    w.emit(Event("boom", "actor", "b", {"x": 1}, delay=2.5))
    with pytest.raises(RuntimeError) as caught:
        w.run()
    assert caught.value.__notes__ == [
        "while applying event #2 at t=2.5: Event('boom', 'actor' -> 'b', payload={'x': 1}, cause=None)"
    ]


def test_follow_ups_carry_their_causes_seq():
    sink = MemorySink()
    w = world(sinks=[sink])
    w.on("split", lambda world, ev: [Event("add", "a", "a"), Event("add", "a", "b")])
    w.emit(Event("add", "actor", "a"))
    w.emit(Event("split", "actor", "a", delay=1.0))
    w.run()
    assert [(r.seq, r.type, r.cause) for r in sink.records] == [
        (1, "add", None),
        (2, "split", None),
        (3, "add", 2),
        (4, "add", 2),
    ]


def emitting(n: int):
    def actor(ctx):
        for _ in range(n):
            yield ctx.wait(1.0)
            ctx.emit("add", "a")

    return actor


def test_a_run_may_apply_exactly_max_events_as_an_error_limit():
    w = world()
    w.spawn("actor", emitting(5))
    w.run(max_events=5, limit_is_error=True)
    assert w.seq == 5 and w.entities["a"]["n"] == 5


def test_one_event_past_max_events_is_an_error_naming_the_limit_and_time():
    w = world()
    w.spawn("actor", emitting(6))
    with pytest.raises(EventLimitReached) as caught:
        w.run(max_events=5, limit_is_error=True)
    assert str(caught.value) == "the run needs more than max_events=5 events (stopped at t=6)"
    assert (caught.value.max_events, caught.value.now) == (5, 6.0)
    assert w.seq == 6
    big = EventLimitReached(1234567, 2.5)
    assert str(big) == "the run needs more than max_events=1,234,567 events (stopped at t=2.5)"


def test_max_events_without_error_stops_after_exactly_that_many():
    w = world()
    w.spawn("actor", emitting(9))
    w.run(max_events=4)
    assert w.seq == 4 and w.now == 4.0


def test_progress_is_called_once_per_step_at_the_steps_time():
    w = world()
    w.spawn("actor", emitting(100))
    seen = []
    w.run(until=10.0, progress=seen.append, steps=4)
    assert seen == [2.5, 5.0, 7.5, 10.0]
    assert w.seq == 9  # events at t=1..9; the one at t=10 is not before `until`


def test_progress_stops_at_max_events():
    w = world()
    w.spawn("actor", emitting(100))
    seen = []
    w.run(until=100.0, progress=seen.append, steps=10, max_events=15)
    assert w.seq == 15
    assert seen == [10.0, 15.0]  # the second step stopped at the 15th event


def test_progress_without_until_runs_to_the_end_without_calls():
    w = world()
    w.spawn("actor", emitting(3))
    seen = []
    w.run(progress=seen.append)
    assert seen == [] and w.seq == 3


def test_wake_cuts_a_sleep_short_only_while_the_actor_sleeps():
    log = []

    def sleeper(ctx):
        try:
            yield ctx.sleep(10.0)
            log.append(("slept", ctx.now))
        except Woken:
            log.append(("woken", ctx.now))
        yield ctx.sleep(1.0)
        log.append(("slept", ctx.now))
        yield ctx.wait(5.0)
        log.append(("waited", ctx.now))

    w = world()
    w.on("poke", lambda world, ev: world.wake(ev.target))
    w.spawn("actor", sleeper)
    for t in (2.0, 8.0, 0.5 + 3.0 + 1.0):
        w.emit(Event("poke", "a", "actor", delay=t))
    w.run()
    # poked at 2: woken; sleeps to 3; a poke at 4.5 while it waits (not sleeps) does nothing
    assert log == [("woken", 2.0), ("slept", 3.0), ("waited", 8.0)]
    w2 = world()
    w2.on("poke", lambda world, ev: world.wake(ev.target))
    w2.emit(Event("poke", "a", "nobody"))
    w2.run()  # waking an actor that never slept is nothing


def test_an_observation_is_delayed_by_the_observe_channel_of_the_observed_kind():
    latency = LatencyModel(
        {
            ("agent", "box", "observe"): Channel(base=2.0),
            ("agent", "*", "observe"): Channel(base=7.0),
        }
    )
    got = []

    def watcher(ctx):
        yield ctx.wait(1.0)
        obs = yield ctx.observe(["a", "b"], fields=["n"])
        got.append((ctx.now, obs.taken_at, dict(obs)))
        obs = yield ctx.observe(["actor", "a"])  # the first id's kind names the channel
        got.append((ctx.now, obs.taken_at, dict(obs)))
        obs = yield ctx.observe([])
        got.append((ctx.now, obs.taken_at, dict(obs)))

    w = world(latency=latency)
    w.spawn("actor", watcher)
    w.emit(Event("add", "x", "a", {"k": 5}, delay=2.0))  # after the snapshot: not seen
    w.run()
    assert got == [
        (3.0, 1.0, {"a": {"n": 0}, "b": {"n": 0}}),
        (10.0, 3.0, {"actor": {}, "a": {"n": 5}}),
        (17.0, 10.0, {}),
    ]


def test_an_actor_sees_itself_read_only_and_draws_from_its_own_stream():
    w = world()
    seen = {}

    def actor(ctx):
        seen["me"] = dict(ctx.me)
        seen["kind"] = ctx.kind
        seen["draw"] = ctx.rng.random()
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    twin = np.random.Generator(np.random.PCG64(RngStreams(3)("actor/actor").bit_generator.seed_seq)).random()
    assert seen == {"me": {}, "kind": "agent", "draw": twin}


def test_changed_mode_writes_each_touched_entity_once_and_only_if_it_changed():
    layout = RecordLayout(kinds=("box",), fields=("n",), id_column="box_id", mode="changed")
    sink = MemorySink()
    w = world(layout=layout, sinks=[sink])

    def both(world, ev):
        world.entity("a")["n"] += 1
        world.entity("b")
        world.entity("a")["n"] += 1
        world.entity("actor")

    w.on("both", both)
    w.on("touch", lambda world, ev: world.entity(ev.target) and None)
    w.emit(Event("both", "actor", "a"))
    w.emit(Event("both", "actor", "a", delay=1))
    w.emit(Event("add", "actor", "b", {"k": 0}, delay=2))  # touched, unchanged: no row
    w.emit(Event("touch", "actor", "actor", delay=3))  # not a recorded kind
    w.run()
    rows = [[(eid, dict(s)) for eid, s in r.states] for r in sink.records]
    assert rows == [[("a", {"n": 2}), ("b", {"n": 0})], [("a", {"n": 4})], [], []]


def test_the_collector_is_handed_back_after_a_run_ok_or_failed():
    w = world()
    w.spawn("actor", emitting(2))
    w.run()
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    w = world()
    w.emit(Event("nope", "actor", "a"))
    with pytest.raises(KeyError):
        w.run()
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        w = world()
        frozen = []
        w.on("look", lambda world, ev: frozen.append(gc.get_freeze_count()))
        w.emit(Event("look", "actor", "a"))
        w.run()
        assert frozen == [0]  # with the collector off, nothing is frozen
    finally:
        gc.enable()
    w = world()
    frozen = []
    w.on("look", lambda world, ev: frozen.append(gc.get_freeze_count()))
    w.emit(Event("look", "actor", "a"))
    w.run()
    assert frozen[0] > 0


def test_a_world_without_layout_has_no_chain():
    w = World(seed=1)
    w.register("a", "box", {"n": 0})
    w.on("add", lambda world, ev: None)
    w.emit(Event("add", "x", "a"))
    w.run()
    assert w.chain is None and w.chain_head is None and w.seq == 1


# -- latency channels ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["base", "scale", "congestion"])
def test_a_negative_latency_setting_is_refused_by_name(name):
    with pytest.raises(ValueError, match=f"^latency {name} must be >= 0, got -0.5$"):
        Channel(**{name: -0.5})
    Channel(**{name: 0.0})


def test_a_delay_is_base_plus_congestion_plus_the_draw():
    rng = np.random.default_rng(1)
    assert Channel(base=1.5, congestion=0.25).sample(rng, 4) == 2.5
    assert Channel(base=1.5, dist="exponential", scale=0.0, congestion=0.5).sample(rng, 2) == 2.5
    state = rng.bit_generator.state
    assert rng.bit_generator.state == state  # a fixed or scale-0 channel draws nothing
    twin = np.random.default_rng(7)
    got = Channel(base=1.0, dist="normal", scale=2.0, congestion=1.0).sample(np.random.default_rng(7), 3)
    assert got == 4.0 + abs(twin.normal(0.0, 2.0))
    twin = np.random.default_rng(8)
    got = Channel(base=0.5, dist="lognormal", scale=1.0).sample(np.random.default_rng(8), 0)
    assert got == 0.5 + abs(float(np.expm1(twin.normal(0.0, 1.0))))


def test_channels_are_distinct_by_identity():
    a, b = Channel(base=1.0), Channel(base=1.0)
    assert a != b and a == a and len({a, b}) == 2


def test_the_default_channel_applies_when_no_pattern_matches():
    default = Channel(base=4.0)
    model = LatencyModel({("x", "y", "z"): Channel(base=1.0)}, default=default)
    assert model.channel("p", "q", "r") is default
    assert LatencyModel().channel("p", "q", "r").base == 0.0
    sink = MemorySink()
    w = World(seed=1, layout=LAYOUT, sinks=[sink], latency=LatencyModel(default=Channel(base=2.0)))
    w.register("a", "box", {"n": 0})
    w.on("add", lambda world, ev: None)
    w.latency.set("agent", "box", "add", Channel(base=9.0))
    w.emit(Event("add", "ghost", "a", delay=0.5))  # an unknown source kind reads as "*"
    w.run()
    assert [r.time for r in sink.records] == [2.5]
