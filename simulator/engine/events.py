"""Events (intents and their applications) and the records the kernel writes."""

from __future__ import annotations

from typing import Any, NamedTuple


class Event:
    """An intent: `source` asks that `type` be applied to `target`.

    `delay` is the earliest the emitter wants it applied; the World adds the channel's
    latency. `cause` is the sequence number of the applied event that produced this one
    (set by the World for reducer follow-ups; None for actor intents).
    """

    __slots__ = ("type", "source", "target", "payload", "delay", "cause")

    def __init__(
        self,
        type: str,
        source: str,
        target: str = "",
        payload: dict[str, Any] | None = None,
        delay: float = 0.0,
        cause: int | None = None,
    ) -> None:
        self.type = type
        self.source = source
        self.target = target
        self.payload = payload if payload is not None else {}
        self.delay = delay
        self.cause = cause

    def __repr__(self) -> str:
        return (
            f"Event({self.type!r}, {self.source!r} -> {self.target!r}, "
            f"payload={self.payload!r}, cause={self.cause})"
        )


class Record(NamedTuple):
    """One applied event: what happened, why, and the post-event state written for it.

    `states` holds `(entity_id, state)` pairs for the entities the layout records.
    Records are named tuples so a list of them drops straight into a DataFrame.
    """

    seq: int
    time: float
    type: str
    source: str
    target: str
    cause: int | None
    payload: dict[str, Any]
    states: tuple[tuple[str, dict[str, Any]], ...]
