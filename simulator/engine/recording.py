"""Streamed recording: records to canonical CSV bytes, the hash chain, and sinks.

The canonical bytes of a record are exactly the CSV lines the metrics file holds for it,
so `h_n = sha256(h_{n-1} + bytes_n)` (with `h_0 = sha256(header)`) also verifies the file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from .events import Record

BASE_COLUMNS = ("time", "event_type", "source")
TAIL_COLUMNS = ("seq", "target", "cause", "payload")


def fmt(value: Any) -> str:
    """Deterministic text for one CSV cell."""
    if value is None:
        return ""
    if value.__class__ is float:
        return "%.10g" % value  # noqa: UP031 - fastest deterministic float text
    if value.__class__ is bool:
        return "1" if value else "0"
    return str(value)


def fmt_payload(payload: dict[str, Any]) -> str:
    if not payload:
        return ""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return '"' + text.replace('"', '""') + '"'


SCALARS = (float, int, str, bool, type(None))


FLOAT_CACHE = 4096
"""Distinct values per float column whose text a line formatter keeps."""


def _float_text(cache: dict[float, str]) -> Callable[[Any], str]:
    """`fmt` of a float cell's value, the texts of floats kept in `cache`: a state's floats (a
    resource level, a capacity, a load over a capacity) take few values and formatting one
    costs about five dictionary lookups. Kept are floats other than zero (0.0 and -0.0 have
    different texts) under 1e10 in size, where an equal int or bool has the same text (so a
    lookup with one is exact too), up to the cache's size. Any other value goes to `fmt`."""

    def text(x: Any) -> str:
        if x.__class__ is not float:
            return fmt(x)
        out = "%.10g" % x  # noqa: UP031 - the canonical float text
        if x and -1e10 < x < 1e10 and len(cache) < FLOAT_CACHE:
            cache[x] = out
        return out

    return text


def _slow_line(
    time: float,
    type: str,
    source: str,
    eid: str,
    values: tuple,
    seq: int,
    target: str,
    cause: str,
    payload: str,
) -> str:
    """A line whose values do not fit the compiled formats: every cell through `fmt`."""
    cells = "".join([fmt(v) + "," for v in values])
    return f"{time:.10g},{type},{source},{eid},{cells}{seq},{target},{cause},{payload}\n"


def line_formatter(sample: tuple[Any, ...]) -> Callable[..., str]:
    """A compiled formatter of whole record lines for value tuples shaped like `sample`:
    `line(time, type, source, entity_id, values, seq, target, cause, payload)`, giving the
    same text as formatting every cell with `fmt`.

    Each cell's format is fixed from the sample's value type (floats through a cache of their
    texts; ints through `str`; strings as they are; anything else through `fmt`), and a line
    is one `str.join` of a tuple of texts (a fifth faster than one `%` over the cells, which
    parses its template every time). A line whose int or string cells hold another type
    (None, a bool, a float) is formatted cell by cell with `fmt`.
    `cause` and `payload` come as text.
    """
    namespace: dict[str, Any] = {"_fmt": fmt, "_slow": _slow_line, "_str": str}
    names = [f"a{i}" for i in range(len(sample))]
    cells, same = [], {int: [], str: []}
    for i, value in enumerate(sample):
        kind = value.__class__
        if kind is float:
            cache: dict[float, str] = {}
            namespace[f"c{i}"], namespace[f"t{i}"] = cache, _float_text(cache)
            cells.append(f"c{i}.get(a{i}) or t{i}(a{i})")
        elif kind is int or kind is str:
            cells.append(f"a{i}" if kind is str else f"_str(a{i})")
            same[kind].append(f"a{i}.__class__")
        else:
            cells.append(f"_fmt(a{i})")
    guard = " and ".join(" is ".join([*classes, kind.__name__]) for kind, classes in same.items() if classes)
    unpack = f"        {', '.join(names)}, = values\n" if names else ""
    texts = "".join(cell + ", " for cell in cells)
    source = (
        "def line(time, type, source, eid, values, seq, target, cause, payload):\n"
        "    try:\n"
        + unpack
        + f"        if {guard or 'True'}:\n"
        + f"            return ','.join(('%.10g' % time, type, source, eid, {texts}"
        "_str(seq), target, cause, payload + '\\n'))\n"
        "    except (TypeError, ValueError):\n"
        "        pass\n"
        "    return _slow(time, type, source, eid, values, seq, target, cause, payload)\n"
    )
    exec(source, namespace)  # noqa: S102 - code generated from the layout alone
    return namespace["line"]


@dataclass(frozen=True)
class RecordLayout:
    """Which entity states a record carries and how its CSV lines look.

    Columns: time, event_type, source, <id_column>, <fields...>, seq, target, cause, payload.
    `mode="all"` writes every recorded entity after each event; `mode="changed"` writes only
    the entities whose values changed, plus a full snapshot every `snapshot_every` records.
    Recorded fields hold scalars: numbers, text, booleans or None.
    """

    kinds: tuple[str, ...]
    fields: tuple[str, ...]
    id_column: str = "entity_id"
    mode: Literal["all", "changed"] = "all"
    snapshot_every: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        return (*BASE_COLUMNS, self.id_column, *self.fields, *TAIL_COLUMNS)

    @property
    def header(self) -> bytes:
        return (",".join(self.columns) + "\n").encode()


_EMPTY_SHA256 = hashlib.sha256()


class HashChain:
    """`h_n = sha256(h_{n-1} + bytes_n)`, seeded with the header."""

    def __init__(self, header: bytes) -> None:
        self._head = hashlib.sha256(header).digest()
        self.count = 0

    @classmethod
    def resume(cls, head: str, count: int) -> HashChain:
        """The chain continued from a checkpointed head and record count."""
        chain = cls(b"")
        chain._head = bytes.fromhex(head)
        chain.count = count
        return chain

    def extend(self, data: bytes) -> None:
        self._head = hashlib.sha256(self._head + data).digest()
        self.count += 1

    def extend_many(self, batch: Sequence[bytes]) -> None:
        """`extend` each of `batch` in order (one loop, no attribute traffic per record; a
        copy of an empty hash is cheaper than a new one)."""
        fresh, head = _EMPTY_SHA256.copy, self._head
        for data in batch:
            h = fresh()
            h.update(head + data)
            head = h.digest()
        self._head = head
        self.count += len(batch)

    @property
    def head(self) -> str:
        return self._head.hex()


class Sink(Protocol):
    """Receives every record with its canonical bytes, in order. A sink that needs only the
    bytes sets `wants_records = False` and is passed `None` for the record."""

    wants_records: bool

    def open(self, header: bytes) -> None: ...
    def write(self, record: Record, data: bytes) -> None: ...
    def close(self, ok: bool) -> None: ...


class MemorySink:
    """Keeps records and their bytes in memory (tests, small runs)."""

    wants_records = True

    def __init__(self) -> None:
        self.header = b""
        self.records: list[Record] = []
        self.data: list[bytes] = []

    def open(self, header: bytes) -> None:
        self.header = header

    def write(self, record: Record, data: bytes) -> None:
        self.records.append(record)
        self.data.append(data)

    def close(self, ok: bool) -> None:
        pass

    def text(self) -> str:
        return (self.header + b"".join(self.data)).decode()


class CsvSink:
    """Buffered CSV file, written to `<path>.partial` and moved into place on success.

    An interrupted run therefore never leaves a half-written metrics file where a complete
    one stood.
    """

    wants_records = False

    def __init__(self, path: str | os.PathLike[str], buffer_bytes: int = 1 << 20) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.buffer_bytes = buffer_bytes
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: Any = None

    def open(self, header: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "wb")  # noqa: SIM115 - closed in close()
        self._file.write(header)

    def write(self, record: Record, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size >= self.buffer_bytes:
            self._flush()

    def write_many(self, batch: Sequence[bytes]) -> None:
        """Several records' bytes at once, in order."""
        self.write(None, b"".join(batch))

    def _flush(self) -> None:
        self._file.write(b"".join(self._chunks))
        self._chunks.clear()
        self._size = 0

    def close(self, ok: bool) -> None:
        if self._file is None:
            return
        try:
            self._flush()
            self._file.close()
            self._file = None
            if ok:
                os.replace(self.partial, self.path)
                return
        except BaseException:  # a full disk, a folder where the file should go: no .partial left
            if self._file is not None:
                self._file.close()
                self._file = None
            self.partial.unlink(missing_ok=True)
            raise
        self.partial.unlink(missing_ok=True)


class CallbackSink:
    """Calls `fn(record, data)` for each record: live subscribers, traces, progress."""

    wants_records = True

    def __init__(self, fn: Callable[[Record, bytes], None]) -> None:
        self.fn = fn

    def open(self, header: bytes) -> None:
        pass

    def write(self, record: Record, data: bytes) -> None:
        self.fn(record, data)

    def close(self, ok: bool) -> None:
        pass


def records_from_file(path: str | os.PathLike[str]) -> tuple[bytes, Iterable[tuple[int, bytes]]]:
    """The header and `(seq, bytes)` of each record in a metrics file, streamed."""
    handle = open(path, "rb")  # noqa: SIM115 - closed by the generator
    header = handle.readline()
    columns = header.decode().rstrip("\n").split(",")
    if "seq" not in columns:
        handle.close()
        raise ValueError(f"{path}: no 'seq' column in header")
    seq_index = columns.index("seq")

    def grouped() -> Iterable[tuple[int, bytes]]:
        with handle:
            current: int | None = None
            lines: list[bytes] = []
            for line in handle:
                try:
                    seq = int(line.split(b",", seq_index + 1)[seq_index])
                except (ValueError, IndexError):  # a damaged line stays with the record before it
                    seq = current if current is not None else 0
                if current is not None and seq != current:
                    yield current, b"".join(lines)
                    lines = []
                current = seq
                lines.append(line)
            if current is not None:
                yield current, b"".join(lines)

    return header, grouped()


def chain_of_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Recompute the chain head and record count of a metrics file."""
    header, records = records_from_file(path)
    chain = HashChain(header)
    for _, data in records:
        chain.extend(data)
    return chain.head, chain.count
