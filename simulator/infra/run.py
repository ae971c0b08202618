"""Running an infra scenario into a run folder, and validating a folder by replay."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..engine import CallbackSink, CsvSink, MemorySink, Record, records_from_file
from ..runs import versions, write_json
from .build import build_world
from .outcomes import outcomes
from .scenario import InfraScenario, parse_scenario


def trace_line(w, record: Record) -> str:
    """Logical time, event, source -> target, then post-event state of services and agents."""
    parts = [
        f"t={record.time:8.3f} #{record.seq:<5} {record.type:<21} {record.source:>14} -> {record.target:<14}"
    ]
    for eid, kind in w.kinds.items():
        s = w.entities[eid]
        if kind == "service":
            parts.append(
                f"{eid} {s['status']:<10} stress={s['stress_level']:.2f} "
                f"res={s['resource_level']:.2f} q={s['queue']}"
            )
        elif kind == "citizen":
            parts.append(f"{eid} panic={s['panic']:.2f}")
        elif kind == "policy":
            parts.append(
                f"{eid} budget={s['budget']:.2f} known_bad={sum(v != 'ok' for v in s['known'].values())}"
            )
    return " | ".join(parts)


def run_scenario(
    scenario: InfraScenario,
    out: str | Path = "results",
    trace: bool | None = None,
    quiet: bool = False,
    stream: TextIO = sys.stdout,
    progress: bool | None = None,
) -> dict:
    """Run, write `<out>/metrics.csv` and `<out>/summary.json`, return the summary."""
    out = Path(out)
    show_trace = (scenario.recording.trace if trace is None else trace) and not quiet
    sinks: list = []
    if scenario.recording.mode != "off":
        sinks.append(CsvSink(out / "metrics.csv"))
    world_box: list = []
    if show_trace:
        sinks.append(CallbackSink(lambda rec, _d: print(trace_line(world_box[0], rec), file=stream)))
    w = build_world(scenario, sinks)
    world_box.append(w)
    bar = None
    tick: Callable[[float], None] | None = None
    if scenario.until and not quiet and not show_trace and progress is not False:
        from tqdm import tqdm

        bar = tqdm(
            total=scenario.until,
            unit="t",
            desc=scenario.name,
            file=sys.stderr,
            bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} [{elapsed}<{remaining}] {postfix}",
        )

        def tick(now: float) -> None:
            bar.set_postfix_str(f"{w.seq:,} events", refresh=False)
            bar.update(now - bar.n)

    try:
        w.run(until=scenario.until, progress=tick)
    finally:
        if bar is not None:
            bar.close()
    summary = {
        "scenario": scenario.name,
        "world": "infra",
        "seed": scenario.seed,
        "config": scenario.model_dump(mode="json"),
        "versions": versions("networkx", "pydantic"),
        "chain_head": w.chain_head,
        "records": w.chain.count if w.chain else 0,
        "outcomes": outcomes(w),
        "errors": [],
    }
    write_json(out / "summary.json", summary)
    return summary


class ReplayReport(dict):
    """`valid`, `original_count`, `replay_count`, `first_mismatch` (seq, expected, actual)."""


def validate_run(folder: str | Path) -> ReplayReport:
    """Re-run the scenario recorded in `folder`'s summary.json and compare record by record
    with its metrics.csv; name the first record that differs."""
    import json

    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text())
    scenario = parse_scenario(summary["config"], str(folder / "summary.json"))
    memory = MemorySink()
    w = build_world(scenario, [memory])
    w.run(until=scenario.until)
    header, recorded = records_from_file(folder / "metrics.csv")
    report = ReplayReport(
        valid=True,
        original_count=0,
        replay_count=len(memory.data),
        first_mismatch=None,
        chain_head=w.chain_head,
        recorded_chain_head=summary.get("chain_head"),
    )
    if header != memory.header:
        report.update(
            valid=False,
            first_mismatch={"seq": 0, "expected": header.decode(), "actual": memory.header.decode()},
        )
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
    if summary.get("chain_head") != w.chain_head:
        report["valid"] = False
    return report
