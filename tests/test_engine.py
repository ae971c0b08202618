"""The kernel contract: ordering, causes, reducers as the only mutators, streams, chain."""

from __future__ import annotations

import hashlib

import pytest

from simulator.engine import (
    Channel,
    Event,
    LatencyModel,
    MemorySink,
    RecordLayout,
    RngStreams,
    World,
    derive_seeds,
)

LAYOUT = RecordLayout(kinds=("box",), fields=("n",), id_column="box_id")


def counting_world(seed: int = 1, sinks=(), latency=None) -> World:
    w = World(seed=seed, layout=LAYOUT, sinks=sinks, latency=latency)
    w.register("a", "box", {"n": 0})
    w.register("b", "box", {"n": 0})
    w.register("actor", "agent", {})

    def on_add(world: World, ev: Event):
        world.entity(ev.target)["n"] += ev.payload["k"]
        if ev.target == "a":
            return [Event("add", "a", "b", {"k": ev.payload["k"] * 10})]
        return None

    w.on("add", on_add)
    return w


def test_simultaneous_events_keep_insertion_order_and_causes():
    sink = MemorySink()
    w = counting_world(sinks=[sink])

    def actor(ctx):
        yield ctx.wait(1.0)
        for k in (1, 2, 3):
            ctx.emit("add", "a", {"k": k})

    w.spawn("actor", actor)
    w.run()
    types = [(r.seq, r.target, r.payload["k"], r.cause) for r in sink.records]
    assert types == [
        (1, "a", 1, None),
        (2, "a", 2, None),
        (3, "a", 3, None),
        (4, "b", 10, 1),
        (5, "b", 20, 2),
        (6, "b", 30, 3),
    ]
    assert w.entities["b"]["n"] == 60
    assert all(r.time == 1.0 for r in sink.records)


def test_actor_cannot_mutate_state_through_its_view():
    w = counting_world()
    w.register("agent", "agent", {"x": 1})
    errors = []

    def actor(ctx):
        try:
            ctx.me["x"] = 2
        except TypeError as exc:
            errors.append(exc)
        yield ctx.wait(0)

    w.spawn("agent", actor)
    w.run()
    assert errors and w.entities["agent"]["x"] == 1


def test_latency_channel_delays_and_requested_delay_adds():
    latency = LatencyModel({("agent", "box", "add"): Channel(base=2.0)})
    sink = MemorySink()
    w = counting_world(sinks=[sink], latency=latency)

    def actor(ctx):
        ctx.emit("add", "b", {"k": 1}, delay=0.5)
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    assert sink.records[0].time == pytest.approx(2.5)


def test_observation_is_a_stale_snapshot():
    latency = LatencyModel({("agent", "box", "observe"): Channel(base=1.0)})
    w = counting_world(latency=latency)
    seen = []

    def observer(ctx):
        obs = yield ctx.observe(["a"], fields=["n"])
        seen.append((ctx.now, obs.taken_at, obs["a"]["n"]))

    def writer(ctx):
        yield ctx.wait(0.5)
        ctx.emit("add", "b", {"k": 5})
        ctx.emit("add", "a", {"k": 7})

    w.spawn("actor", observer)
    w.register("writer", "agent", {})
    w.spawn("writer", writer)
    w.run()
    assert seen == [(1.0, 0.0, 0)]
    assert w.entities["a"]["n"] == 7


def test_unknown_event_type_fails_loudly():
    w = counting_world()

    def actor(ctx):
        ctx.emit("nope", "a")
        yield ctx.wait(0)

    w.spawn("actor", actor)
    with pytest.raises(KeyError, match="no reducer for event type 'nope'"):
        w.run()


def test_hash_chain_is_over_the_recorded_bytes():
    sink = MemorySink()
    w = counting_world(sinks=[sink])

    def actor(ctx):
        ctx.emit("add", "a", {"k": 1})
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    head = hashlib.sha256(LAYOUT.header).digest()
    for data in sink.data:
        head = hashlib.sha256(head + data).digest()
    assert w.chain_head == head.hex()
    assert sink.text().splitlines()[0] == "time,event_type,source,box_id,n,seq,target,cause,payload"


def test_changed_mode_writes_only_changed_entities_and_snapshots():
    layout = RecordLayout(kinds=("box",), fields=("n",), id_column="box_id", mode="changed", snapshot_every=3)
    sink = MemorySink()
    w = World(seed=1, layout=layout, sinks=[sink])
    for eid in ("a", "b", "c"):
        w.register(eid, "box", {"n": 0})
    w.register("actor", "agent", {})
    w.on("add", lambda world, ev: world.entity(ev.target).__setitem__("n", 1))

    def actor(ctx):
        ctx.emit("add", "a")
        ctx.emit("add", "a")  # touches a, but nothing changes
        ctx.emit("add", "b")  # seq 3: a full snapshot
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    written = [[eid for eid, _ in r.states] for r in sink.records]
    assert written == [["a"], [], ["a", "b", "c"]]


def test_named_streams_do_not_depend_on_creation_order():
    one, two = RngStreams(5), RngStreams(5)
    x = one("alpha").random()
    two("beta").random()
    assert two("alpha").random() == x
    state = one.state()
    after = one("alpha").random()
    one.restore(state)
    assert one("alpha").random() == after


def test_derived_seeds_are_stable_and_distinct():
    seeds = derive_seeds(42, 5)
    assert seeds == derive_seeds(42, 5)
    assert len(set(seeds)) == 5
    assert derive_seeds(42, 3) == seeds[:3]


def test_negative_latency_is_refused():
    with pytest.raises(ValueError, match="base must be >= 0"):
        Channel(base=-1.0)


def test_max_events_stops_exactly():
    w = counting_world()

    def actor(ctx):
        while True:
            ctx.emit("add", "b", {"k": 1})
            yield ctx.wait(1)

    w.spawn("actor", actor)
    w.run(max_events=7)
    assert w.seq == 7


def test_interrupted_run_leaves_the_previous_file_intact(tmp_path):
    from simulator.engine import CsvSink

    path = tmp_path / "metrics.csv"
    path.write_text("previous complete run\n")
    w = counting_world(sinks=[CsvSink(path)])

    def actor(ctx):
        ctx.emit("add", "a", {"k": 1})
        yield ctx.wait(1)
        ctx.emit("boom", "a")

    w.on("boom", lambda world, ev: 1 / 0)
    w.spawn("actor", actor)
    with pytest.raises(ZeroDivisionError) as info:
        w.run()
    assert any("while applying event #3" in note for note in info.value.__notes__)
    assert path.read_text() == "previous complete run\n"
    assert list(tmp_path.iterdir()) == [path]


def test_resumed_chain_continues_exactly():
    from simulator.engine import HashChain

    full = HashChain(b"header\n")
    for part in (b"a\n", b"b\n", b"c\n"):
        full.extend(part)
    half = HashChain(b"header\n")
    half.extend(b"a\n")
    resumed = HashChain.resume(half.head, half.count)
    resumed.extend(b"b\n")
    resumed.extend(b"c\n")
    assert (resumed.head, resumed.count) == (full.head, full.count)


def test_world_can_start_at_a_later_time():
    w = World(seed=1, initial_time=10.0)
    assert w.now == 10.0


def test_congestion_is_counted_per_channel():
    a, b = Channel(congestion=1.0), Channel(congestion=1.0)
    latency = LatencyModel({("agent", "box", "add"): a, ("agent", "box", "poke"): b})
    sink = MemorySink()
    w = counting_world(sinks=[sink], latency=latency)
    w.on("poke", lambda world, ev: world.entity(ev.target).__setitem__("n", -1))

    def actor(ctx):
        ctx.emit("add", "b", {"k": 1})  # first on its channel: no wait
        ctx.emit("poke", "b")  # first on ITS channel too: no wait
        ctx.emit("add", "b", {"k": 1})  # one already in flight on `a`: waits 1
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    assert [(r.type, r.time) for r in sink.records] == [("add", 0.0), ("poke", 0.0), ("add", 1.0)]



def test_scaled_standard_exponential_is_numpys_exponential():
    """The hot paths draw `scale * standard_exponential()` for `exponential(scale)`
    (simulator.engine.rng): the same draws and the same stream state after them."""
    a, b = RngStreams(11)("x"), RngStreams(11)("x")
    scales = RngStreams(12)("scales")
    for i in range(20_000):
        scale = 1.0 / (scales.random() * 50 + 1e-6) if i % 2 else scales.random() * 1e-3
        assert a.exponential(scale) == scale * b.standard_exponential()
        if i % 5 == 0:  # interleaved with other draws, as the citizen samplers do
            assert a.random() == b.random()
    assert a.bit_generator.state == b.bit_generator.state
    channel, rng = Channel(base=0.01, dist="exponential", scale=0.02), RngStreams(13)("kernel/latency")
    reference = RngStreams(13)("kernel/latency")
    expected = [0.01 + reference.exponential(0.02) for _ in range(100)]
    assert [channel.sample(rng, 0) for _ in range(100)] == expected


def test_exponentials_drawn_in_blocks_are_the_scalar_draws_in_order():
    """`RngStreams.exponentials(name)` gives exactly the values of one
    `standard_exponential()` call per draw, across block boundaries, and a stream drawn in
    blocks refuses to export a state that would be ahead of its draws."""
    from simulator.engine.rng import BLOCK

    streams, reference = RngStreams(21), RngStreams(21)("service/s1")
    draw = streams.exponentials("service/s1")
    assert streams.exponentials("service/s1") is draw  # one buffer per stream
    n = 3 * BLOCK + 7
    assert [draw() for _ in range(n)] == [reference.standard_exponential() for _ in range(n)]
    assert all(type(draw()) is float for _ in range(3))
    other = RngStreams(21)
    other.exponentials("service/s2")
    assert other.exponentials("service/s2")() != draw()  # streams stay independent
    uniform, reference = streams.uniforms("picks"), RngStreams(21)("picks")
    assert streams.uniforms("picks") is uniform
    assert [uniform() for _ in range(n)] == [reference.random() for _ in range(n)]
    with pytest.raises(ValueError, match="'picks' is already drawn in blocks of another kind"):
        streams.exponentials("picks")  # two kinds of block from one stream would interleave
    with pytest.raises(ValueError, match="service/s1"):
        streams.state()


def test_block_draws_give_the_same_run_as_scalar_draws():
    """A world drawing its latency in blocks applies the same events at the same times with
    the same chain as one drawing them one by one; a model with another distribution keeps
    scalar draws (blocks would change the interleaving)."""
    exp = LatencyModel(default=Channel(base=0.01, dist="exponential", scale=0.5))
    assert exp.draws_only_exponentials()
    key = ("agent", "box", "add")
    assert not LatencyModel(channels={key: Channel(dist="uniform", scale=1.0)}).draws_only_exponentials()
    assert LatencyModel(channels={key: Channel(dist="normal", scale=0.0)}).draws_only_exponentials()
    # a fixed channel draws nothing, whatever its scale says
    assert LatencyModel(channels={key: Channel(base=1.0, dist="fixed", scale=2.0)}).draws_only_exponentials()

    def run(block_draws: bool, latency: LatencyModel) -> tuple:
        sink = MemorySink()
        w = World(seed=5, layout=LAYOUT, sinks=[sink], latency=latency, block_draws=block_draws)
        w.register("a", "box", {"n": 0})
        w.register("actor", "agent", {})
        w.on("add", lambda world, ev: world.entity(ev.target).update(n=world.entities[ev.target]["n"] + 1))

        def actor(ctx):
            for _ in range(600):
                ctx.emit("add", "a")
                yield ctx.wait(0.1)

        w.spawn("actor", actor)
        w.run()
        return [(r.seq, r.time) for r in sink.records], w.chain_head, type(w._latency_rng).__name__

    blocks, scalar = run(True, exp), run(False, exp)
    assert blocks[:2] == scalar[:2] and len(set(t for _, t in blocks[0])) > 500
    assert (blocks[2], scalar[2]) == ("_Exponentials", "Generator")
    uniform = LatencyModel(default=Channel(dist="uniform", scale=0.5))
    assert run(True, uniform)[2] == "Generator"
