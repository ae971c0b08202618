"""Run an OttoChain population: metrics.csv + summary.json, completion per fiber type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine import CsvSink
from ..runs import versions, write_json
from .config import FIBER_TYPES, OttoScenario
from .world import OttoWorld


def outcomes(sim: OttoWorld) -> dict[str, Any]:
    """Per fiber type: created, completed (a success state), terminal, outcome labels, and the
    rejections the metagraph returned, by reason."""
    per: dict[str, dict[str, Any]] = {}
    world = sim.world
    for fid, kind in world.kinds.items():
        if kind != "fiber":
            continue
        rec = world.entities[fid]
        ftype = sim.types[rec["fiber_type"]]
        row = per.setdefault(ftype.name, {"created": 0, "completed": 0, "terminal": 0, "outcomes": {}})
        row["created"] += 1
        row["completed"] += ftype.completed(rec)
        row["terminal"] += bool(rec["final"])
        label = ftype.outcome(rec)
        row["outcomes"][label] = row["outcomes"].get(label, 0) + 1
    rejections = world.entities["metagraph"]["rejections"]
    cosigning = world.entities["cosigning"]
    table = {}
    for name in FIBER_TYPES:
        if name not in per and name not in rejections and name not in cosigning["invitations"]:
            continue
        row = per.get(name, {"created": 0, "completed": 0, "terminal": 0, "outcomes": {}})
        row["completion"] = round(row["completed"] / row["created"], 4) if row["created"] else 0.0
        row["outcomes"] = dict(sorted(row["outcomes"].items()))
        row["rejections"] = dict(sorted(rejections.get(name, {}).items()))
        row["cosigning"] = {
            k: cosigning[k].get(name, 0) for k in ("invitations", "refusals", "refused", "expired")
        }
        table[name] = row
    created = sum(r["created"] for r in table.values())
    completed = sum(r["completed"] for r in table.values())
    return {
        "mode": sim.scenario.mode,
        "created": created,
        "completed": completed,
        "completion": round(completed / created, 4) if created else 0.0,
        "not_created": {k: sum(cosigning[k].values()) for k in ("refused", "expired")},
        "snapshots": world.entities["metagraph"]["ordinal"],
        "events": world.seq,
        "per_type": table,
    }


def run_scenario(scenario: OttoScenario, out: str | Path) -> dict[str, Any]:
    out = Path(out)
    sim = OttoWorld(scenario, [CsvSink(out / "metrics.csv")])
    sim.world.run(until=scenario.until)
    summary = {
        "scenario": scenario.name,
        "world": "ottochain",
        "seed": scenario.seed,
        "config": scenario.model_dump(mode="json"),
        "versions": versions("cryptography", "pydantic"),
        "chain_head": sim.world.chain_head,
        "records": sim.world.chain.count if sim.world.chain else 0,
        "outcomes": outcomes(sim),
        "errors": [],
    }
    write_json(out / "summary.json", summary)
    return summary


def completion_table(summaries: dict[str, dict[str, Any]]) -> str:
    """Completion per type, one column per mode."""
    modes = list(summaries)
    header = f"{'fiber type':<18}" + "".join(f"{m:>24}" for m in modes) + "   top rejection (last mode)"
    lines = [header]
    names = [n for n in FIBER_TYPES if any(n in s["outcomes"]["per_type"] for s in summaries.values())]
    for name in [*names, "all"]:
        cells = []
        top = ""
        for m in modes:
            o = summaries[m]["outcomes"]
            row = (
                o
                if name == "all"
                else o["per_type"].get(name, {"completed": 0, "created": 0, "completion": 0})
            )
            cells.append(f"{row['completed']:>4}/{row['created']:<4} {row['completion']:>7.1%}")
            if name != "all" and row.get("rejections"):
                reason, count = max(row["rejections"].items(), key=lambda kv: (kv[1], kv[0]))
                top = f"{reason} x{count}"
        lines.append(f"{name:<18}" + "".join(f"{c:>24}" for c in cells) + f"   {top}")
    for m in modes:
        skipped = summaries[m]["outcomes"]["not_created"]
        if any(skipped.values()):
            lines.append(
                f"{m}: {skipped['refused'] + skipped['expired']} fibers never created (a counterparty "
                f"refused to co-sign: {skipped['refused']}, no answer in time: {skipped['expired']})"
            )
    return "\n".join(lines)
