"""The bridge: a kernel service between agents and the metagraph, with latency, errors,
lost answers (timeouts) and outages on a fault schedule, plus the agents' backoff rule.

An agent's request is an event `bridge` (agent -> bridge, after the bridge's latency). The
bridge's reducer answers it under `responses["<tx id>#<attempt>"]`:
  outage   the bridge is down (the fault schedule): nothing forwarded
  error    the request failed (error rate): nothing forwarded
  timeout  forwarded to the metagraph, but the answer was lost: the agent cannot tell
  ok       forwarded
A forwarded request becomes a `forward` event (bridge -> metagraph); the metagraph accepts a
message id once (`duplicates` counts the rest), so an agent may retry a timed-out request
with the same id and the transition is never applied twice.

The signed transaction is in the record once: the first request carries it (`{"tx": {...},
"attempt": 1}`) and the bridge keeps it under `txs[<id>]`; a retry names it (`{"ref": id,
"attempt": n}`), and so does the `forward` event (`{"ref": id}`).
"""

from __future__ import annotations

from typing import Any

from ..engine import Event, World
from .traffic_config import Bridge

MAX_BACKOFF_MS = 60_000


def backoff_ms(failures: int) -> int:
    """The seed's rule: min(1000 * 2^failures, 60000) milliseconds."""
    return min(1000 * 2 ** min(failures, 16), MAX_BACKOFF_MS)


def in_outage(cfg: Bridge, t: float) -> bool:
    """Down for `outage_fraction` of each `outage_period`, centred in the period."""
    if cfg.outage_fraction <= 0:
        return False
    pos = t % cfg.outage_period / cfg.outage_period
    half = cfg.outage_fraction / 2
    return 0.5 - half <= pos < 0.5 + half


def in_stall(cfg: Bridge, t: float) -> bool:
    """The metagraph seals nothing for `stall_fraction` of each period, at the period's end."""
    if cfg.stall_fraction <= 0:
        return False
    return t % cfg.outage_period / cfg.outage_period >= 1.0 - cfg.stall_fraction


def health(mg: dict[str, Any], now: float, snapshot_interval: float) -> dict[str, Any]:
    """Metagraph health as the seed's monitor sees it: last ordinal, seconds since the last
    snapshot, and whether snapshots are still coming (lag within two intervals)."""
    lag = round(now - mg.get("sealed_at", 0.0), 6)
    return {"ordinal": mg["ordinal"], "lag": lag, "producing": lag <= 2 * snapshot_interval}


def seal(world: World, event: Event) -> list[Event]:
    """A snapshot, as part 1 seals it, plus the time it was sealed (for the health check)."""
    from .world import _snapshot

    follow = _snapshot(world, event)
    world.entities["metagraph"]["sealed_at"] = world.now
    return follow


def new_bridge_state() -> dict[str, Any]:
    return {
        "responses": {},
        "txs": {},  # every signed transaction the bridge has seen, by id
        "counts": {"requests": 0, "ok": 0, "outage": 0, "error": 0, "timeout": 0},
        "health": {"ordinal": 0, "lag": 0.0, "producing": True},
    }


def make_bridge_reducer(cfg: Bridge, snapshot_interval: float, rng: Any):
    def reduce(world: World, event: Event) -> list[Event] | None:
        b = world.entity("bridge")
        p = event.payload
        tx = p.get("tx")
        if tx is None:
            tx = b["txs"][p["ref"]]
        else:
            b["txs"][tx["id"]] = tx
        b["health"] = health(world.entities["metagraph"], world.now, snapshot_interval)
        draw_error, draw_timeout = float(rng.random()), float(rng.random())
        if in_outage(cfg, world.now):
            result = "outage"
        elif draw_error < cfg.error_rate:
            result = "error"
        else:
            result = "timeout" if draw_timeout < cfg.timeout_rate else "ok"
        b["responses"][f"{tx['id']}#{p['attempt']}"] = result
        b["counts"]["requests"] += 1
        b["counts"][result] += 1
        if result in ("ok", "timeout"):
            return [Event("forward", "bridge", "metagraph", {"ref": tx["id"]})]
        return None

    return reduce


def forward(world: World, event: Event) -> None:
    """The metagraph takes a forwarded message into its mempool once per message id."""
    mg = world.entity("metagraph")
    tx = world.entities["bridge"]["txs"][event.payload["ref"]]
    if tx["id"] in mg["seen"]:
        mg["duplicates"] += 1
        return
    mg["seen"][tx["id"]] = True
    mg["pending"].append(tx)
