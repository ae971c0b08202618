"""A store that cannot be opened closes the SQLite connection it made before saying why."""

from __future__ import annotations

import sqlite3

import pytest

from simulator.store import sqlite as store_module
from simulator.store.sqlite import Store, StoreError


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_that_fails_to_open_closes_its_connection(tmp_path, monkeypatch, readonly):
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        opened.append(conn)
        return conn

    path = tmp_path / "notes.sqlite"  # another program's database: SQLite, but not a store
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    other.close()
    before = path.read_bytes()
    monkeypatch.setattr(store_module.sqlite3, "connect", connect)
    with pytest.raises(StoreError, match="a SQLite database of something else"):
        Store(path, readonly=readonly)
    assert len(opened) == 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")
    assert path.read_bytes() == before  # nothing written
