"""Policy dynamics from the records: when the policy saw what, decided, and took effect."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .episodes import Episode
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


@dataclass
class Detection:
    """The first agency report that showed the policy maker one failure episode."""

    service: str
    episode_start: float  # when this episode began (not the service's first episode ever)
    episode_start_seq: int
    worst: str  # the episode's worst status
    observed_at: float  # when the agency's (delayed) snapshot was taken
    report_arrived: float  # when the report reached the policy maker
    status_seen: str
    report_seq: int

    @property
    def delay(self) -> float:
        """From the start of the episode to the snapshot that showed it."""
        return self.observed_at - self.episode_start


def detections(run: RunData, eps: list[Episode]) -> tuple[list[Detection], list[Episode]]:
    """Match every report of trouble to the episode it saw (the one running when the snapshot
    was taken). Returns the first report of each episode, in order of arrival, and the
    episodes no report ever showed."""
    events = run.events
    by_service: dict[str, list[Episode]] = {}
    for e in eps:
        by_service.setdefault(e.service, []).append(e)
    found: dict[tuple[str, int], Detection] = {}
    for seq in events.index[events["event_type"] == "report"]:
        p = payload(events, seq)
        seen_at = float(p["seen_at"])
        for service, status in sorted(p["statuses"].items()):
            if status == "ok":
                continue
            episode = None
            for e in by_service.get(service, []):
                if e.start <= seen_at and (e.end is None or seen_at <= e.end):
                    episode = e
            if episode is None or (service, episode.start_seq) in found:
                continue
            found[(service, episode.start_seq)] = Detection(
                service,
                episode.start,
                episode.start_seq,
                episode.worst,
                seen_at,
                float(events.at[seq, "time"]),
                status,
                int(seq),
            )
    missed = [e for e in eps if (e.service, e.start_seq) not in found]
    return list(found.values()), missed


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
        decision = out.get(int(ev["cause"])) if pd.notna(ev["cause"]) else None
        if decision is not None and ev["target"] in decision.targets:
            decision.applied.setdefault(ev["target"], float(ev["time"]))
    return [out[k] for k in sorted(out)]
