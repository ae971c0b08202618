"""Running an infra scenario into a run folder, and validating a folder by replay."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..engine import CsvSink, MemorySink, Record, World, records_from_file
from ..runs import versions, write_json
from .build import build_world
from .outcomes import outcomes
from .scenario import InfraScenario, parse_scenario


class Trace:
    """A sink printing each applied event: logical time, event, source -> target, then the
    post-event state of services and agents (agent kinds with many members are counted)."""

    wants_records = True

    def __init__(self, world: World, stream: TextIO, max_shown: int = 12) -> None:
        self.world, self.stream = world, stream
        by_kind: dict[str, list[str]] = {}
        for eid, kind in world.kinds.items():
            by_kind.setdefault(kind, []).append(eid)
        self.services = by_kind.get("service", [])
        self.citizens = by_kind.get("citizen", [])
        self.policies = by_kind.get("policy", [])
        self.max_shown = max_shown

    def open(self, header: bytes) -> None:
        pass

    def close(self, ok: bool) -> None:
        pass

    def write(self, record: Record, data: bytes) -> None:
        print(self.line(record), file=self.stream)

    def line(self, record: Record) -> str:
        e = self.world.entities
        r = record
        parts = [f"t={r.time:8.3f} #{r.seq:<5} {r.type:<21} {r.source:>14} -> {r.target:<14}"]
        for sid in self.services[: self.max_shown]:
            s = e[sid]
            parts.append(
                f"{sid} {s['status']:<10} stress={s['stress_level']:.2f} "
                f"res={s['resource_level']:.2f} q={s['queue']}"
            )
        if len(self.citizens) <= self.max_shown:
            parts += [f"{cid} panic={e[cid]['panic']:.2f}" for cid in self.citizens]
        for pid in self.policies:
            p = e[pid]
            parts.append(
                f"{pid} budget={p['budget']:.2f} known_bad={sum(v != 'ok' for v in p['known'].values())}"
            )
        hidden = max(len(self.services) - self.max_shown, 0) + (
            len(self.citizens) if len(self.citizens) > self.max_shown else 0
        )
        if hidden:
            parts.append(f"(+{hidden:,} entities not shown)")
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
    w = build_world(scenario, sinks)
    if show_trace:
        w.sinks.append(Trace(w, stream))
    bar = None
    tick: Callable[[float], None] | None = None
    if scenario.until and not quiet and not show_trace and progress is not False:
        from tqdm import tqdm

        bar = tqdm(
            total=scenario.until,
            unit="t",
            desc=scenario.name,
            file=sys.stderr,
            disable=None,  # no bar when stderr is not a terminal (CI logs, pipes)
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
    report["original_count"] = sum(1 for _ in recorded)
    if report["first_mismatch"] is None:
        # Byte by byte against the replay, so a damaged line (even its seq or a comma) is found
        # at the record that holds it. Records count from 1.
        with open(folder / "metrics.csv", "rb") as handle:
            handle.readline()
            for i, actual in enumerate(memory.data):
                data = handle.read(len(actual))
                if data != actual:
                    report.update(
                        valid=False,
                        first_mismatch={
                            "seq": i + 1,
                            "expected": data.decode(errors="replace"),
                            "actual": actual.decode(),
                        },
                    )
                    break
    if report["original_count"] != report["replay_count"]:
        report["valid"] = False
        if report["first_mismatch"] is None:
            n = min(report["original_count"], report["replay_count"])
            report["first_mismatch"] = {"seq": n + 1, "expected": "<record count differs>", "actual": ""}
    if summary.get("chain_head") != w.chain_head:
        report["valid"] = False
    return report
