"""Failure episodes per service: when it left `ok`, how bad it got, when it came back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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


def _segments(values: np.ndarray, starts: np.ndarray, stops: np.ndarray, ufunc: np.ufunc) -> list:
    """`ufunc` reduced over each rows[start:stop] (non-overlapping, in order), as Python scalars."""
    bounds = np.column_stack([starts, stops]).ravel()
    padded = np.append(values, values[-1:])  # a stop may be len(values)
    return ufunc.reduceat(padded, bounds)[::2].tolist()


def episodes(run: RunData) -> list[Episode]:
    """Maximal intervals of non-ok status, per service, in order of start.

    On arrays: with each service's rows in record order, an episode is a run of non-ok rows;
    it ends at the time of the service's next (ok) row, or is still open when its rows end."""
    columns = ["service_id", "time", "seq", "status", "stress_level", "resource_level"]
    rows = run.states()[columns].sort_values("service_id", kind="stable")
    if not len(rows):
        return []
    ids = pd.factorize(rows["service_id"])[0]
    bad, failed = (rows["status"] != "ok").to_numpy(), (rows["status"] == "failed").to_numpy()
    new_service = np.append(True, ids[1:] != ids[:-1])
    starts = np.flatnonzero(bad & (new_service | ~np.append(False, bad[:-1])))
    breaks = np.append(np.flatnonzero(~bad | new_service), len(ids))
    stops = breaks[np.searchsorted(breaks, starts, side="right")]
    closed = stops < len(ids)
    closed[closed] = ~new_service[stops[closed]]
    time, seq = rows["time"].to_numpy(), rows["seq"].to_numpy()
    first = rows.iloc[starts]
    found = [
        Episode(
            str(service),
            float(time[a]),
            float(time[b]) if ok_again else None,
            "failed" if any_failed else str(status),
            peak,
            low,
            int(seq[a]),
        )
        for service, status, a, b, ok_again, any_failed, peak, low in zip(
            first["service_id"].tolist(),
            first["status"].tolist(),
            starts,
            stops,
            closed,
            _segments(failed, starts, stops, np.logical_or),
            _segments(rows["stress_level"].to_numpy(), starts, stops, np.maximum),
            _segments(rows["resource_level"].to_numpy(), starts, stops, np.minimum),
            strict=True,
        )
    ]
    return sorted(found, key=lambda e: (e.start, e.start_seq))


def service_effects(run: RunData, eps: list[Episode] | None = None) -> pd.DataFrame:
    """Per service: peak stress, min resource, time stressed, first failure, demand lost."""
    states = run.states()
    end = float(run.summary["outcomes"]["end_time"])
    eps = episodes(run) if eps is None else eps
    by_service = states.groupby("service_id", observed=True)
    peak, low = by_service["stress_level"].max(), by_service["resource_level"].min()
    failed = states[states["status"] == "failed"].groupby("service_id", observed=True)["time"].first()
    mine: dict[str, list[Episode]] = {}
    for e in eps:
        mine.setdefault(e.service, []).append(e)
    out = []
    per_service = run.summary["outcomes"]["services"]
    for service in run.services:
        own = mine.get(service, [])
        written = service in peak.index
        out.append(
            {
                "service": service,
                "peak_stress": float(peak[service]) if written else 0.0,
                "min_resource": float(low[service]) if written else 1.0,
                "episodes": len(own),
                "time_not_ok": sum((e.end if e.end is not None else end) - e.start for e in own),
                "first_failure": float(failed[service]) if service in failed.index else None,
                "served": per_service[service]["served"],
                "rejected": per_service[service]["rejected"],
                "final_status": per_service[service]["status"],
            }
        )
    return pd.DataFrame(out)
