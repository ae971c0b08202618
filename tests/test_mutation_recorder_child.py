"""The background recorder's child protocol, run in this process (docs/mutation.md).

`BackgroundRecorder` runs `_serve` in a forked child, where neither coverage nor mutmut
sees it. Here `_serve` runs in the test's main thread (it installs signal handlers) while a
thread plays the simulation process: marshalled batches of records, then ("close", True).
The bytes and chain it produces must equal an inline `Recorder`'s.
"""

from __future__ import annotations

import marshal
import multiprocessing
import signal
import threading

import pytest

from simulator.engine import CallbackSink, CsvSink, HashChain, World, chain_of_file
from simulator.engine.recorder import _serve
from simulator.engine.recording import fmt_payload

from .test_recorder import LAYOUT, Exploding, busy_world

_BYTES: dict[int, bytes] = {}


def recorded_tuples(world: World) -> list[tuple]:
    """Run a world inline; return each record as the simulation process marshals it (and keep
    the bytes the inline recorder wrote for it, by sequence number): one carrying exactly one
    entity as a flat tuple ending in its id and values (`BackgroundRecorder.write_row`), any
    other with its list of rows."""
    out: list[tuple] = []

    def keep(record, data):
        rows = [(eid, tuple(state[f] for f in LAYOUT.fields)) for eid, state in record.states]
        payload = fmt_payload(record.payload)
        ev = (record.seq, record.time, record.type, record.source, record.target, record.cause)
        out.append((*ev, payload, *rows[0]) if len(rows) == 1 else (*ev, payload, rows))
        _BYTES[record.seq] = data

    world.sinks.append(CallbackSink(keep))
    world.run()
    return out


def inline_bytes(records: list[tuple]) -> list[bytes]:
    return [_BYTES[r[0]] for r in records]


def serve(records, sinks, head, count, *, batch=700, close=True):
    """Feed `records` to `_serve` in batches from a thread; return the child's reply (or None)."""
    parent, child = multiprocessing.Pipe()
    unused_parent_copy, _ = multiprocessing.Pipe()
    reply: list = []

    def simulation_process():
        try:
            for i in range(0, len(records), batch):
                parent.send_bytes(marshal.dumps(records[i : i + batch]))
            if close:
                parent.send_bytes(marshal.dumps(("close", True)))
            # bounded: a child that never answers is hung up on, which ends it (EOF)
            reply.append(marshal.loads(parent.recv_bytes()) if close and parent.poll(20) else None)
        except (EOFError, OSError):
            reply.append(None)
        finally:
            parent.close()

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    feeder = threading.Thread(target=simulation_process)
    feeder.start()
    try:
        _serve(child, unused_parent_copy, LAYOUT, sinks, head, count)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
        feeder.join(30)
    assert child.closed, "the child closes its end when it is done"
    assert signal.getsignal(signal.SIGINT) == handlers[0]
    return reply[0] if reply else None


@pytest.fixture(scope="module")
def inline(tmp_path_factory):
    """The reference: the same world recorded inline to a CSV file."""
    path = tmp_path_factory.mktemp("inline") / "m.csv"
    w = busy_world([CsvSink(path)], background=False)
    records = recorded_tuples(w)
    return records, path.read_bytes(), w.chain_head, w.chain.count


def test_the_child_writes_the_inline_bytes_and_reports_the_inline_chain(tmp_path, inline):
    records, data, head, count = inline
    path = tmp_path / "m.csv"
    start = HashChain(LAYOUT.header)
    reply = serve(records, [CsvSink(path)], start.head, start.count)
    assert reply == ("done", head, count)
    assert count == len(records) > 3000
    assert {len(r) for r in records} == {8, 9}  # both shapes: one entity, none or several
    assert {r[5] is None for r in records if len(r) == 9} == {True, False}  # with and without a cause
    assert path.read_bytes() == data
    assert chain_of_file(path) == (head, count)


def test_the_child_continues_a_resumed_chain(tmp_path, inline):
    records, _, _, _ = inline
    reply = serve(records, [CsvSink(tmp_path / "m.csv")], "ab" * 32, 41, batch=999)
    expected = HashChain.resume("ab" * 32, 41)  # independent: each record's inline bytes in turn
    for data in inline_bytes(records):
        expected.extend(data)
    assert reply == ("done", expected.head, 41 + len(records))


def test_a_hang_up_without_close_discards_the_file_and_sends_nothing(tmp_path, inline):
    records, _, _, _ = inline
    path = tmp_path / "m.csv"
    path.write_bytes(b"the previous complete run\n")
    start = HashChain(LAYOUT.header)
    assert serve(records[:1500], [CsvSink(path)], start.head, start.count, close=False) is None
    assert path.read_bytes() == b"the previous complete run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv"]


def test_a_failing_sink_is_reported_with_its_reason_and_nothing_is_left(tmp_path, inline):
    records, _, _, _ = inline
    start = HashChain(LAYOUT.header)
    reply = serve(records, [CsvSink(tmp_path / "m.csv"), Exploding(after=1000)], start.head, start.count)
    assert reply is not None and reply[0] == "error"
    assert reply[1].startswith("background recorder: Traceback")
    assert "OSError: disk full" in reply[1]
    assert list(tmp_path.iterdir()) == []
