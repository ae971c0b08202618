"""Checkpoints at phase boundaries, linked by a hash chain, and restoring a World from them.

A checkpoint is taken when every event a phase caused has been applied, so all state is
plain data. It holds:

- `state`: every entity's state, minus its append-only logs (trades, transactions, ...);
- `appended`: what the phase appended to those logs (so a checkpoint stays small however
  long the run; a restore concatenates them from the first checkpoint on);
- `rng`: the state of every named random stream; `kernel`: the World's sequence number and
  record-chain head; `time`, `cycle`, `phase`, `date`.

`h_n = sha256(h_{n-1} + canonical sorted-key JSON of checkpoint n)`, with `h_{-1} = ""`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..engine import HashChain, World
from ..store.chain import chain_hash
from .errors import FinanceError


def canonical(data: Any) -> str:
    """Sorted-key, compact JSON; NaN and infinities are refused."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Checkpoint:
    index: int
    cycle: int
    phase: str
    date: str
    time: float
    text: str
    state_hash: str
    parent_hash: str | None

    def row(self, simulation_id: str) -> tuple:
        """The store's checkpoint row."""
        return (
            f"{simulation_id}:{self.index:06d}",
            simulation_id,
            self.phase,
            self.index,
            self.cycle,
            self.date,
            self.time,
            self.state_hash,
            self.parent_hash,
            self.text,
        )


class Provenance:
    """Takes linked checkpoints of a World; remembers how long each log was at the last one."""

    def __init__(
        self,
        world: World,
        log_fields: Mapping[str, tuple[str, ...]],
        next_index: int = 0,
        parent: str | None = None,
    ) -> None:
        self.world = world
        self.log_fields = dict(log_fields)
        self.index = next_index
        self.parent = parent
        self.hashes: list[str] = []
        self._lengths = {
            (eid, f): len(world.entities[eid][f]) for eid, fields in self.log_fields.items() for f in fields
        }

    def take(self, cycle: int, phase: str, date: str) -> Checkpoint:
        world = self.world
        if world.env.peek() != float("inf"):  # taken from the only running process: nothing else may wait
            raise FinanceError(
                f"checkpoint {self.index} at t={world.now}: events are still scheduled; "
                "a request chain did not end in its reply, so the state is not settled"
            )
        state: dict[str, Any] = {}
        appended: dict[str, dict[str, list]] = {}
        lengths = self._lengths
        for eid, st in world.entities.items():
            logs = self.log_fields.get(eid)
            if not logs:
                state[eid] = st
                continue
            state[eid] = {k: v for k, v in st.items() if k not in logs}
            for f in logs:
                items = st[f]
                before = lengths[(eid, f)]
                if len(items) > before:
                    appended.setdefault(eid, {})[f] = items[before:]
                    lengths[(eid, f)] = len(items)
        chain = world.chain
        data = {
            "index": self.index,
            "cycle": cycle,
            "phase": phase,
            "date": date,
            "time": world.now,
            "state": state,
            "appended": appended,
            "rng": world.rng.state(),
            "kernel": {
                "seq": world.seq,
                "chain": chain.head if chain else None,
                "records": chain.count if chain else 0,
            },
        }
        text = canonical(data)
        digest = chain_hash(self.parent, text)
        cp = Checkpoint(self.index, cycle, phase, date, world.now, text, digest, self.parent)
        self.parent = digest
        self.index += 1
        self.hashes.append(digest)
        return cp


def restore_world(
    world: World, checkpoints: Iterable[Mapping[str, Any]], log_fields: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    """Put a freshly built World into the state of the last of `checkpoints` (0..k in order).

    Entity states are replaced in place, logs are rebuilt from every checkpoint's appended
    part, random streams, sequence number and record chain continue where they were.
    Returns the last checkpoint's data.
    """
    logs: dict[tuple[str, str], list] = {}
    last: Mapping[str, Any] | None = None
    for i, data in enumerate(checkpoints):
        if data.get("index") != i:
            raise FinanceError(f"checkpoint {i}: holds index {data.get('index')!r}; the chain has a gap")
        for eid, fields in data["appended"].items():
            for f, items in fields.items():
                logs.setdefault((eid, f), []).extend(items)
        last = data
    if last is None:
        raise FinanceError("nothing to restore from: no checkpoints")
    states = last["state"]
    if sorted(states) != sorted(world.entities):
        extra = sorted(set(states) ^ set(world.entities))
        raise FinanceError(
            f"checkpoint {last['index']}: entities differ from this world's ({', '.join(extra)})"
        )
    for eid, st in states.items():
        target = world.entities[eid]
        target.clear()
        target.update(st)
        for f in log_fields.get(eid, ()):
            target[f] = logs.get((eid, f), [])
    world.rng.restore(last["rng"])
    kernel = last["kernel"]
    world.seq = kernel["seq"]
    if world.chain is not None:
        if kernel["chain"] is None:
            raise FinanceError(
                f"checkpoint {last['index']}: recorded without the event chain; set record_events false"
            )
        world.chain = HashChain.resume(kernel["chain"], kernel["records"])
    return dict(last)
