"""Reading a recorded run folder (metrics.csv + summary.json) into pandas, checked first."""

from __future__ import annotations

import json
from dataclasses import dataclass
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

    @property
    def config(self) -> dict:
        return self.summary["config"]

    @property
    def services(self) -> list[str]:
        return [s["id"] for s in self.config["services"]]

    def states(self) -> pd.DataFrame:
        """Service rows only (records that wrote no entity are left out)."""
        rows = self.rows
        return rows[rows["service_id"].notna() & (rows["service_id"] != "")]


def _check_file_chain(folder: Path, summary: dict) -> None:
    metrics = folder / "metrics.csv"
    raw = metrics.read_bytes()
    if not raw:
        raise AnalysisError(f"{metrics}: empty file (no header)")
    if not raw.endswith(b"\n"):
        last = raw.rsplit(b"\n", 1)[-1][:60].decode(errors="replace")
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


def read_metrics(path: Path) -> pd.DataFrame:
    """metrics.csv with every column in its real type, in both recording modes: text columns
    as str ("" when empty), `seq` as int, `cause` as nullable Int64, the rest as float."""
    header = pd.read_csv(path, nrows=0).columns
    text = [c for c in header if c in TEXT_COLUMNS]
    rows = pd.read_csv(
        path,
        dtype={c: str for c in text} | {c: "float64" for c in header if c not in text and c != "cause"},
        keep_default_na=False,
        na_values={c: [""] for c in header if c not in text},
    )
    rows = rows.astype({"seq": "int64", "cause": "Int64"})
    return rows


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
    rows = read_metrics(folder / "metrics.csv")
    events = rows.drop_duplicates("seq").set_index("seq")[
        ["time", "event_type", "source", "target", "cause", "payload"]
    ]
    return RunData(folder=folder, summary=summary, rows=rows, events=events)


def payload(events: pd.DataFrame, seq: int) -> dict:
    text = events.at[seq, "payload"]
    return json.loads(text) if text else {}
