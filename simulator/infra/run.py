"""Running an infra scenario into a run folder, and validating a folder by replay."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..engine import CsvSink, MemorySink, Record, World, records_from_file
from ..engine.world import EventLimitReached
from ..runs import versions, write_json
from ..scenario import ScenarioError
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


def advance(
    w: World, scenario: InfraScenario, progress: Callable[[float], None] | None = None, steps: int = 200
) -> None:
    """Run `w` to `scenario.until`, calling `progress(now)` at `steps` even points of simulated
    time; a run that needs more than `scenario.max_events` events is an error (`ScenarioError`,
    partial files discarded), never a silently shorter run."""
    try:
        w.run(
            until=scenario.until,
            progress=progress,
            steps=steps,
            max_events=scenario.max_events,
            limit_is_error=True,
        )
    except EventLimitReached as exc:
        raise ScenarioError(
            f"{scenario.name}: {exc}, before until={scenario.until:g}; nothing was written "
            "(allowed: a larger max_events, a shorter until or lower demand)"
        ) from None


def progress_bar(w: World, total: float, desc: str) -> tuple[Any, Callable[[float], None]]:
    """A tqdm bar over simulated time on stderr (none when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        unit="t",
        desc=desc,
        file=sys.stderr,
        disable=None,  # no bar when stderr is not a terminal (CI logs, pipes)
        bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} [{elapsed}<{remaining}] {postfix}",
    )

    def tick(now: float) -> None:
        bar.set_postfix_str(f"{w.seq:,} events", refresh=False)
        bar.update(now - bar.n)

    return bar, tick


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
    if not quiet and not show_trace and progress is not False:
        bar, tick = progress_bar(w, scenario.until, scenario.name)

    try:
        advance(w, scenario, progress=tick)
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
    """`valid`, `original_count`, `replay_count`, `first_mismatch` (seq, column, expected,
    actual), `chain_head`, `recorded_chain_head`."""


def read_summary(folder: Path) -> dict:
    """A run folder's summary.json, or `ScenarioError` saying what is wrong with it."""
    import json

    path = folder / "summary.json"
    try:
        summary = json.loads(path.read_bytes())
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise ScenarioError(f"{path}: not valid JSON ({exc}); is this a run folder?") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("config"), dict):
        raise ScenarioError(f"{path}: no 'config' mapping; a run's summary.json holds the resolved scenario")
    return summary


def check_metrics(path: Path) -> int:
    """Check a metrics file's shape before trusting it: a header with `seq`, every line whole
    (ends with a newline) with an integer `seq` that never goes back. Returns the line count."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.strerror})") from None
    with handle:
        header = handle.readline()
        if not header.endswith(b"\n"):
            raise ScenarioError(f"{path}: empty or without a header line; is this a run's metrics.csv?")
        try:
            columns = header.decode().rstrip("\n").split(",")
        except UnicodeDecodeError:
            raise ScenarioError(f"{path}:1: the header is not UTF-8 text; is this a metrics.csv?") from None
        if "seq" not in columns:
            raise ScenarioError(f"{path}: no 'seq' column in the header (got {', '.join(columns[:8])}, ...)")
        at = columns.index("seq")
        last, number = 0, 1
        for number, line in enumerate(handle, start=2):
            if not line.endswith(b"\n"):
                raise ScenarioError(f"{path}:{number}: the last line is cut off (no newline): truncated")
            cells = line.split(b",", at + 1)
            try:
                seq = int(cells[at]) if len(cells) > at + 1 else None
            except ValueError:
                seq = None
            if seq is None or seq < last:
                raise ScenarioError(
                    f"{path}:{number}: column 'seq' holds {cells[at][:20] if len(cells) > at else b''!r}"
                    f"{'' if seq is None else f' after {last}'} (allowed: a record number, never going back)"
                )
            last = seq
    return number


def differing_column(header: bytes, expected: bytes, actual: bytes) -> tuple[str, str]:
    """The first column in which two records' CSV lines differ, and the entity of that line
    (the layout's id column, 4th), e.g. `("queue", "transport")`."""
    import csv

    names = next(csv.reader([header.decode(errors="replace")]))
    ours = list(csv.reader(expected.decode(errors="replace").splitlines()))
    theirs = list(csv.reader(actual.decode(errors="replace").splitlines()))
    for row_a, row_b in zip(ours, theirs, strict=False):
        entity = row_a[3] if len(row_a) > 3 else ""
        for i, (a, b) in enumerate(zip(row_a, row_b, strict=False)):
            if a != b:
                return (names[i] if i < len(names) else f"column {i + 1}"), entity
        if len(row_a) != len(row_b):
            return "<number of columns>", entity
    return ("<rows carried>" if len(ours) != len(theirs) else ""), ""


def validate_run(folder: str | Path, progress: bool = False) -> ReplayReport:
    """Re-run the scenario recorded in `folder`'s summary.json and compare record by record
    with its metrics.csv; name the first record (and column) that differs."""
    folder = Path(folder)
    summary = read_summary(folder)
    scenario = parse_scenario(summary["config"], str(folder / "summary.json"))
    check_metrics(folder / "metrics.csv")
    memory = MemorySink()
    w = build_world(scenario, [memory])
    bar, tick = progress_bar(w, scenario.until, f"replay {scenario.name}") if progress else (None, None)
    try:
        advance(w, scenario, progress=tick)
    finally:
        if bar is not None:
            bar.close()
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
            first_mismatch={
                "seq": 0,
                "column": "<header>",
                "expected": header.decode(errors="replace"),
                "actual": memory.header.decode(),
            },
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
                    column, entity = differing_column(header, data, actual) if data else ("<missing>", "")
                    report.update(
                        valid=False,
                        first_mismatch={
                            "seq": i + 1,
                            "column": column,
                            "entity": entity,
                            "expected": data.decode(errors="replace"),
                            "actual": actual.decode(),
                        },
                    )
                    break
    if report["original_count"] != report["replay_count"]:
        report["valid"] = False
        if report["first_mismatch"] is None:
            n = min(report["original_count"], report["replay_count"])
            report["first_mismatch"] = {
                "seq": n + 1,
                "column": "<record count>",
                "expected": "<record count differs>",
                "actual": "",
            }
    if summary.get("chain_head") != w.chain_head:
        report["valid"] = False
    return report
