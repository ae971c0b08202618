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
from .runtime import AGENT, LAYOUT
from .session import TASK_COLUMNS, Session
from .spec import OrchestrationSpec, build_latency, build_root, build_tasks, parse_spec

_text = json.encoder.encode_basestring  # type: ignore[attr-defined]
_SEQ = LAYOUT.columns.index("seq")


def transcript_line(data: bytes) -> bytes:
    """One applied event's JSON line, made from its metrics.csv bytes (so the transcript says
    exactly what the chained record says, and costs no second JSON encoding): keys sorted,
    `time` as the record writes it, `payload` the record's JSON."""
    parts = data.split(b"\n", 1)[0].split(b",", _SEQ + 3)
    time, type_, source = parts[0], parts[1], parts[2]
    seq, target, cause, payload = parts[_SEQ : _SEQ + 4]
    payload = payload[1:-1].replace(b'""', b'"') if payload else b"{}"
    return b'{"cause":%s,"payload":%s,"seq":%s,"source":%s,"target":%s,"time":%s,"type":%s}\n' % (
        cause or b"null",
        payload,
        seq,
        _text(source.decode()).encode(),
        _text(target.decode()).encode(),
        time,
        _text(type_.decode()).encode(),
    )


class JsonlSink:
    """The transcript, written to `<path>.partial` and moved into place on success. It takes
    bytes only, so it can run in the background recorder beside the CSV sink."""

    wants_records = False

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._file: Any = None

    def open(self, header: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()

    def write(self, record: Record | None, data: bytes) -> None:
        self._file.write(transcript_line(data))

    def close(self, ok: bool) -> None:
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if ok:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def execute(
    spec: OrchestrationSpec, sinks: list[Sink] | tuple = (), record: bool = True, background: bool = False
) -> Session:
    """Run the spec's task stream through its pattern tree; returns the finished session.
    `background`: format, hash and write the records in a forked child (same bytes)."""
    session = Session(spec.seed, sinks, latency=build_latency(spec), record=record, background=background)
    session.stream(build_root(spec), build_tasks(spec), spec.tasks.arrival_rate)
    session.run(until=spec.until)
    return session


OUTCOMES = (
    "tasks",
    "finished",
    "succeeded",
    "success_rate",
    "makespan_mean",
    "makespan_p50",
    "makespan_p95",
    "messages_per_task",
    "agent_calls_per_task",
    "retries_per_task",
    "events",
    "end_time",
    *("ended_" + reason.replace(" ", "_") for reason in END_REASONS),
)


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


def run_spec(
    spec: OrchestrationSpec, out: str | Path, plots: bool = True, background: bool | None = None
) -> dict[str, Any]:
    """Run, write the run folder, return the summary. `background` (default: the spec's
    `recording.background`) moves formatting, hashing and writing to a forked child."""
    out = Path(out)
    sinks = [CsvSink(out / "metrics.csv"), JsonlSink(out / "transcript.jsonl")]
    background = spec.recording.background if background is None else background
    session = execute(spec, sinks, background=background)
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
    there too (transcript, metrics, tasks, summary), recording inline: a batch worker may be
    a daemon process, which cannot fork a recorder, and the batch is parallel already."""
    params = dict(params)
    folder = params.pop("output_dir", None)
    spec = parse_spec({**params, "seed": int(seed)}, "<batch task>")
    if folder is not None:
        return run_spec(spec, folder, plots=False, background=False)["outcomes"]
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
    transcript = folder / "transcript.jsonl"
    if transcript.is_file() and report["first_mismatch"] is None:
        _check_transcript(transcript, folder / "metrics.csv", report)
    return report


def _check_transcript(transcript: Path, metrics: Path, report: ReplayReport) -> None:
    """The transcript must say, line for line, what the chained metrics.csv says."""
    _, recorded = records_from_file(metrics)
    with open(transcript, "rb") as lines:
        for seq, data in recorded:
            line = lines.readline()
            if line != transcript_line(data):
                report.update(
                    valid=False,
                    first_mismatch={
                        "seq": seq,
                        "file": transcript.name,
                        "expected": transcript_line(data).decode(),
                        "actual": line.decode(),
                    },
                )
                return
        extra = lines.readline()
        if extra:
            report.update(
                valid=False,
                first_mismatch={
                    "seq": None,
                    "file": transcript.name,
                    "expected": "<end of file>",
                    "actual": extra.decode(),
                },
            )
