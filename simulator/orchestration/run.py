"""Running a spec into a run folder, validating a folder by replay, and the batch task.

A run folder holds `metrics.csv` (one record per applied event, agent and orchestration
counters as post-event state), `transcript.jsonl` (the same events as JSON lines), `tasks.csv`
(one row per task), `summary.json` (resolved spec, seed, versions, chain head, outcomes) and
two plots.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import CsvSink, MemorySink, Record, Sink, records_from_file
from ..runs import versions, write_atomic, write_json
from .model import END_REASONS
from .runtime import AGENT
from .session import TASK_COLUMNS, Session
from .spec import OrchestrationSpec, build_latency, build_root, build_tasks, parse_spec

_payload_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
_text = json.encoder.encode_basestring  # type: ignore[attr-defined]


def transcript_line(record: Record) -> str:
    """One applied event as a JSON line: keys sorted, no spaces (the same bytes every run).

    Equal to `json.dumps(item, sort_keys=True, separators=(",", ":"))` of the record's
    fields, written out by hand because it runs once per event."""
    cause = "null" if record.cause is None else str(record.cause)
    return (
        f'{{"cause":{cause},"payload":{_payload_json(record.payload)},"seq":{record.seq},'
        f'"source":{_text(record.source)},"target":{_text(record.target)},"time":{record.time!r},'
        f'"type":{_text(record.type)}}}\n'
    )


class JsonlSink:
    """The transcript, written to `<path>.partial` and moved into place on success."""

    wants_records = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._file: Any = None

    def open(self, header: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115

    def write(self, record: Record, data: bytes) -> None:
        self._file.write(transcript_line(record))

    def close(self, ok: bool) -> None:
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if ok:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def execute(spec: OrchestrationSpec, sinks: list[Sink] | tuple = (), record: bool = True) -> Session:
    """Run the spec's task stream through its pattern tree; returns the finished session."""
    session = Session(spec.seed, sinks, latency=build_latency(spec), record=record)
    session.stream(build_root(spec), build_tasks(spec), spec.tasks.arrival_rate)
    session.run(until=spec.until)
    return session


def outcomes(session: Session, spec: OrchestrationSpec) -> dict[str, float]:
    """Numeric outcomes of a run (what a batch task returns)."""
    rows = session.rows
    n = len(rows)
    makespans = np.array([r["makespan"] for r in rows]) if rows else np.array([np.nan])
    reasons = Counter(r["end_reason"] for r in rows)
    out = {
        "tasks": float(spec.tasks.count),
        "finished": float(n),
        "succeeded": float(sum(r["success"] for r in rows)),
        "success_rate": sum(r["success"] for r in rows) / n if n else 0.0,
        "makespan_mean": float(np.mean(makespans)),
        "makespan_p50": float(np.percentile(makespans, 50)),
        "makespan_p95": float(np.percentile(makespans, 95)),
        "messages_per_task": sum(r["messages"] for r in rows) / n if n else 0.0,
        "agent_calls_per_task": sum(r["agent_calls"] for r in rows) / n if n else 0.0,
        "retries_per_task": sum(r["retries"] for r in rows) / n if n else 0.0,
        "events": float(session.world.seq),
        "end_time": float(session.world.now),
    }
    for reason in END_REASONS:
        out["ended_" + reason.replace(" ", "_")] = float(reasons.get(reason, 0))
    return out


def task_table(session: Session) -> str:
    import pandas as pd

    frame = pd.DataFrame(session.rows, columns=list(TASK_COLUMNS)).sort_values("task", kind="stable")
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")


def run_spec(spec: OrchestrationSpec, out: str | Path, plots: bool = True) -> dict[str, Any]:
    """Run, write the run folder, return the summary."""
    out = Path(out)
    session = execute(spec, [CsvSink(out / "metrics.csv"), JsonlSink(out / "transcript.jsonl")])
    write_atomic(out / "tasks.csv", task_table(session))
    agents = {
        eid: {
            k: session.world.entities[eid][k]
            for k in ("calls", "succeeded", "failed", "exceptions", "timeouts")
        }
        for eid, kind in session.world.kinds.items()
        if kind == AGENT
    }
    summary = {
        "scenario": spec.name,
        "world": "orchestration",
        "seed": spec.seed,
        "config": spec.model_dump(mode="json"),
        "versions": versions("pydantic"),
        "chain_head": session.world.chain_head,
        "records": session.world.chain.count if session.world.chain else 0,
        "outcomes": outcomes(session, spec),
        "agents": agents,
        "errors": [],
    }
    write_json(out / "summary.json", summary)
    if plots:
        from .plots import plot_run

        plot_run(session.rows, agents, out)
    return summary


def run_outcomes(params: dict[str, Any], seed: int) -> dict[str, float]:
    """One spec as a `simulator.batch` task: `fn(params, seed)`, top level and picklable.

    `params` is a spec as plain data; an extra `output_dir` key writes the full run folder
    there too (transcript, metrics, tasks, summary)."""
    params = dict(params)
    folder = params.pop("output_dir", None)
    spec = parse_spec({**params, "seed": int(seed)}, "<batch task>")
    if folder is not None:
        return run_spec(spec, folder, plots=False)["outcomes"]
    return outcomes(execute(spec, record=False), spec)


class ReplayReport(dict):
    """`valid`, `original_count`, `replay_count`, `first_mismatch`, both chain heads."""


def validate_run(folder: str | Path) -> ReplayReport:
    """Re-run the spec recorded in `folder`'s summary.json and compare record by record."""
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    spec = parse_spec(summary["config"], str(folder / "summary.json"))
    memory = MemorySink()
    session = execute(spec, [memory])
    header, recorded = records_from_file(folder / "metrics.csv")
    report = ReplayReport(
        valid=header == memory.header,
        original_count=0,
        replay_count=len(memory.data),
        first_mismatch=None,
        chain_head=session.world.chain_head,
        recorded_chain_head=summary.get("chain_head"),
    )
    if header != memory.header:
        report["first_mismatch"] = {"seq": 0, "expected": header.decode(), "actual": memory.header.decode()}
    for i, (seq, data) in enumerate(recorded):
        report["original_count"] += 1
        if report["first_mismatch"] is None:
            actual = memory.data[i] if i < len(memory.data) else b""
            if data != actual:
                report.update(
                    valid=False,
                    first_mismatch={"seq": seq, "expected": data.decode(), "actual": actual.decode()},
                )
    if report["original_count"] != report["replay_count"]:
        report["valid"] = False
        if report["first_mismatch"] is None:
            n = min(report["original_count"], report["replay_count"])
            report["first_mismatch"] = {"seq": n + 1, "expected": "<record count differs>", "actual": ""}
    if summary.get("chain_head") != session.world.chain_head:
        report["valid"] = False
    return report
