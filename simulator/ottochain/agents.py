"""The agents: wallet holders that start fibers, answer what is pending to them and back off
after refusals. An agent acts only through its context: it observes the metagraph's receipts
and its fibers (after the observation latency), signs messages with its wallet and submits
them; the metagraph decides when they apply. Its fiber-type logic lives in `parties.py`."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine import ActorContext

if TYPE_CHECKING:
    from .world import OttoWorld


def send(sim: OttoWorld, ctx: ActorContext, signers: list[str], message: dict[str, Any]) -> str:
    """Sign `message` with each signer's wallet and submit it; return the message id."""
    count = sim.tx_counter[ctx.id] = sim.tx_counter.get(ctx.id, 0) + 1
    tx = {
        "id": f"{ctx.id}-{count}",
        "message": message,
        "proofs": [sim.wallets[s].sign(message) for s in signers],
    }
    ctx.emit("submit", "metagraph", {"tx": tx})
    return tx["id"]


def agent(sim: OttoWorld, ctx: ActorContext) -> Generator[Any, Any, None]:
    """Poll; start fibers while under quota; for each live fiber, answer with the type's logic."""
    sc = sim.scenario
    beh = sc.behaviour
    rng = ctx.rng
    me = sim.address_of[ctx.id]
    traits = sim.traits[ctx.id]
    waiting: dict[str, str] = {}  # fiber id -> id of my message not yet in a snapshot
    initiated = 0
    fails: dict[str, int] = {}
    retry_at: dict[str, float] = {}
    while ctx.now < sc.until:
        yield ctx.wait(float(rng.exponential(beh.poll_interval)))
        obs = yield ctx.observe(["metagraph", ctx.id])
        receipts = obs["metagraph"]["receipts"]
        for fid, txid in list(waiting.items()):
            if txid in receipts:
                del waiting[fid]
                if receipts[txid] == "accepted":
                    fails.pop(fid, None)
                else:  # back off exponentially before trying this fiber again
                    fails[fid] = fails.get(fid, 0) + 1
                    retry_at[fid] = ctx.now + beh.poll_interval * 2 ** min(fails[fid], 4)
        if initiated < sc.fibers_per_agent and rng.random() < beh.activity:
            initiated += 1
            initiate(sim, ctx, initiated, rng, waiting)
        fids = [f for f in obs[ctx.id]["fibers"] if f not in waiting and retry_at.get(f, 0.0) <= ctx.now]
        if not fids:
            continue
        views = yield ctx.observe(fids)
        extra_ids = sorted({v["data"].get("oracleFiberId") for v in views.values()} - {None})
        extra = (yield ctx.observe(extra_ids)) if extra_ids else {}
        for fid in fids:
            fiber = views[fid]
            if fiber["final"]:
                continue
            ftype = sim.types[fiber["fiber_type"]]
            role = fiber["parties"].index(me)
            action = ftype.respond(role, me, fiber, extra, traits, rng, ctx.now, beh.timeout)
            if action is None:
                continue
            name, payload = action
            message = {
                "kind": "event",
                "fiberId": fid,
                "eventName": name,
                "payload": payload,
                "targetSequence": fiber["sequence"],
            }
            waiting[fid] = send(sim, ctx, [ctx.id], message)


def initiate(
    sim: OttoWorld, ctx: ActorContext, n: int, rng: np.random.Generator, waiting: dict[str, str]
) -> None:
    names = sorted(sim.mix)
    weights = [sim.mix[k] for k in names]
    total = sum(weights)
    name = names[int(rng.choice(len(names), p=[w / total for w in weights]))]
    ftype = sim.types[name]
    others = [a for a in sorted(sim.wallets) if a != ctx.id]
    picks = rng.choice(len(others), size=min(ftype.counterparties, len(others)), replace=False)
    party_ids = [ctx.id] + [others[int(i)] for i in picks]
    parties = [sim.address_of[a] for a in party_ids]
    fid = f"{name}-{ctx.id}-{n}"
    for create in ftype.create(fid, parties, rng):
        # fixed mode: every party co-signs the create; upstream: the initiator alone
        signers = [ctx.id] if (sim.upstream or create.kind == "script") else party_ids
        message = {
            "kind": "script" if create.kind == "script" else "create",
            "fiberId": create.fiber_id,
            "definition": create.definition,
            "data": create.data,
            "type": name,
            "parties": parties,
        }
        waiting[create.fiber_id] = send(sim, ctx, signers, message)
