"""SQLite (WAL) persistence for runs: tournaments, strategies, simulations, checkpoints,
standings and an event log.

One writer connection per `Store`; any number of readers (`Store.reader(path)`) see the
committed prefix while a run writes, because the database is in WAL mode. Checkpoints are
written in batches by a `CheckpointWriter`, one transaction per batch, so a crash leaves a
consistent prefix of the chain. Ids come from per-table counters (`sim-000001`), never from
`uuid4`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION


class StoreError(ValueError):
    """A store problem worth one line: a missing database, an unknown id, a bad status."""


SQLITE_MAGIC = b"SQLite format 3\x00"
STATUSES = ("pending", "running", "interrupted", "completed", "failed", "cancelled")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def this_process() -> dict[str, Any]:
    """The owner record of the calling process: pid, its start time and the host."""
    import psutil

    return {"pid": os.getpid(), "started": psutil.Process().create_time(), "host": socket.gethostname()}


def owner_alive(owner: dict[str, Any] | None) -> bool:
    """Whether the process that claimed a run still exists (the same pid *and* start time,
    so a recycled pid does not count). An owner on another host is assumed alive."""
    import psutil

    if not owner:
        return False
    if owner.get("host") != socket.gethostname():
        return True
    try:
        process = psutil.Process(int(owner["pid"]))
        same = abs(process.create_time() - float(owner["started"])) < 0.01
        return same and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def effective_status(status: str, owner: str | None) -> str:
    """A `running` run whose owning process is gone was interrupted (and can be resumed)."""
    if status == "running" and not owner_alive(json.loads(owner) if owner else None):
        return "interrupted"
    return status


@dataclass(frozen=True)
class StoredCheckpoint:
    """One checkpoint row. `data` is the canonical JSON text the state hash was computed over."""

    id: str
    simulation_id: str
    phase: str
    phase_index: int
    cycle: int | None
    date: str | None
    sim_time: float | None
    state_hash: str
    parent_hash: str | None
    data: str

    def payload(self) -> dict[str, Any]:
        return json.loads(self.data)


CHECKPOINT_COLUMNS = (
    "id, simulation_id, phase, phase_index, cycle, date, sim_time, state_hash, parent_hash, data"
)
CheckpointRow = tuple[str, str, str, int, int, str, float, str, str | None, str]


class Store:
    """A SQLite database in WAL mode holding everything a run persists."""

    def __init__(self, path: str | Path, *, readonly: bool = False, create: bool = True) -> None:
        """Open (or, unless `readonly` or `create=False`, create) the store at `path`.

        Anything that is not a usable SQLite file (a directory, another kind of file, one this
        process may not read or write, a missing one that must not be created) is a one-line
        `StoreError`, raised before anything is written.
        """
        self.path = Path(path)
        self.readonly = readonly
        self._check_path(create and not readonly)
        try:
            if readonly:
                uri = f"file:{self.path.resolve()}?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
                self._check_tables(may_create=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
                self._check_tables(may_create=create)
                self._set_up()
            self.conn.execute("PRAGMA busy_timeout=30000")
        except (sqlite3.Error, OSError, StoreError) as exc:
            if getattr(self, "conn", None) is not None:
                self.conn.close()
            if isinstance(exc, StoreError):
                raise
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreError(f"{self.path}: cannot open it as a SQLite store: {reason}") from None
        self.conn.row_factory = sqlite3.Row

    def _check_path(self, may_create: bool) -> None:
        path = self.path
        if path.is_dir():
            raise StoreError(f"{path}: is a directory; --db takes a SQLite file, e.g. results/finance.sqlite")
        if not path.exists():
            if not may_create:
                raise StoreError(f"{path}: no such store (finance-run --db {path} creates one)")
            return
        if not path.is_file():
            raise StoreError(f"{path}: is not a regular file; --db takes a SQLite file")
        if not os.access(path, os.R_OK if self.readonly else os.R_OK | os.W_OK):
            what = "read" if self.readonly else "read and write"
            raise StoreError(f"{path}: permission denied (this process cannot {what} it)")
        try:
            with path.open("rb") as handle:
                head = handle.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise StoreError(f"{path}: cannot read it: {exc.strerror or exc}") from None
        if head and head != SQLITE_MAGIC:
            raise StoreError(f"{path}: is not a SQLite database (no SQLite header); --db takes a SQLite file")

    def _check_tables(self, may_create: bool) -> None:
        """Refuse a SQLite file that is not a store: another program's database (never written
        to), or an empty one where a store must already exist."""
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        tables = {r[0] for r in rows}
        if "simulations" in tables:
            return
        if tables:
            raise StoreError(
                f"{self.path}: is a SQLite database of something else (tables: {', '.join(sorted(tables))}); "
                "--db takes a store written by finance-run, or a new file"
            )
        if not may_create:
            raise StoreError(f"{self.path}: is an empty database, not a store (finance-run --db creates one)")

    def _set_up(self) -> None:
        mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: could not enable WAL mode (got {mode!r})")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)
        for table, column, kind in MIGRATIONS:
            have = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        self.conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )

    @classmethod
    def reader(cls, path: str | Path) -> Store:
        """A read-only connection, safe to use while another connection writes a run."""
        return cls(path, readonly=True)

    @classmethod
    def existing(cls, path: str | Path) -> Store:
        """A writable connection to a store that must already exist (never creates one)."""
        return cls(path, create=False)

    # -- plumbing ---------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def journal_mode(self) -> str:
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()

    def _next_id(self, table: str, prefix: str) -> str:
        row = self.conn.execute(
            f"SELECT id FROM {table} WHERE id LIKE ? ORDER BY id DESC LIMIT 1", (prefix + "-%",)
        ).fetchone()
        number = int(row[0].rsplit("-", 1)[1]) + 1 if row else 1
        return f"{prefix}-{number:06d}"

    def _one(self, sql: str, args: Sequence[Any], what: str) -> sqlite3.Row:
        row = self.conn.execute(sql, args).fetchone()
        if row is None:
            raise StoreError(f"unknown {what} {args[0]!r} in {self.path}")
        return row

    # -- tournaments ------------------------------------------------------------------------
    def create_tournament(self, name: str, config: dict[str, Any]) -> str:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            tid = self._next_id("tournaments", "tour")
            self.conn.execute(
                "INSERT INTO tournaments(id, name, config) VALUES (?, ?, ?)", (tid, name, _json(config))
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return tid

    def get_tournament(self, tournament_id: str) -> dict[str, Any]:
        row = self._one("SELECT * FROM tournaments WHERE id = ?", (tournament_id,), "tournament")
        return {**dict(row), "config": json.loads(row["config"])}

    def update_tournament_status(self, tournament_id: str, status: str) -> None:
        if status not in STATUSES:
            raise StoreError(f"tournament status {status!r} is not one of {', '.join(STATUSES)}")
        self._one("SELECT id FROM tournaments WHERE id = ?", (tournament_id,), "tournament")
        stamp = {"running": "started_at", "completed": "completed_at"}.get(status)
        extra = f", {stamp} = CURRENT_TIMESTAMP" if stamp else ""
        self.conn.execute(f"UPDATE tournaments SET status = ?{extra} WHERE id = ?", (status, tournament_id))

    # -- strategies -------------------------------------------------------------------------
    def register_strategy(
        self, name: str, version: str, parameters: dict[str, Any], description: str | None = None
    ) -> str:
        """Register `name@version` (idempotent when the parameters are the same)."""
        sid = f"{name}@{version}"
        row = self.conn.execute("SELECT parameters FROM strategies WHERE id = ?", (sid,)).fetchone()
        if row is not None:
            if json.loads(row[0]) != parameters:
                raise StoreError(f"strategy {sid} is already registered with other parameters")
            return sid
        self.conn.execute(
            "INSERT INTO strategies(id, name, version, parameters, description) VALUES (?, ?, ?, ?, ?)",
            (sid, name, version, _json(parameters), description),
        )
        return sid

    def get_strategy(self, strategy_id: str) -> dict[str, Any]:
        row = self._one("SELECT * FROM strategies WHERE id = ?", (strategy_id,), "strategy")
        return {**dict(row), "parameters": json.loads(row["parameters"])}

    def list_strategies(self, name: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM strategies", ()
        if name is not None:
            sql, args = sql + " WHERE name = ?", (name,)
        rows = self.conn.execute(sql + " ORDER BY name, version", args).fetchall()
        return [{**dict(r), "parameters": json.loads(r["parameters"])} for r in rows]

    def add_lineage(self, child_id: str, parent_id: str, relation: str, change: dict[str, Any]) -> None:
        """Record that `child_id` came from `parent_id` (relation: evolve or cross)."""
        self.conn.execute(
            "INSERT INTO strategy_lineage(child_id, parent_id, relation, change) VALUES (?, ?, ?, ?)",
            (child_id, parent_id, relation, _json(change)),
        )

    def get_parents(self, child_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT child_id, parent_id, relation, change FROM strategy_lineage WHERE child_id = ?"
            " ORDER BY rowid",
            (child_id,),
        )
        return [{**dict(r), "change": json.loads(r["change"])} for r in rows]

    # -- simulations ------------------------------------------------------------------------
    def create_simulation(
        self,
        config: dict[str, Any],
        initial_capital: float,
        *,
        name: str | None = None,
        seed: int | None = None,
        strategy_id: str | None = None,
        tournament_id: str | None = None,
    ) -> str:
        owner = _json(this_process())
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            sid = self._next_id("simulations", "sim")
            self.conn.execute(
                "INSERT INTO simulations(id, tournament_id, strategy_id, name, config, seed, status,"
                " initial_capital, owner) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (sid, tournament_id, strategy_id, name, _json(config), seed, initial_capital, owner),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return sid

    def get_simulation(self, simulation_id: str) -> dict[str, Any]:
        """A simulation's row; a `running` one whose process is gone reads as `interrupted`."""
        row = self._one("SELECT * FROM simulations WHERE id = ?", (simulation_id,), "simulation")
        out = dict(row)
        out["config"] = json.loads(row["config"])
        out["result"] = json.loads(row["result"]) if row["result"] else None
        out["owner"] = json.loads(row["owner"]) if out.get("owner") else None
        out["status"] = effective_status(row["status"], row["owner"] if "owner" in row.keys() else None)
        return out

    def list_simulations(self, tournament_id: str | None = None) -> list[dict[str, Any]]:
        """id, name, status (as `get_simulation` reads it), seed, capital and checkpoint count."""
        owner = "s.owner" if self._has_owner() else "NULL"
        sql = (
            "SELECT s.id, s.name, s.status, s.seed, s.initial_capital, s.final_capital, "
            f"{owner} AS owner, (SELECT COUNT(*) FROM checkpoints c WHERE c.simulation_id = s.id)"
            " AS checkpoints FROM simulations s"
        )
        args: tuple[Any, ...] = ()
        if tournament_id is not None:
            sql, args = sql + " WHERE s.tournament_id = ?", (tournament_id,)
        out = []
        for r in self.conn.execute(sql + " ORDER BY s.id", args):
            row = dict(r)
            row["status"] = effective_status(row["status"], row.pop("owner"))
            out.append(row)
        return out

    def _has_owner(self) -> bool:
        return "owner" in {r[1] for r in self.conn.execute("PRAGMA table_info(simulations)")}

    def claim_simulation(self, simulation_id: str) -> None:
        """Mark a simulation `running` and owned by this process; refuse one a live process owns
        and a completed one (checked and claimed in one transaction)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            sql = "SELECT status, owner FROM simulations WHERE id = ?"
            row = self._one(sql, (simulation_id,), "simulation")
            owner = json.loads(row["owner"]) if row["owner"] else None
            if row["status"] == "completed":
                raise StoreError(f"simulation {simulation_id} is completed: nothing to resume")
            if row["status"] == "running" and owner_alive(owner):
                raise StoreError(
                    f"simulation {simulation_id} is running in process {owner['pid']} on {owner['host']}; "
                    "wait for it to end or stop it first"
                )
            self.conn.execute(
                "UPDATE simulations SET status = 'running', owner = ? WHERE id = ?",
                (_json(this_process()), simulation_id),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def update_simulation(
        self,
        simulation_id: str,
        *,
        status: str | None = None,
        final_capital: float | None = None,
        result: dict[str, Any] | None = None,
        chain_head: str | None = None,
    ) -> None:
        self._one("SELECT id FROM simulations WHERE id = ?", (simulation_id,), "simulation")
        sets: list[str] = []
        args: list[Any] = []
        if status is not None:
            if status not in STATUSES:
                raise StoreError(f"simulation status {status!r} is not one of {', '.join(STATUSES)}")
            sets.append("status = ?")
            args.append(status)
            if status != "running":
                sets.append("owner = NULL")
            if status == "completed":
                sets.append("completed_at = CURRENT_TIMESTAMP")
        for column, value in (("final_capital", final_capital), ("chain_head", chain_head)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        if result is not None:
            sets.append("result = ?")
            args.append(_json(result))
        if sets:
            self.conn.execute(
                f"UPDATE simulations SET {', '.join(sets)} WHERE id = ?", (*args, simulation_id)
            )

    # -- checkpoints ------------------------------------------------------------------------
    def save_checkpoints(self, rows: Sequence[CheckpointRow]) -> None:
        """Insert a batch of checkpoint rows in one transaction (all or nothing); the
        simulation's `chain_head` moves to the batch's last hash in the same transaction, so
        it always names the head of the stored prefix (what replay checks the chain against)."""
        if not rows:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                f"INSERT INTO checkpoints({CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            last = rows[-1]
            self.conn.execute("UPDATE simulations SET chain_head = ? WHERE id = ?", (last[7], last[1]))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def checkpoint_writer(self, simulation_id: str, batch: int = 500) -> CheckpointWriter:
        return CheckpointWriter(self, simulation_id, batch)

    def count_checkpoints(self, simulation_id: str) -> int:
        return self.conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE simulation_id = ?", (simulation_id,)
        ).fetchone()[0]

    def iter_checkpoints(
        self, simulation_id: str, start: int = 0, stop: int | None = None
    ) -> Iterator[StoredCheckpoint]:
        """Checkpoints `start <= phase_index < stop` in order, streamed from the cursor."""
        sql = f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE simulation_id = ? AND phase_index >= ?"
        args: list[Any] = [simulation_id, start]
        if stop is not None:
            sql += " AND phase_index < ?"
            args.append(stop)
        for row in self.conn.execute(sql + " ORDER BY phase_index", args):
            yield StoredCheckpoint(*row)

    def checkpoint_objects(self, simulation_id: str, path: str, start: int = 0) -> list[Any]:
        """The JSON object or array at `path` (SQLite's JSON path, e.g. `$.row`) in the data of
        checkpoints `start` on, in order. SQLite extracts it, keeping each number's text, so a
        caller does not parse every checkpoint whole (a long run's data runs to hundreds of MB)."""
        sql = (
            "SELECT phase_index, json_type(data, ?), json_extract(data, ?) FROM checkpoints "
            "WHERE simulation_id = ? AND phase_index >= ? ORDER BY phase_index"
        )
        out = []
        try:
            for index, kind, text in self.conn.execute(sql, (path, path, simulation_id, start)):
                if kind not in ("object", "array"):
                    raise StoreError(f"checkpoint {index}: {path} is {kind or 'missing'}, not an object")
                out.append(json.loads(text))
        except sqlite3.OperationalError as exc:  # data that is not JSON
            raise StoreError(f"simulation {simulation_id}: checkpoint data: {exc}") from None
        return out

    def get_checkpoints(
        self, simulation_id: str, start: int = 0, stop: int | None = None
    ) -> list[StoredCheckpoint]:
        return list(self.iter_checkpoints(simulation_id, start, stop))

    def get_checkpoint(self, simulation_id: str, ref: int | str) -> StoredCheckpoint:
        """A checkpoint by its index (`42`, `"42"`) or its id (`"sim-000001:000042"`)."""
        if isinstance(ref, int) or str(ref).lstrip("-").isdigit():
            index = int(ref)
            if index < 0:
                index += self.count_checkpoints(simulation_id)
            sql, args = "simulation_id = ? AND phase_index = ?", (simulation_id, index)
        else:
            sql, args = "simulation_id = ? AND id = ?", (simulation_id, str(ref))
        row = self.conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE {sql}", args).fetchone()
        if row is None:
            raise StoreError(f"simulation {simulation_id} has no checkpoint {ref!r}")
        return StoredCheckpoint(*row)

    def get_checkpoint_chain(self, simulation_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT state_hash FROM checkpoints WHERE simulation_id = ? ORDER BY phase_index",
            (simulation_id,),
        )
        return [r[0] for r in rows]

    # -- standings --------------------------------------------------------------------------
    def update_standings(
        self,
        tournament_id: str,
        strategy_id: str,
        *,
        won: bool | None,
        roi: float,
        sharpe: float,
        score: float,
    ) -> None:
        """Add one result: a win, a loss (or neither when `won` is None), accumulated ROI,
        the latest Sharpe ratio and composite score."""
        wins, losses = (1, 0) if won else (0, 1) if won is False else (0, 0)
        self.conn.execute(
            "INSERT INTO standings(id, tournament_id, strategy_id, wins, losses, total_roi,"
            " sharpe_ratio, composite_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(tournament_id, strategy_id) DO UPDATE SET"
            " wins = wins + excluded.wins, losses = losses + excluded.losses,"
            " total_roi = total_roi + excluded.total_roi, sharpe_ratio = excluded.sharpe_ratio,"
            " composite_score = excluded.composite_score, updated_at = CURRENT_TIMESTAMP",
            (f"{tournament_id}/{strategy_id}", tournament_id, strategy_id, wins, losses, roi, sharpe, score),
        )

    def get_standings(self, tournament_id: str) -> list[dict[str, Any]]:
        """Standings ranked by composite score (ties by strategy id), with `rank` filled in."""
        rows = self.conn.execute(
            "SELECT tournament_id, strategy_id, wins, losses, total_roi, sharpe_ratio, composite_score"
            " FROM standings WHERE tournament_id = ? ORDER BY composite_score DESC, strategy_id",
            (tournament_id,),
        ).fetchall()
        return [{**dict(r), "rank": i} for i, r in enumerate(rows, 1)]

    def save_standings(self, tournament_id: str, rows: Sequence[dict[str, Any]]) -> None:
        """Replace a tournament's standings in one transaction: the seed's columns in
        `standings` and every column of each row in `standing_details`. Each row needs
        strategy_id, player, rank, wins, losses, roi, sharpe, composite."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute("DELETE FROM standing_details WHERE tournament_id = ?", (tournament_id,))
            self.conn.execute("DELETE FROM standings WHERE tournament_id = ?", (tournament_id,))
            for r in rows:
                sid = r["strategy_id"]
                self.conn.execute(
                    "INSERT INTO standings(id, tournament_id, strategy_id, wins, losses, total_roi,"
                    " sharpe_ratio, composite_score, rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (f"{tournament_id}/{sid}", tournament_id, sid, r["wins"], r["losses"], r["roi"],
                     r["sharpe"], r["composite"], r["rank"]),
                )
                self.conn.execute(
                    "INSERT INTO standing_details(tournament_id, strategy_id, player, data)"
                    " VALUES (?, ?, ?, ?)",
                    (tournament_id, sid, r["player"], _json(r)),
                )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def latest_ratings(self, strategy_ids: Sequence[str], before: str | None = None) -> dict[str, float]:
        """Each strategy's Elo in the latest tournament that rated it (ids compare in creation
        order), leaving out tournament `before` and any later one."""
        out: dict[str, float] = {}
        for sid in strategy_ids:
            sql = "SELECT data FROM standing_details WHERE strategy_id = ?"
            args: list[Any] = [sid]
            if before is not None:
                sql += " AND tournament_id < ?"
                args.append(before)
            row = self.conn.execute(sql + " ORDER BY tournament_id DESC LIMIT 1", args).fetchone()
            if row is not None and "elo" in json.loads(row[0]):
                out[sid] = float(json.loads(row[0])["elo"])
        return out

    def get_standing_details(self, tournament_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.data FROM standing_details d JOIN standings s ON s.tournament_id ="
            " d.tournament_id AND s.strategy_id = d.strategy_id WHERE d.tournament_id = ?"
            " ORDER BY s.rank",
            (tournament_id,),
        )
        return [json.loads(r[0]) for r in rows]

    # -- events -----------------------------------------------------------------------------
    def log_event(self, correlation_id: str, event_type: str, source: str, data: dict[str, Any]) -> int:
        cur = self.conn.execute(
            "INSERT INTO events(correlation_id, event_type, source, data) VALUES (?, ?, ?, ?)",
            (correlation_id, event_type, source, _json(data)),
        )
        return int(cur.lastrowid or 0)

    def get_events(self, correlation_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT id, correlation_id, event_type, source, data FROM events"
            " WHERE correlation_id = ? ORDER BY id",
            (correlation_id,),
        )
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]


class CheckpointWriter:
    """Buffers checkpoint rows and writes them `batch` at a time, one transaction each.

    `flush()` writes what is buffered; `close()` flushes. Because batches are contiguous and
    atomic, the table always holds a prefix of the run's chain.
    """

    def __init__(self, store: Store, simulation_id: str, batch: int = 500) -> None:
        if batch < 1:
            raise StoreError(f"checkpoint batch must be >= 1, got {batch}")
        self.store = store
        self.simulation_id = simulation_id
        self.batch = batch
        self.rows: list[CheckpointRow] = []
        self.written = 0

    def add(self, row: CheckpointRow) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.save_checkpoints(self.rows)
            self.written += len(self.rows)
            self.rows = []

    def close(self) -> None:
        self.flush()
