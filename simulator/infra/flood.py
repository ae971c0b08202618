"""The flood stressor: an actor that damages services and raises demand, spreading in time."""

from __future__ import annotations

from ..engine import ActorContext, Event, World
from .scenario import FloodSpec


def flood_state(spec: FloodSpec, warned: list[str]) -> dict:
    return {**spec.model_dump(exclude={"kind", "id", "warn"}), "warned": warned, "active": False}


def flood(ctx: ActorContext):
    """Service i is reached `i x spread` after the onset; while reached and until the flood
    recedes, every tick it loses resources and receives surge demand (Poisson)."""
    me, rng = ctx.me, ctx.rng
    yield ctx.wait(me["start"])
    ctx.emit("flood_onset", ctx.id, {"intensity": me["intensity"]})
    for citizen in me["warned"]:
        ctx.emit("flood_warning", citizen)
    end = me["start"] + me["duration"]
    reached_at = {sid: me["start"] + i * me["spread"] for i, sid in enumerate(me["services"])}
    tick = me["tick"]
    damage = me["intensity"] * me["damage_rate"] * tick
    surge = me["intensity"] * me["surge_rate"] * tick
    while ctx.now < end - 1e-12:
        for sid in me["services"]:
            if reached_at[sid] <= ctx.now + 1e-12:
                ctx.emit("flood_damage", sid, {"damage": damage})
                for _ in range(int(rng.poisson(surge))):
                    ctx.emit("request", sid)
        yield ctx.wait(tick)
    ctx.emit("flood_recede", ctx.id)


def on_flood_phase(w: World, ev: Event) -> None:
    w.entity(ev.target)["active"] = ev.type == "flood_onset"


def install(w: World) -> None:
    w.on("flood_onset", on_flood_phase)
    w.on("flood_recede", on_flood_phase)
