"""Kernel properties: follow-ups applied in the order emitted, congestion released on delivery,
and the documented precedence of latency channel patterns."""

from __future__ import annotations

import itertools

import pytest

from simulator.engine import Channel, Event, LatencyModel, MemorySink, World


def world_with(latency: LatencyModel | None = None) -> tuple[World, MemorySink]:
    from simulator.engine import RecordLayout

    sink = MemorySink()
    w = World(seed=1, latency=latency, layout=RecordLayout(kinds=("box",), fields=("n",)), sinks=[sink])
    w.register("box", "box", {"n": 0})
    w.register("actor", "agent", {})
    return w, sink


def test_simultaneous_follow_ups_are_applied_in_the_order_emitted():
    w, sink = world_with()
    order = ["e", "a", "d", "b", "c"]  # deliberately not sorted

    def fan_out(world, ev):
        world.entity("box")["n"] += 1
        return [Event("mark", "box", "box", {"name": name}) for name in order]

    def mark(world, ev):
        world.entity("box")["n"] += 1
        if ev.payload["name"] == "a":  # a follow-up of a follow-up comes after all of them
            return [Event("mark", "box", "box", {"name": "a2"})]
        return None

    w.on("fan_out", fan_out)
    w.on("mark", mark)

    def actor(ctx):
        ctx.emit("fan_out", "box")
        ctx.emit("mark", "box", {"name": "first"})  # already scheduled: applied before the follow-ups
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    applied = [(r.seq, r.type, r.payload.get("name"), r.cause) for r in sink.records]
    assert applied == [
        (1, "fan_out", None, None),
        (2, "mark", "first", None),
        *[(3 + i, "mark", name, 1) for i, name in enumerate(order)],
        (8, "mark", "a2", 4),
    ]
    assert all(r.time == 0.0 for r in sink.records)


def test_a_congested_channel_releases_its_count_on_delivery():
    channel = Channel(base=1.0, congestion=0.5)
    w, sink = world_with(LatencyModel({("agent", "box", "poke"): channel}))
    w.on("poke", lambda world, ev: world.entity("box").__setitem__("n", ev.payload["i"]))

    def actor(ctx):
        ctx.emit("poke", "box", {"i": 1})  # nothing in flight: 1.0
        ctx.emit("poke", "box", {"i": 2})  # one in flight: 1.5
        yield ctx.wait(2.0)  # both delivered by now: the channel is empty again
        ctx.emit("poke", "box", {"i": 3})  # 2.0 + 1.0
        ctx.emit("poke", "box", {"i": 4})  # 2.0 + 1.5
        yield ctx.wait(0)

    w.spawn("actor", actor)
    w.run()
    assert [(r.payload["i"], r.time) for r in sink.records] == [(1, 1.0), (2, 1.5), (3, 3.0), (4, 3.5)]
    assert w.latency.in_flight[channel] == 0


# The documented precedence (most specific first), as LatencyModel's docstring states it.
PRECEDENCE = [
    ("src", "dst", "ev"),
    ("src", "dst", "*"),
    ("*", "dst", "ev"),
    ("src", "*", "ev"),
    ("*", "dst", "*"),
    ("src", "*", "*"),
    ("*", "*", "ev"),
]


@pytest.mark.parametrize("present", [*itertools.combinations(range(7), 2), tuple(range(7)), (6,)])
def test_the_most_specific_channel_pattern_wins(present):
    channels = {PRECEDENCE[i]: Channel(base=float(i + 1)) for i in present}
    model = LatencyModel(channels, default=Channel(base=99.0))
    assert model.channel("src", "dst", "ev").base == float(min(present) + 1)
    # Patterns for other kinds or events never match; only the default is left.
    assert model.channel("other", "kind", "event").base == 99.0


def test_precedence_is_documented():
    doc = " ".join(LatencyModel.__doc__.split())
    listed = ", ".join(f"({s}, {t}, {e})" for s, t, e in PRECEDENCE)
    assert listed.replace("src", "s").replace("dst", "t").replace("ev", "e") in doc


def test_set_replaces_a_cached_choice():
    model = LatencyModel(default=Channel(base=9.0))
    assert model.channel("a", "b", "x").base == 9.0
    model.set("a", "*", "*", Channel(base=1.0))
    assert model.channel("a", "b", "x").base == 1.0
    model.set("a", "b", "*", Channel(base=2.0))
    assert model.channel("a", "b", "x").base == 2.0
