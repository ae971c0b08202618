"""Recorders turn applied events into canonical bytes, extend the chain and feed the sinks.

`Recorder` does it inline. `BackgroundRecorder` does the same work in a child process fed
batches of plain values, so formatting and hashing leave the simulation's core; the bytes
and the chain are the same, which the tests check.
"""

from __future__ import annotations

import atexit
import marshal
import multiprocessing
import os
import signal
import socket
import traceback
from collections.abc import Sequence
from typing import Any

from .events import Event, Record
from .recording import HashChain, RecordLayout, Sink, fmt_payload, line_formatter

Rows = list[tuple[str, tuple[Any, ...]]]
"""`(entity_id, values)` for each entity a record carries, values in layout field order."""


class Recorder:
    """Formats each record to its CSV lines, extends the chain, passes both to the sinks.

    When every sink takes bytes only, records are kept in a batch of `batch` and the chain is
    extended and the sinks written once per batch (a tight loop, one write per sink); a sink
    with a `write_many(list_of_bytes)` method gets the batch in one call. `flush()` brings
    the chain and the sinks up to date (the World does it before anyone reads the chain).
    """

    def __init__(
        self, layout: RecordLayout, sinks: Sequence[Sink], chain: HashChain, batch: int = 1024
    ) -> None:
        self.layout, self.sinks, self.chain = layout, list(sinks), chain
        n = len(layout.fields)
        self._empty = "%.10g,%s,%s," + "," * n + ",%s,%s,%s,%s\n"
        self._line: Any = None
        self._wants_records = any(sink.wants_records for sink in self.sinks)
        self._batch = batch
        self._pending: list[bytes] = []

    def open(self) -> None:
        for sink in self.sinks:
            sink.open(self.layout.header)

    def write(self, seq: int, time: float, event: Event, rows: Rows) -> None:
        """Record applied event number `seq`, applied at `time`, with the carried `rows`."""
        ev = event
        if len(rows) == 1 and not self._wants_records:
            eid, values = rows[0]
            self.write_row(seq, time, ev, eid, values)
            return
        payload = fmt_payload(ev.payload) if ev.payload else ""
        if self._wants_records:
            self._write_record(seq, time, ev, payload, rows)
            return
        self._append(self.encode(seq, time, ev.type, ev.source, ev.target, ev.cause, payload, rows))

    def write_row(self, seq: int, time: float, event: Event, eid: str, values: tuple) -> None:
        """`write` of a record that carries exactly one entity (the common case), in one call."""
        ev = event
        if self._wants_records:
            self.write(seq, time, ev, [(eid, values)])
            return
        cause, payload = ev.cause, ev.payload
        text = (self._line or self._compile(values))(
            time,
            ev.type,
            ev.source,
            eid,
            values,
            seq,
            ev.target,
            "" if cause is None else str(cause),
            fmt_payload(payload) if payload else "",
        )
        pending = self._pending
        pending.append(text.encode())
        if len(pending) >= self._batch:
            self.flush()

    def _append(self, data: bytes) -> None:
        pending = self._pending
        pending.append(data)
        if len(pending) >= self._batch:
            self.flush()

    def _write_record(self, seq: int, time: float, ev: Event, payload: str, rows: Rows) -> None:
        """Unbatched, for sinks that take records (live subscribers see each at once)."""
        data = self.encode(seq, time, ev.type, ev.source, ev.target, ev.cause, payload, rows)
        self.chain.extend(data)
        fields = self.layout.fields
        states = tuple((eid, dict(zip(fields, values, strict=True))) for eid, values in rows)
        record = Record(seq, time, ev.type, ev.source, ev.target, ev.cause, ev.payload, states)
        for sink in self.sinks:
            sink.write(record, data)

    def write_batch(self, records: list[tuple]) -> None:
        """Record a batch and flush it: the background child's loop. A record is
        `(seq, time, type, source, target, cause, payload, rows)`, or, carrying exactly one
        entity, `(seq, time, type, source, target, cause, payload, entity_id, values)`."""
        encode, line, pending = self.encode, self._line, self._pending
        for record in records:
            if len(record) == 9:
                seq, time, type_, source, target, cause, payload, eid, values = record
                cause_text = "" if cause is None else str(cause)
                line = line or self._compile(values)
                text = line(time, type_, source, eid, values, seq, target, cause_text, payload)
                pending.append(text.encode())
            else:
                pending.append(encode(*record))
                line = self._line
        self.flush()

    def flush(self) -> None:
        """Extend the chain over the batch and hand it to the sinks."""
        batch = self._pending
        if not batch:
            return
        self._pending = []
        self.chain.extend_many(batch)
        for sink in self.sinks:
            write_many = getattr(sink, "write_many", None)
            if write_many is not None:
                write_many(batch)
            else:
                for data in batch:
                    sink.write(None, data)

    def encode(
        self,
        seq: int,
        time: float,
        type: str,
        source: str,
        target: str,
        cause: int | None,
        payload: str,
        rows: Rows,
    ) -> bytes:
        """The canonical bytes: one line per carried entity, or one line without state."""
        cause_text = "" if cause is None else str(cause)
        if not rows:
            return (self._empty % (time, type, source, seq, target, cause_text, payload)).encode()
        line = self._line or self._compile(rows[0][1])
        if len(rows) == 1:
            eid, values = rows[0]
            return line(time, type, source, eid, values, seq, target, cause_text, payload).encode()
        return "".join(
            [line(time, type, source, eid, values, seq, target, cause_text, payload) for eid, values in rows]
        ).encode()

    def _compile(self, sample: tuple) -> Any:
        self._line = line_formatter(sample)
        return self._line

    def close(self, ok: bool) -> None:
        """Flush (on success) and close every sink; a sink that fails to flush discards all."""
        if ok:
            try:
                self.flush()
            except BaseException:
                for sink in self.sinks:
                    sink.close(False)
                raise
        for sink in self.sinks:
            sink.close(ok)


def background_available() -> bool:
    """A background recorder needs `fork` (the child inherits the sinks as they are)."""
    return "fork" in multiprocessing.get_all_start_methods()


SEND_BUFFER = 1 << 22
"""Bytes of batches the pipe holds before a send waits for the child (a few batches)."""


def _widen(conn: Any) -> None:
    """Let the pipe (a Unix socket pair) hold several batches, so that handing one over does
    not wait for the child to be scheduled and read it: on a busy machine each such wait was
    a scheduler's latency, more than the work the child took off the simulation."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    except OSError:  # a platform without it: sends wait for the child, as before
        pass


class RecorderError(RuntimeError):
    """The background recorder failed; its traceback is in the message."""


class BackgroundRecorder:
    """A `Recorder` over byte-only sinks in a forked child, fed marshalled batches of records.

    Memory stays bounded: a full pipe blocks the simulation until the child catches up. On
    `close(ok)` the child closes the sinks (a failed run discards partial files, as inline)
    and hands back the chain head and count; a failure in the child is raised here.

    The pipe is only ever closed by this side first: a child that fails sends its error, then
    keeps reading (and discarding) until this side hangs up. So a send never meets a closed
    pipe and the error reply is never lost to a reset, whatever the scheduling; the error is
    raised at the next batch (if it has arrived by then) or at `close`.
    """

    def __init__(
        self, layout: RecordLayout, sinks: Sequence[Sink], chain: HashChain, batch: int = 512
    ) -> None:
        if any(sink.wants_records for sink in sinks):
            raise ValueError("a background recorder takes only sinks that want bytes, not records")
        self.layout, self.sinks, self.chain, self.batch = layout, list(sinks), chain, batch
        self._pending: list[tuple] = []
        self._failed = False
        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe()
        _widen(self._conn)
        self._child = context.Process(
            target=_serve,
            args=(child_end, self._conn, layout, self.sinks, chain.head, chain.count),
            daemon=True,
        )
        self._child_end = child_end

    def open(self) -> None:
        self._child.start()
        self._child_end.close()
        # A process that exits without closing us must hang up first: at exit multiprocessing
        # joins the child, which ignores SIGTERM and waits for the pipe to close (atexit runs
        # this before multiprocessing's own handler: last registered, first run).
        atexit.register(self._conn.close)

    def write_row(self, seq: int, time: float, event: Event, eid: str, values: tuple) -> None:
        """`write` of a record that carries exactly one entity, as one flat tuple."""
        ev = event
        payload = ev.payload
        pending = self._pending
        payload = fmt_payload(payload) if payload else ""
        pending.append((seq, time, ev.type, ev.source, ev.target, ev.cause, payload, eid, values))
        if len(pending) >= self.batch:
            self._send()

    def write(self, seq: int, time: float, event: Event, rows: Rows) -> None:
        # Plain values only (the rows' value tuples are fixed as they are now); the batch is
        # marshalled in one call when it is sent.
        ev = event
        payload = fmt_payload(ev.payload)
        self._pending.append((seq, time, ev.type, ev.source, ev.target, ev.cause, payload, rows))
        if len(self._pending) >= self.batch:
            self._send()

    def flush(self) -> None:
        """Nothing to do here: the chain is the child's until `close` hands it back."""

    def _send(self) -> None:
        if self._conn.poll():  # the child only speaks first to report a failure
            self._fail("the background recorder failed")
        try:
            self._conn.send_bytes(marshal.dumps(self._pending))
        except (BrokenPipeError, ConnectionResetError):
            self._fail("the background recorder ended early")
        self._pending = []

    def close(self, ok: bool) -> None:
        atexit.unregister(self._conn.close)
        if not ok or self._failed:
            # The run failed (or was interrupted, perhaps halfway through a send): hang up. The
            # child sees the end of the pipe, discards its partial files and exits.
            self._conn.close()
            self._child.join()
            return
        try:
            if self._pending:
                self._send()
            self._conn.send_bytes(marshal.dumps(("close", True)))
            reply = marshal.loads(self._conn.recv_bytes())
        except (BrokenPipeError, ConnectionResetError, EOFError):
            reply = ("error", "the background recorder ended without a reply")
        finally:
            self._conn.close()
            self._child.join()
        if reply[0] == "error":
            raise RecorderError(reply[1])
        self.chain = HashChain.resume(reply[1], reply[2])

    def _fail(self, why: str) -> None:
        self._failed = True
        atexit.unregister(self._conn.close)
        try:
            reply = marshal.loads(self._conn.recv_bytes())
            why = reply[1] if reply[0] == "error" else why
        except (EOFError, OSError):
            pass
        finally:
            self._conn.close()
            self._child.join()
        raise RecorderError(why)


_MAX_REASON = 16_000
"""Characters of the child's traceback reported (its end, where the exception is)."""


def _serve(
    conn: Any, parent_end: Any, layout: RecordLayout, sinks: list[Sink], head: str, count: int
) -> None:
    """The child: decode batches, write them through an inline Recorder, report the chain."""
    parent_end.close()  # the forked copy; else the parent hanging up would never reach us
    # Ctrl-C and SIGTERM are the parent's to handle: it hangs up and we discard (and if the
    # parent dies outright, the pipe closes all the same)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    recorder = Recorder(layout, sinks, HashChain.resume(head, count), batch=1 << 30)
    try:
        recorder.open()
        while True:
            message = marshal.loads(conn.recv_bytes())
            if isinstance(message, tuple):  # ("close", True): the run completed
                break
            recorder.write_batch(message)  # a batch in, a batch out: a failing sink is reported at once
        recorder.close(True)
        conn.send_bytes(marshal.dumps(("done", recorder.chain.head, recorder.chain.count)))
    except EOFError:  # the run failed or the simulation process went away: discard
        recorder.close(False)
    except BaseException:  # noqa: BLE001 - reported to the simulation process, which raises it
        recorder.close(False)
        try:
            # Kept well under a pipe's buffer, so this send cannot block on a parent that is
            # itself blocked sending us a batch.
            why = traceback.format_exc()[-_MAX_REASON:]
            conn.send_bytes(marshal.dumps(("error", "background recorder: " + why)))
            _drain(conn)
        except OSError:
            pass
    finally:
        conn.close()


def _drain(conn: Any) -> None:
    """Read and discard until the simulation process hangs up. Closing our end first would
    race with its next send (a broken pipe) and could reset the connection before it reads
    our error reply (unread data at close), losing the reason."""
    try:
        while True:
            conn.recv_bytes()
    except EOFError:
        pass
