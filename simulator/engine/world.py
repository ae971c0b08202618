"""The World: one SimPy environment that owns time, ordering, state and the record.

Actors (agents, services, stressors) are SimPy processes that only emit intents, ask for
time and observe. Reducers, one per event type, are the only code that mutates state.
Applying an event assigns the next sequence number, runs the reducer, writes one record,
extends the hash chain, notifies sinks, then schedules the reducer's follow-up events,
each carrying the applied event as its cause.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Generator, Iterable, Sequence
from heapq import heappush
from types import MappingProxyType
from typing import Any

import numpy as np
import simpy
from simpy.core import NORMAL, StopSimulation

from .events import Event
from .latency import Channel, LatencyModel
from .recorder import BackgroundRecorder, Recorder, background_available
from .recording import SCALARS, HashChain, RecordLayout, Sink
from .rng import RngStreams

Reducer = Callable[["World", Event], Iterable[Event] | None]
Behaviour = Callable[["ActorContext"], Generator[Any, Any, Any]]

Woken = simpy.Interrupt
"""Raised at an actor's `yield ctx.sleep(d)` when a reducer wakes it (`World.wake`)."""


class _Delivery:
    """A scheduled intent, queued on SimPy's own heap (so SimPy orders it)."""

    __slots__ = ("callbacks", "intent", "channel")
    _ok = True  # what SimPy reads of a processed event: it always succeeds
    _value = None

    def __init__(self, intent: Event, channel: Channel, deliver: Callable) -> None:
        self.callbacks = [deliver]
        self.intent = intent
        self.channel = channel


class _Exponentials:
    """A stream whose every draw is a standard exponential, taken in blocks (`block_draws`)."""

    __slots__ = ("standard_exponential",)

    def __init__(self, draw: Callable[[], float]) -> None:
        self.standard_exponential = draw


class Observation(dict):
    """What an actor saw: `{entity_id: {field: value}}` as of `taken_at`."""

    taken_at: float = 0.0


class ActorContext:
    """An actor's only handle on the world: emit, wait, observe, its own random stream."""

    __slots__ = ("world", "id", "kind", "rng", "process")

    def __init__(self, world: World, entity_id: str) -> None:
        self.world = world
        self.id = entity_id
        self.kind = world.kinds[entity_id]
        self.rng: np.random.Generator = world.rng(f"actor/{entity_id}")
        """This actor's own named stream (`actor/<id>`), created with the actor."""
        self.process: simpy.Process | None = None

    @property
    def now(self) -> float:
        return self.world.env._now  # `env.now`, one property call fewer

    @property
    def me(self) -> MappingProxyType:
        """A read-only view of this actor's own state."""
        return MappingProxyType(self.world.entities[self.id])

    def emit(
        self, type: str, target: str = "", payload: dict[str, Any] | None = None, delay: float = 0.0
    ) -> None:
        """Express an intent; the World decides when it is applied."""
        self.world.emit(Event(type, self.id, target, payload, delay))

    def wait(self, duration: float) -> simpy.Timeout:
        """Ask for time: `yield ctx.wait(d)`."""
        return self.world.env.timeout(duration)

    def sleep(self, duration: float) -> simpy.Timeout:
        """Ask for time that a reducer may cut short: `yield ctx.sleep(d)` raises `Woken` at
        the moment of `World.wake(id)` (after the waking event), or returns after `d`."""
        timeout = self.world.env.timeout(duration)
        self.world._sleeping[self.id] = (timeout, self.process)
        return timeout

    def observe(self, ids: Sequence[str], fields: Sequence[str] | None = None) -> simpy.Timeout:
        """`obs = yield ctx.observe(ids)`: a snapshot taken now, delivered after the latency of
        the (observer kind, observed kind, "observe") channel, so it may be stale on arrival.
        `fields` restricts what is seen (partial information)."""
        world = self.world
        seen = Observation()
        seen.taken_at = world.env.now
        for eid in ids:
            state = world.entities[eid]
            seen[eid] = dict(state) if fields is None else {f: state[f] for f in fields}
        target_kind = world.kinds[ids[0]] if ids else "*"
        channel = world.latency.channel(self.kind, target_kind, "observe")
        delay = channel.sample(world._latency_rng, 0)
        return world.env.timeout(delay, value=seen)


class EventLimitReached(RuntimeError):
    """A run needed more than `max_events` events before its end time."""

    def __init__(self, max_events: int, now: float) -> None:
        super().__init__(f"the run needs more than max_events={max_events:,} events (stopped at t={now:g})")
        self.max_events, self.now = max_events, now


class World:
    """A deterministic world: entities, reducers, actors, latency, streams and the record."""

    def __init__(
        self,
        seed: int,
        latency: LatencyModel | None = None,
        layout: RecordLayout | None = None,
        sinks: Sequence[Sink] = (),
        initial_time: float = 0.0,
        background: bool = False,
        block_draws: bool = False,
    ) -> None:
        """`background=True` formats and hashes records in a child process when every sink
        takes bytes only (CSV): the same bytes and chain, off the simulation's core.
        `block_draws=True` takes the latency stream's draws in blocks when every channel is
        fixed or exponential (`RngStreams.exponentials`: the same values, faster), for runs
        that never checkpoint their streams."""
        self.env = simpy.Environment(initial_time)
        self.seed = int(seed)
        self.rng = RngStreams(seed)
        self.latency = latency or LatencyModel()
        self._latency_rng: Any = self.rng("kernel/latency")
        if block_draws and self.latency.draws_only_exponentials():
            self._latency_rng = _Exponentials(self.rng.exponentials("kernel/latency"))
        self.entities: dict[str, dict[str, Any]] = {}
        self.kinds: dict[str, str] = {}
        self.reducers: dict[str, Reducer] = {}
        self.seq = 0
        self.layout = layout
        self.sinks = list(sinks)
        self._chain: HashChain | None = HashChain(layout.header) if layout else None
        self._touched: list[str] = []
        self._recorded_ids: list[str] = []
        self._recorded: set[str] = set()
        self._last_rows: dict[str, tuple] = {}
        self._changed_only = bool(layout) and layout.mode == "changed"
        self._snapshot_every = layout.snapshot_every if layout else 0
        if layout:
            getter = operator.itemgetter(*layout.fields)
            self._values_of = getter if len(layout.fields) > 1 else lambda state: (getter(state),)
        self.background = background
        self.recorder: Recorder | BackgroundRecorder | None = None
        self._recording = False
        self._stop_at = 0
        self._sleeping: dict[str, tuple[simpy.Timeout, simpy.Process]] = {}
        self._apply = self._deliver  # bound once, not per event

    # -- building -------------------------------------------------------------------------
    def register(self, entity_id: str, kind: str, state: dict[str, Any]) -> None:
        """Add an entity whose state is plain data owned by the World."""
        if entity_id in self.entities:
            raise ValueError(f"entity {entity_id!r} is already registered")
        if not entity_id or "," in entity_id or "\n" in entity_id:
            raise ValueError(f"entity id {entity_id!r} must be non-empty, without commas")
        self.entities[entity_id] = state
        self.kinds[entity_id] = kind
        if self.layout and kind in self.layout.kinds:
            fields = self.layout.fields
            bad = [f for f in fields if not isinstance(state.get(f), SCALARS)]
            if bad:
                raise TypeError(f"{entity_id}: recorded fields must hold scalars (numbers, text): {bad}")
            self._recorded_ids.append(entity_id)
            self._recorded.add(entity_id)

    def on(self, event_type: str, reducer: Reducer) -> None:
        """Make `reducer(world, event)` the one function that applies `event_type`."""
        if event_type in self.reducers:
            raise ValueError(f"event type {event_type!r} already has a reducer")
        self.reducers[event_type] = reducer

    def spawn(self, entity_id: str, behaviour: Behaviour) -> simpy.Process:
        """Start an actor process: `behaviour(ctx)` is a generator over an ActorContext."""
        ctx = ActorContext(self, entity_id)
        ctx.process = self.env.process(behaviour(ctx))
        return ctx.process

    # -- reducer side -----------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.env._now  # `env.now`, one property call fewer

    def entity(self, entity_id: str) -> dict[str, Any]:
        """Mutable state, for reducers only; marks the entity as touched by this event."""
        self._touched.append(entity_id)
        return self.entities[entity_id]

    def wake(self, entity_id: str) -> None:
        """For reducers: if actor `entity_id` is in a `ctx.sleep`, it resumes now (after this
        event) with `Woken`; otherwise nothing happens. Used when a state change makes the
        actor's pending wait wrong (a rate that jumped)."""
        sleeping = self._sleeping.pop(entity_id, None)
        if sleeping is not None and sleeping[1].target is sleeping[0]:
            sleeping[1].interrupt()

    def emit(self, event: Event) -> None:
        """Schedule an intent after its requested delay plus its channel's latency."""
        kinds, latency = self.kinds, self.latency
        key = (kinds.get(event.source, "*"), kinds.get(event.target, "*"), event.type)
        channel = latency._cache.get(key) or latency.channel(*key)
        if channel.congestion:
            in_flight = latency.in_flight
            load = in_flight.get(channel, 0)
            in_flight[channel] = load + 1
        else:
            load = 0
        if channel.base or channel.scale or load:
            delay = event.delay + channel.sample(self._latency_rng, load)
        else:
            delay = event.delay
        # `env.schedule(delivery, NORMAL, delay)`, without the call
        env = self.env
        delivery = _Delivery(event, channel, self._apply)
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), delivery))

    def _deliver(self, delivery: _Delivery) -> None:
        event = delivery.intent
        if delivery.channel.congestion:
            self.latency.in_flight[delivery.channel] -= 1
        reducer = self.reducers.get(event.type)
        if reducer is None:
            raise KeyError(
                f"no reducer for event type {event.type!r} (known: {', '.join(sorted(self.reducers))})"
            )
        self.seq = seq = self.seq + 1
        self._touched.clear()
        try:
            follow_ups = reducer(self, event)
        except Exception as exc:
            exc.add_note(f"while applying event #{seq} at t={self.env.now}: {event!r}")
            raise
        if self._recording:
            self._record(event)
        if follow_ups:
            emit = self.emit
            for follow_up in follow_ups:
                follow_up.cause = seq
                emit(follow_up)
        if seq == self._stop_at:
            raise StopSimulation(None)

    # -- recording --------------------------------------------------------------------------
    def _record(self, event: Event) -> None:
        """Hand the recorder the entities this record carries, as value tuples."""
        seq, touched, every = self.seq, self._touched, self._snapshot_every
        if len(touched) == 1 and self._changed_only and (not every or seq % every):
            # the common case: one entity, written if it changed (one row, or none)
            eid = touched[0]
            if eid in self._recorded:
                values = self._values_of(self.entities[eid])
                last = self._last_rows
                if last.get(eid) != values:
                    last[eid] = values
                    self.recorder.write_row(seq, self.env._now, event, eid, values)
                    return
            self.recorder.write(seq, self.env._now, event, [])
            return
        layout, entities, values_of = self.layout, self.entities, self._values_of
        if layout.mode == "all":  # nothing to compare against: every entity, every time
            rows = [(eid, values_of(entities[eid])) for eid in self._recorded_ids]
        elif layout.snapshot_every and seq % layout.snapshot_every == 0:
            last = self._last_rows
            rows = []
            for eid in self._recorded_ids:
                last[eid] = values = values_of(entities[eid])
                rows.append((eid, values))
        else:
            kinds, recorded, last = self.kinds, layout.kinds, self._last_rows
            rows = []
            for eid in dict.fromkeys(touched):
                if kinds[eid] in recorded:
                    values = values_of(entities[eid])
                    if last.get(eid) != values:
                        last[eid] = values
                        rows.append((eid, values))
        self.recorder.write(seq, self.env._now, event, rows)

    def _open_recorder(self) -> None:
        chain = self._chain = self._chain or HashChain(self.layout.header)
        byte_sinks_only = self.sinks and not any(sink.wants_records for sink in self.sinks)
        if self.background and byte_sinks_only and background_available():
            self.recorder = BackgroundRecorder(self.layout, self.sinks, chain)
        else:
            self.recorder = Recorder(self.layout, self.sinks, chain)
        self.recorder.open()
        self._recording = True

    def _close_recorder(self, ok: bool) -> None:
        if self._recording:
            self._recording = False
            self.recorder.close(ok)
            self.chain = self.recorder.chain

    @property
    def chain(self) -> HashChain | None:
        """The record chain, up to date with every event applied so far (the inline recorder
        extends it in batches: reading it flushes the batch)."""
        if self._recording:
            self.recorder.flush()
        return self._chain

    @chain.setter
    def chain(self, chain: HashChain | None) -> None:
        self._chain = chain

    @property
    def chain_head(self) -> str | None:
        return self.chain.head if self.chain else None

    # -- running ----------------------------------------------------------------------------
    def run(
        self,
        until: float | None = None,
        progress: Callable[[float], None] | None = None,
        steps: int = 200,
        max_events: int = 0,
        limit_is_error: bool = False,
    ) -> None:
        """Run until nothing is scheduled, `until`, or `max_events` applied events. Sinks are
        opened and closed here; closed with ok=False (discarding partial files) on an error.
        With `limit_is_error`, a run that would apply more than `max_events` events raises
        `EventLimitReached` (an error: partial files are discarded).

        The objects that exist when the run starts (the built world, modules, whatever the
        caller holds) are set aside from the cyclic garbage collector while it runs
        (`gc.freeze`), and handed back after: they outlive the run anyway, and rescanning them
        at every full collection cost a long run about a tenth of its time."""
        self._stop_at = max_events + 1 if limit_is_error and max_events else max_events
        if self.layout and self.recorder is None:
            self._open_recorder()
        ok = False
        frozen = gc.isenabled()
        if frozen:
            gc.freeze()
        try:
            if progress is None or until is None:
                self.env.run(until=until)
            else:
                for i in range(1, steps + 1):
                    self.env.run(until=until * i / steps)
                    progress(self.env.now)
                    if self._stop_at and self.seq >= self._stop_at:
                        break
            if limit_is_error and max_events and self.seq > max_events:
                raise EventLimitReached(max_events, self.env.now)
            ok = True
        finally:
            if frozen:
                gc.unfreeze()
            self._close_recorder(ok)
