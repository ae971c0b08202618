"""The checkpoint hash chain every world stores: `h_n = sha256(h_{n-1} + data_n)`, `h_{-1} = ""`,
and the check of a stored chain (data, hash and link of every checkpoint)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol


class Linked(Protocol):
    phase_index: int
    state_hash: str
    parent_hash: str | None
    data: str


def chain_hash(parent: str | None, text: str) -> str:
    return hashlib.sha256(((parent or "") + text).encode()).hexdigest()


def verify_stored(rows: Iterable[Linked]) -> tuple[list[str], int | None, str | None]:
    """The stored hashes, the first index whose data, hash or link is wrong, and why."""
    hashes: list[str] = []
    bad: int | None = None
    why: str | None = None
    parent: str | None = None
    for i, row in enumerate(rows):
        hashes.append(row.state_hash)
        if bad is not None:
            continue
        if row.phase_index != i:
            bad, why = i, f"checkpoint {i} is missing (found index {row.phase_index})"
        elif row.parent_hash != parent:
            bad, why = i, f"checkpoint {i}: parent hash does not match checkpoint {i - 1}'s state hash"
        elif chain_hash(parent, row.data) != row.state_hash:
            bad, why = i, f"checkpoint {i}: stored data does not match its state hash"
        parent = row.state_hash
    return hashes, bad, why
