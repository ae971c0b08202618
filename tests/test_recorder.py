"""The background recorder writes the same bytes and chain as the inline one, and fails loudly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine import CsvSink, Event, HashChain, RecordLayout, World, chain_of_file
from simulator.engine.recorder import BackgroundRecorder, Recorder, RecorderError, background_available

pytestmark = pytest.mark.skipif(not background_available(), reason="needs the fork start method")

LAYOUT = RecordLayout(
    kinds=("box",), fields=("n", "x", "label"), id_column="box_id", mode="changed", snapshot_every=7
)


def busy_world(sinks, background: bool, fail_at: int = 0) -> World:
    """Boxes bumped by an actor for a few thousand events: floats, text, payloads, snapshots,
    follow-ups (records with a cause)."""
    w = World(seed=3, layout=LAYOUT, sinks=sinks, background=background)
    for i in range(5):
        w.register(f"b{i}", "box", {"n": 0, "x": 0.0, "label": "idle"})
    w.register("actor", "agent", {})

    def on_bump(world: World, ev: Event):
        if fail_at and world.seq >= fail_at:
            raise RuntimeError("reducer broke")
        box = world.entity(ev.target)
        box["n"] += 1
        box["x"] += ev.payload["by"] / 3
        box["label"] = "busy" if box["n"] % 4 else "idle"
        return [Event("noop", ev.target, ev.target)] if box["n"] % 5 == 0 else None

    def on_note(world: World, ev: Event):  # a follow-up that changes one box: a row with a cause
        world.entity(ev.target)["label"] = "noted"

    w.on("bump", on_bump)
    w.on("noop", on_note)

    def actor(ctx):
        for _ in range(3000):
            yield ctx.wait(ctx.rng.exponential(1.0))
            target = f"b{int(ctx.rng.random() * 5)}"
            ctx.emit("bump", target, {"by": round(ctx.rng.random(), 3), "note": 'say "hi", twice'})

    w.spawn("actor", actor)
    return w


class Exploding:
    """A byte sink that fails after some records (a full disk, say)."""

    wants_records = False

    def __init__(self, after: int) -> None:
        self.after, self.seen = after, 0

    def open(self, header: bytes) -> None:
        pass

    def write(self, record, data: bytes) -> None:
        self.seen += 1
        if self.seen > self.after:
            raise OSError("disk full")

    def close(self, ok: bool) -> None:
        pass


def test_background_recording_gives_the_same_bytes_and_chain(tmp_path):
    heads = {}
    for background in (False, True):
        path = tmp_path / f"{background}.csv"
        w = busy_world([CsvSink(path)], background)
        w.run()
        assert isinstance(w.recorder, BackgroundRecorder if background else Recorder)
        assert chain_of_file(path) == (w.chain_head, w.chain.count)
        heads[background] = (path.read_bytes(), w.chain_head, w.chain.count, w.seq)
    assert heads[True] == heads[False]
    assert heads[True][2] == heads[True][3] > 3000


def test_background_recording_continues_a_resumed_chain(tmp_path):
    heads = []
    for background in (False, True):
        w = busy_world([CsvSink(tmp_path / f"{background}.csv")], background)
        w.chain = HashChain.resume("ab" * 32, 41)
        w.run()
        heads.append((w.chain_head, w.chain.count))
    assert heads[0] == heads[1]
    assert heads[0][1] == 41 + w.seq


def test_a_failing_sink_in_the_child_is_raised_and_nothing_is_left(tmp_path):
    path = tmp_path / "metrics.csv"
    w = busy_world([CsvSink(path), Exploding(after=2500)], background=True)
    with pytest.raises(RecorderError, match="disk full"):
        w.run()
    assert list(tmp_path.iterdir()) == []


def test_a_failing_reducer_discards_the_background_file(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("the previous complete run\n")
    w = busy_world([CsvSink(path)], background=True, fail_at=2500)
    with pytest.raises(RuntimeError, match="reducer broke"):
        w.run()
    assert path.read_text() == "the previous complete run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]


def test_record_wanting_sinks_keep_recording_inline(tmp_path):
    from simulator.engine import MemorySink

    w = busy_world([CsvSink(tmp_path / "m.csv"), MemorySink()], background=True)
    w.run()
    assert isinstance(w.recorder, Recorder)


def test_recorded_fields_must_hold_scalars():
    w = World(seed=1, layout=LAYOUT)
    with pytest.raises(TypeError, match="b0: recorded fields must hold scalars"):
        w.register("b0", "box", {"n": [1], "x": 0.0, "label": "idle"})


def test_a_child_that_failed_waits_for_the_hang_up_so_its_reason_is_never_lost(tmp_path):
    """The race behind a once-flaky test: the child used to close the pipe right after its error
    reply, so the parent's next send met a broken pipe (or the reply was reset) and the reason
    was lost. Here the child has certainly failed and replied before the parent sends again."""
    sink = Exploding(after=10)
    rec = BackgroundRecorder(LAYOUT, [CsvSink(tmp_path / "m.csv"), sink], HashChain(LAYOUT.header), batch=50)
    rec.open()
    for seq in range(1, 51):
        rec.write(seq, float(seq), Event("noop", "b0", "b0"), [])
    assert rec._conn.poll(30), "the child reports its failure"
    rec._child.join(0.3)
    assert rec._child.is_alive(), "the child keeps its end open until the parent hangs up"
    for seq in range(51, 100):  # the parent keeps writing: the failure surfaces at the next batch
        rec.write(seq, float(seq), Event("noop", "b0", "b0"), [])
    with pytest.raises(RecorderError, match="disk full"):
        rec.write(100, 100.0, Event("noop", "b0", "b0"), [])
    assert not rec._child.is_alive()
    rec.close(True)  # the failure is remembered: even a "completed" close sends nothing, raises nothing
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("after", [0, 100, 511, 512, 2048, 3000])
def test_a_sink_failing_at_any_point_is_raised_with_its_reason(tmp_path, after):
    w = busy_world([CsvSink(tmp_path / "metrics.csv"), Exploding(after=after)], background=True)
    with pytest.raises(RecorderError, match="disk full"):
        w.run()
    assert not w.recorder._child.is_alive()
    assert list(tmp_path.iterdir()) == []


def _reference_line(sample, time, type_, source, eid, values, seq, target, cause, payload):
    """The canonical line, written out here: every cell through `fmt`, whatever the sample
    the compiled formatter was made for."""
    from simulator.engine.recording import fmt

    cells = ",".join(fmt(v) for v in values)
    return f"{time:.10g},{type_},{source},{eid},{cells},{seq},{target},{cause},{payload}\n"


def test_compiled_lines_equal_the_per_cell_formatting_whatever_the_values():
    """The float-text cache never confuses 0.0 with -0.0, ints with floats, or NaNs; a None,
    a bool or a float in an int or text column is written as `fmt` writes it (before, an
    int column took a later float score as `3.0` and None as `None`)."""
    from simulator.engine.recording import line_formatter

    sample = (0.5, 3, "ok", True, None)
    line = line_formatter(sample)
    rows = [
        (0.0, 1, "a", False, None),
        (-0.0, 2, "b", True, None),
        (0.0, 3, "c", True, 1.5),
        (1.0, 1.5, "d", 0, "x"),
        (1, 2, 3, None, None),
        (float("nan"), 0, "", True, None),
        (float("-inf"), 0, "", True, None),
        (1 / 3, 7, "e", False, None),
        (1 / 3, 8, "e", False, None),
        (None, 9, "f", True, None),
        ("text", 9, "f", True, None),
        (True, 10, "g", True, None),
        (-0.0, 11, "h", True, None),
        (12345678901.5, 12, "i", True, None),
        (12345678901.0, 12, "i", True, None),  # '1.23456789e+10', kept or not...
        (12345678901, 12, "i", True, None),  # ...an equal int past 10 digits is '12345678901'
        (12345678901, True, None, 2.5, 3),  # a bool where an int was, None where text was
        (5.0, 1.5, "j", True, None),  # where an int was, a float (its text is %.10g, not repr)
        (5, None, 2.25, True, None),  # the int 5 finds the cached text of 5.0: the same
    ]
    for i, values in enumerate(rows * 2):  # twice: the second time from the cache
        args = (i * 0.25, "tick", "src", "e1", values, i, "tgt", "" if i % 3 else str(i - 1), "")
        assert line(*args) == _reference_line(sample, *args), values


def test_the_chain_read_during_a_run_is_exact_although_extended_in_batches(tmp_path):
    """The inline recorder extends the chain once per batch; reading `World.chain` mid-run
    flushes, so a checkpoint sees the head of every record applied so far."""
    from simulator.engine import MemorySink

    def heads_seen(sinks) -> list[tuple[int, str, int]]:
        w = busy_world(sinks, background=False)
        seen = []

        def watcher(ctx):
            for _ in range(7):
                yield ctx.wait(311.0)
                seen.append((ctx.world.seq, ctx.world.chain_head, ctx.world.chain.count))

        w.register("watcher", "agent", {})
        w.spawn("watcher", watcher)
        w.run()
        return seen

    batched = heads_seen([CsvSink(tmp_path / "m.csv")])  # bytes only: batched
    unbatched = heads_seen([MemorySink()])  # a sink that wants records: one at a time
    assert batched == unbatched
    assert all(seq == count for seq, _, count in batched) and batched[-1][0] > 1024


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 5.0, 1e10, 12345678901.0]),
    st.text(alphabet="abcxyz_", max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.tuples(
        st.tuples(*[_SCALARS] * n), st.lists(st.tuples(*[_SCALARS] * n), min_size=1, max_size=6)
    )
))
def test_a_compiled_line_is_the_canonical_line_for_any_values(case):
    """Whatever the sample the formatter was compiled for, and in any order of values (the
    float-text cache warm or cold), a line is every cell through `fmt`."""
    from simulator.engine.recording import line_formatter

    sample, rows = case
    line = line_formatter(sample)
    for i, values in enumerate(rows + rows):
        args = (i * 0.5, "tick", "src", "e1", values, i, "tgt", "", "")
        assert line(*args) == _reference_line(sample, *args), (sample, values)


def test_a_layout_without_state_columns_has_the_same_cells_on_either_path():
    """The cell-by-cell fallback (here forced by an event type that is not text) writes no
    extra empty cell when the layout has no state columns."""
    from simulator.engine.recording import line_formatter

    line = line_formatter(())
    fast = line(1.5, "7", "src", "e1", (), 3, "tgt", "", "")
    assert fast == "1.5,7,src,e1,3,tgt,,\n"
    assert line(1.5, 7, "src", "e1", (), 3, "tgt", "", "") == fast


class _ExitHandlers:
    """Stands in for `atexit` in the recorder module: the handlers registered and not removed."""

    def __init__(self) -> None:
        self.live: list = []
        self.registered = 0

    def register(self, fn, *args, **kwargs):  # noqa: ANN001, ANN201 - atexit's signature
        self.live.append(fn)
        self.registered += 1
        return fn

    def unregister(self, fn) -> None:  # noqa: ANN001 - atexit's signature
        self.live = [f for f in self.live if f != fn]


@pytest.mark.skipif(not background_available(), reason="needs fork")
@pytest.mark.parametrize("ok", [True, False])
def test_background_runs_leave_no_exit_handler_behind(tmp_path, monkeypatch, ok):
    """Each background recorder registers an exit handler while it runs (so a program that
    never closes it still exits) and removes it when closed, whether the run succeeded or
    not: a batch of many runs in one process does not pile them up, each keeping its pipe."""
    from simulator.engine import recorder

    handlers = _ExitHandlers()
    monkeypatch.setattr(recorder, "atexit", handlers)
    for i in range(3):
        w = busy_world([CsvSink(tmp_path / f"m{i}.csv")], background=True, fail_at=0 if ok else 50)
        if ok:
            w.run()
        else:
            with pytest.raises(RuntimeError, match="reducer broke"):
                w.run()
    assert handlers.registered == 3  # one per run, while it ran
    assert handlers.live == []
