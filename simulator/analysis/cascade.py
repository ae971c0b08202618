"""The causal cascade, rebuilt from the records' cause links.

Every status change is followed by a `service_overloaded|failed` event whose cause is the
event that pushed the service over. Walking cause links back gives the root (a flood tick,
a citizen's request, ...). A degradation is *direct* propagation when its chain passes
through a `dependency_degraded` event from an upstream service, and *contributing* when the
service was already running on degraded capacity (its `degraded_by` column names the
dependency) but something else tipped it over.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import pandas as pd

from .run_data import RunData

DEGRADE = ("service_overloaded", "service_failed")


@dataclass
class CascadeLink:
    upstream: str
    downstream: str
    via: str  # "direct" or "contributing"
    upstream_seq: int  # the upstream's status event
    downstream_seq: int  # the downstream's status event
    upstream_time: float
    downstream_time: float
    status: str  # what the downstream became
    root: str  # root event of the downstream's chain, e.g. "flood_damage from river_flood"

    @property
    def delay(self) -> float:
        return self.downstream_time - self.upstream_time


def cause_chain(events: pd.DataFrame, seq: int, limit: int = 10_000) -> list[int]:
    """seq, its cause, its cause's cause, ... back to an event with no cause."""
    chain = [seq]
    causes = events["cause"]
    while len(chain) < limit:
        cause = causes.at[chain[-1]]
        if pd.isna(cause):
            break
        chain.append(int(cause))
    return chain


def _describe(events: pd.DataFrame, seq: int) -> str:
    e = events.loc[seq]
    return f"{e['event_type']} from {e['source']}"


def cascade(run: RunData) -> list[CascadeLink]:
    """Every degradation of a service that an upstream dependency caused or contributed to."""
    events = run.events
    degrades = events[events["event_type"].isin(DEGRADE)]
    chains = {int(seq): cause_chain(events, int(seq)) for seq in degrades.index}
    triggers = {chain[1] if len(chain) > 1 else seq for seq, chain in chains.items()}
    states = run.states()
    states = states[states["seq"].isin(triggers)]
    degraded_by = {
        (int(q), sid): by
        for q, sid, by in states[["seq", "service_id", "degraded_by"]].itertuples(index=False)
    }
    history: dict[str, tuple[list[int], list[float]]] = {}
    for seq, source, time in degrades[["source", "time"]].itertuples():
        seqs, times = history.setdefault(source, ([], []))
        seqs.append(int(seq))
        times.append(float(time))
    links: list[CascadeLink] = []
    for seq, kind, service, time in degrades[["event_type", "source", "time"]].itertuples():
        seq = int(seq)
        chain = chains[seq]
        root = _describe(events, chain[-1])
        status = "failed" if kind == "service_failed" else "overloaded"
        direct = next((s for s in chain[1:] if events.at[s, "event_type"] == "dependency_degraded"), None)
        if direct is not None:
            up_seq = int(events.at[direct, "cause"])
            links.append(
                CascadeLink(
                    events.at[direct, "source"],
                    service,
                    "direct",
                    up_seq,
                    seq,
                    float(events.at[up_seq, "time"]),
                    float(time),
                    status,
                    root,
                )
            )
            continue
        trigger = chain[1] if len(chain) > 1 else seq
        upstream = degraded_by.get((trigger, service), "")
        if upstream and upstream in history:
            seqs, times = history[upstream]
            i = bisect_left(seqs, seq) - 1
            if i >= 0:
                links.append(
                    CascadeLink(
                        upstream, service, "contributing", seqs[i], seq, times[i], float(time), status, root
                    )
                )
    return links


def roots(run: RunData) -> pd.DataFrame:
    """For every degradation event: the service, what it became, and its root cause."""
    events = run.events
    rows = []
    for seq in events.index[events["event_type"].isin(DEGRADE)]:
        chain = cause_chain(events, int(seq))
        rows.append(
            {
                "seq": int(seq),
                "time": float(events.at[seq, "time"]),
                "service": events.at[seq, "source"],
                "became": "failed" if events.at[seq, "event_type"] == "service_failed" else "overloaded",
                "trigger": _describe(events, chain[1]) if len(chain) > 1 else "",
                "root": _describe(events, chain[-1]),
                "chain_length": len(chain),
            }
        )
    return pd.DataFrame(rows, columns=["seq", "time", "service", "became", "trigger", "root", "chain_length"])
