"""SQLite (WAL) persistence: tournaments, strategies, simulations, checkpoints, standings, events."""

from .schema import SCHEMA, TABLES
from .sqlite import CheckpointWriter, Store, StoredCheckpoint, StoreError

__all__ = ["SCHEMA", "TABLES", "CheckpointWriter", "Store", "StoreError", "StoredCheckpoint"]
