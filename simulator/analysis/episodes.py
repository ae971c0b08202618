"""Failure episodes per service: when it left `ok`, how bad it got, when it came back."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .run_data import RunData


@dataclass
class Episode:
    service: str
    start: float
    end: float | None  # None: still not ok when the run ended
    worst: str  # "overloaded" or "failed"
    peak_stress: float
    min_resource: float
    start_seq: int

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start


def episodes(run: RunData) -> list[Episode]:
    """Maximal intervals of non-ok status, per service, in order of start."""
    states = run.states()
    found: list[Episode] = []
    for service, rows in states.groupby("service_id", sort=True):
        current: Episode | None = None
        for time, seq, status, stress, resource in rows[
            ["time", "seq", "status", "stress_level", "resource_level"]
        ].itertuples(index=False):
            if status != "ok":
                if current is None:
                    current = Episode(service, time, None, status, stress, resource, int(seq))
                current.peak_stress = max(current.peak_stress, stress)
                current.min_resource = min(current.min_resource, resource)
                if status == "failed":
                    current.worst = "failed"
            elif current is not None:
                current.end = time
                found.append(current)
                current = None
        if current is not None:
            found.append(current)
    return sorted(found, key=lambda e: (e.start, e.start_seq))


def service_effects(run: RunData, eps: list[Episode] | None = None) -> pd.DataFrame:
    """Per service: peak stress, min resource, time stressed, first failure, demand lost."""
    states = run.states()
    end = float(run.summary["outcomes"]["end_time"])
    eps = episodes(run) if eps is None else eps
    out = []
    per_service = run.summary["outcomes"]["services"]
    for service in run.services:
        rows = states[states["service_id"] == service]
        mine = [e for e in eps if e.service == service]
        stressed = sum((e.end if e.end is not None else end) - e.start for e in mine)
        failed = rows.loc[rows["status"] == "failed", "time"]
        out.append(
            {
                "service": service,
                "peak_stress": float(rows["stress_level"].max()) if len(rows) else 0.0,
                "min_resource": float(rows["resource_level"].min()) if len(rows) else 1.0,
                "episodes": len(mine),
                "time_not_ok": stressed,
                "first_failure": float(failed.iloc[0]) if len(failed) else None,
                "served": per_service[service]["served"],
                "rejected": per_service[service]["rejected"],
                "final_status": per_service[service]["status"],
            }
        )
    return pd.DataFrame(out)
