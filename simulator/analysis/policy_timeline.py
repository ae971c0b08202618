"""Policy dynamics from the records: when the policy saw what, decided, and took effect."""

from __future__ import annotations

from dataclasses import dataclass

from .run_data import RunData, payload


@dataclass
class Decision:
    seq: int
    decided_at: float
    based_on: float  # time of the newest observation the decision rested on
    targets: list[str]
    applied: dict[str, float]  # target -> time the intervention took effect

    @property
    def staleness(self) -> float:
        return self.decided_at - self.based_on

    @property
    def first_effect(self) -> float | None:
        return min(self.applied.values()) if self.applied else None


def first_reports(run: RunData) -> dict[str, tuple[float, float, str]]:
    """service -> (observed at, report arrived at, status) for the first report of trouble."""
    events = run.events
    seen: dict[str, tuple[float, float, str]] = {}
    for seq in events.index[events["event_type"] == "report"]:
        p = payload(events, seq)
        for service, status in sorted(p["statuses"].items()):
            if status != "ok" and service not in seen:
                seen[service] = (float(p["seen_at"]), float(events.at[seq, "time"]), status)
    return seen


def decisions(run: RunData) -> list[Decision]:
    events = run.events
    out: dict[int, Decision] = {}
    for seq in events.index[events["event_type"] == "policy_decision"]:
        p = payload(events, seq)
        out[int(seq)] = Decision(
            int(seq), float(events.at[seq, "time"]), float(p["based_on"]), p["targets"], {}
        )
    effects = events[events["event_type"].isin(["budget_release", "capacity_reallocation"])]
    for _, ev in effects.iterrows():
        decision = out.get(int(ev["cause"])) if ev["cause"] is not None else None
        if decision is not None and ev["target"] in decision.targets:
            decision.applied.setdefault(ev["target"], float(ev["time"]))
    return [out[k] for k in sorted(out)]
