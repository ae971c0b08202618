"""The SQLite schema: the seed's tables (tournaments, strategies, simulations, checkpoints,
standings, events) and their indexes, plus a few columns the deterministic runs need
(seed, result, chain head; a checkpoint's cycle, date and simulation time), and the process
that owns a running simulation (`owner`: pid, process start time, host), so a run killed
without a chance to say so reads as interrupted.

`created_at`/`updated_at` columns are wall-clock bookkeeping filled in by SQLite itself; the
simulation never reads them and they are never hashed.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS tournaments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config JSON NOT NULL,
    status TEXT DEFAULT 'pending',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS strategies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    parameters JSON NOT NULL,
    description TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(name, version)
);

CREATE TABLE IF NOT EXISTS simulations (
    id TEXT PRIMARY KEY,
    tournament_id TEXT REFERENCES tournaments(id),
    strategy_id TEXT REFERENCES strategies(id),
    name TEXT,
    config JSON NOT NULL,
    seed INTEGER,
    status TEXT DEFAULT 'pending',
    initial_capital REAL NOT NULL,
    final_capital REAL,
    result JSON,
    chain_head TEXT,
    owner JSON,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    completed_at TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_simulations_tournament ON simulations(tournament_id);

CREATE TABLE IF NOT EXISTS checkpoints (
    id TEXT PRIMARY KEY,
    simulation_id TEXT REFERENCES simulations(id),
    phase TEXT NOT NULL,
    phase_index INTEGER NOT NULL,
    cycle INTEGER,
    date TEXT,
    sim_time REAL,
    state_hash TEXT NOT NULL,
    parent_hash TEXT,
    data JSON NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_checkpoints_sim ON checkpoints(simulation_id, phase_index);

CREATE TABLE IF NOT EXISTS standings (
    id TEXT PRIMARY KEY,
    tournament_id TEXT REFERENCES tournaments(id),
    strategy_id TEXT REFERENCES strategies(id),
    wins INTEGER DEFAULT 0,
    losses INTEGER DEFAULT 0,
    total_roi REAL DEFAULT 0,
    sharpe_ratio REAL DEFAULT 0,
    composite_score REAL DEFAULT 0,
    rank INTEGER,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE(tournament_id, strategy_id)
);
CREATE INDEX IF NOT EXISTS idx_standings_tournament ON standings(tournament_id);

CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    correlation_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT NOT NULL,
    data JSON NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS idx_events_correlation ON events(correlation_id);

CREATE TABLE IF NOT EXISTS strategy_lineage (
    child_id TEXT NOT NULL REFERENCES strategies(id),
    parent_id TEXT NOT NULL REFERENCES strategies(id),
    relation TEXT NOT NULL,
    change JSON NOT NULL,
    PRIMARY KEY (child_id, parent_id)
);

CREATE TABLE IF NOT EXISTS standing_details (
    tournament_id TEXT NOT NULL REFERENCES tournaments(id),
    strategy_id TEXT NOT NULL REFERENCES strategies(id),
    player TEXT NOT NULL,
    data JSON NOT NULL,
    PRIMARY KEY (tournament_id, strategy_id)
);

CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Columns added after a table's first release: (table, column, type), added on open if missing.
MIGRATIONS = (("simulations", "owner", "JSON"),)

TABLES = (
    "tournaments", "strategies", "simulations", "checkpoints", "standings", "events",
    "strategy_lineage", "standing_details",
)
