"""Reading a recorded run folder (metrics.csv + summary.json) into pandas, checked first."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..engine import chain_of_file


class AnalysisError(ValueError):
    """A run folder that cannot be analysed; the message says what is wrong and where."""

    exit_code = 2


@dataclass
class RunData:
    folder: Path
    summary: dict
    rows: pd.DataFrame  # one row per (record, written entity), as in metrics.csv
    events: pd.DataFrame  # one row per applied event, indexed by seq
    _states: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def config(self) -> dict:
        return self.summary["config"]

    @property
    def services(self) -> list[str]:
        return [s["id"] for s in self.config["services"]]

    def states(self) -> pd.DataFrame:
        """Service rows only (records that wrote no entity are left out); computed once."""
        if self._states is None:
            rows = self.rows
            self._states = rows[rows["service_id"].notna() & (rows["service_id"] != "")]
        return self._states

    def drop_records(self) -> None:
        """Free the record frames (rows, events, service rows); config and summary stay."""
        self.rows, self.events = self.rows.head(0).copy(), self.events.head(0).copy()
        self._states = None


def _check_file_chain(folder: Path, summary: dict) -> None:
    metrics = folder / "metrics.csv"
    size = metrics.stat().st_size
    if not size:
        raise AnalysisError(f"{metrics}: empty file (no header)")
    with metrics.open("rb") as fh:  # the tail only: the file may be hundreds of MB
        fh.seek(max(size - 65536, 0))
        tail = fh.read()
    if not tail.endswith(b"\n"):
        last = tail.rsplit(b"\n", 1)[-1][:60].decode(errors="replace")
        raise AnalysisError(f"{metrics}: truncated: the last line is incomplete ({last!r}...)")
    try:
        head, count = chain_of_file(metrics)
    except (ValueError, IndexError) as exc:
        raise AnalysisError(f"{metrics}: malformed: {exc}") from None
    expected = summary.get("records")
    if expected is not None and count != expected:
        raise AnalysisError(
            f"{metrics}: truncated or altered: {count:,} records, summary.json says {expected:,}"
        )
    if summary.get("chain_head") and head != summary["chain_head"]:
        raise AnalysisError(
            f"{metrics}: its hash chain ({head[:12]}...) does not match summary.json "
            f"({summary['chain_head'][:12]}...): the file was altered; `simulator verify` finds where"
        )


# Columns holding text; every other column is a number. A record that wrote no entity (in
# `changed` mode) leaves the entity columns empty: text reads as "", numbers as NaN.
TEXT_COLUMNS = ("event_type", "source", "service_id", "status", "degraded_by", "target", "payload")
# Text columns that repeat a few names (ids, kinds, statuses): read as categoricals, whose
# categories are sorted, so grouping and sorting by them order as the plain text would.
NAME_COLUMNS = ("event_type", "source", "service_id", "status", "degraded_by", "target")
# What the post-mortem reads; the other state columns (load, queue, ...) are left on disk.
REPORT_COLUMNS = (
    "time", "event_type", "source", "service_id", "stress_level", "resource_level", "status",
    "rejected", "degraded_by", "seq", "target", "cause", "payload",
)  # fmt: skip


def read_metrics(path: Path, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """metrics.csv (only `columns`, default all) with every column in its real type, in both
    recording modes: names as sorted categoricals and `payload` as str ("" when empty),
    `seq` as int, `cause` as nullable Int64, the rest as float64 (exactly as written)."""
    header = [c for c in pd.read_csv(path, nrows=0).columns if columns is None or c in columns]
    dtypes = {
        c: "category" if c in NAME_COLUMNS else str if c in TEXT_COLUMNS else "float64"
        for c in header
        if c != "cause"
    }
    rows = pd.read_csv(
        path,
        usecols=header,
        dtype=dtypes,
        keep_default_na=False,
        na_values={c: [""] for c in header if c not in TEXT_COLUMNS},
    )
    for c in header:
        if c in NAME_COLUMNS and not rows[c].cat.categories.is_monotonic_increasing:
            rows[c] = rows[c].cat.reorder_categories(rows[c].cat.categories.sort_values())
    return rows.astype({"seq": "int64", "cause": "Int64"})


def load_run(folder: str | Path) -> RunData:
    """Load and check a run folder; raises AnalysisError naming what is missing or broken."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AnalysisError(f"{folder}: no such run folder")
    for name in ("summary.json", "metrics.csv"):
        if not (folder / name).is_file():
            raise AnalysisError(f"{folder}: missing {name} (a run folder is written by `simulator run`)")
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"{folder / 'summary.json'}: not valid JSON ({exc})") from None
    for key in ("config", "seed", "chain_head"):
        if key not in summary:
            raise AnalysisError(f"{folder / 'summary.json'}: missing key {key!r}")
    if summary.get("world") != "infra":
        raise AnalysisError(f"{folder}: reports are for infra runs, this is {summary.get('world')!r}")
    _check_file_chain(folder, summary)
    rows = read_metrics(folder / "metrics.csv", REPORT_COLUMNS)
    first = ~rows["seq"].duplicated().to_numpy()
    events = rows.loc[first, ["seq", "time", "event_type", "source", "target", "cause", "payload"]]
    events = events.set_index("seq")
    return RunData(folder=folder, summary=summary, rows=rows, events=events)


def payload(events: pd.DataFrame, seq: int) -> dict:
    text = events.at[seq, "payload"]
    return json.loads(text) if text else {}
