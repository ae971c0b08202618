"""The agents: wallet holders that start fibers, answer what is pending to them and back off
after refusals. An agent acts only through its context: it observes the metagraph's receipts
and its fibers (after the observation latency), signs messages with its wallet and submits
them; the metagraph decides when they apply. Its fiber-type logic lives in `parties.py`."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine import ActorContext

if TYPE_CHECKING:
    from .world import OttoWorld


def send(sim: OttoWorld, ctx: ActorContext, message: dict[str, Any], proofs: list[dict[str, str]]) -> str:
    """Submit `message` with its signatures (directly, or through the traffic world's bridge);
    return the message id."""
    return sim.send(ctx, message, proofs)


def answer_invitations(
    sim: OttoWorld, ctx: ActorContext, invites: dict[str, Any], answered: set[str]
) -> None:
    """Co-sign (or refuse) each create this agent is invited to, with its own wallet."""
    me = sim.address_of[ctx.id]
    for fid in sorted(invites):
        if fid in answered:
            continue
        answered.add(fid)
        inv = invites[fid]
        role = inv["parties"].index(me)
        agree = sim.types[inv["type"]].cosign(role, inv, sim.traits[ctx.id], ctx.rng)
        proofs = [sim.wallets[ctx.id].sign(m) for m in inv["messages"]] if agree else None
        payload = {"fid": fid, "type": inv["type"], "signer": me, "proofs": proofs}
        ctx.emit("cosign", inv["from"], payload)


def collect_cosigns(
    sim: OttoWorld,
    ctx: ActorContext,
    proposals: dict[str, dict[str, Any]],
    cosigns: dict[str, Any],
    waiting: dict[str, str],
) -> None:
    """Submit each proposal whose counterparties all signed; drop refused or expired ones."""
    for fid in sorted(proposals):
        prop = proposals[fid]
        answers = cosigns.get(fid, {})
        others = prop["parties"][1:]
        if any(answers.get(p, 0) is None for p in others):
            reason = "declined"
        elif all(p in answers for p in others):
            reason = ""
            for message, own in zip(prop["messages"], prop["own"], strict=True):
                proofs = [own]
                if message["kind"] == "create":
                    idx = prop["cosigned"].index(message["fiberId"])
                    proofs += [answers[p][idx] for p in others]
                waiting[message["fiberId"]] = send(sim, ctx, message, proofs)
        elif ctx.now - prop["at"] > sim.scenario.behaviour.timeout:
            reason = "timeout"
        else:
            continue
        del proposals[fid]
        if reason:
            ids = [sim.agent_of[p] for p in others]
            ctx.emit(
                "abandon", ctx.id, {"fid": fid, "type": prop["type"], "reason": reason, "counterparties": ids}
            )


def agent(sim: OttoWorld, ctx: ActorContext) -> Generator[Any, Any, None]:
    """Poll; start fibers while under quota; for each live fiber, answer with the type's logic."""
    sc = sim.scenario
    beh = sc.behaviour
    rng = ctx.rng
    me = sim.address_of[ctx.id]
    traits = sim.traits[ctx.id]
    waiting: dict[str, str] = {}  # fiber id -> id of my message not yet in a snapshot
    proposals: dict[str, dict[str, Any]] = {}  # fibers I started, awaiting co-signatures
    answered: set[str] = set()  # invitations I have answered
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
        mine = obs[ctx.id]
        if mine["invites"]:
            answer_invitations(sim, ctx, mine["invites"], answered)
        if proposals:
            collect_cosigns(sim, ctx, proposals, mine["cosigns"], waiting)
        if initiated < sc.fibers_per_agent and rng.random() < beh.activity:
            initiated += 1
            initiate(sim, ctx, initiated, rng, waiting, proposals)
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
            waiting[fid] = send(sim, ctx, message, [sim.wallets[ctx.id].sign(message)])


def create_messages(
    ftype: Any, name: str, fid: str, parties: list[str], rng: np.random.Generator
) -> list[dict]:
    """The create (and script) messages that open fiber `fid` of type `name` among `parties`."""
    return [
        {
            "kind": "script" if c.kind == "script" else "create",
            "fiberId": c.fiber_id,
            "definition": c.definition,
            "data": c.data,
            "type": name,
            "parties": parties,
        }
        for c in ftype.create(fid, parties, rng)
    ]


def initiate(
    sim: OttoWorld,
    ctx: ActorContext,
    n: int,
    rng: np.random.Generator,
    waiting: dict[str, str],
    proposals: dict[str, dict[str, Any]],
) -> None:
    """Start a fiber of a type drawn from the mix with counterparties drawn at random (`propose`)."""
    names = sorted(sim.mix)
    weights = [sim.mix[k] for k in names]
    total = sum(weights)
    name = names[int(rng.choice(len(names), p=[w / total for w in weights]))]
    ftype = sim.types[name]
    others = [a for a in sorted(sim.wallets) if a != ctx.id]
    picks = rng.choice(len(others), size=min(ftype.counterparties, len(others)), replace=False)
    party_ids = [ctx.id] + [others[int(i)] for i in picks]
    propose(sim, ctx, name, n, party_ids, rng, waiting, proposals, lambda c, m, p: send(sim, c, m, p))


def propose(
    sim: Any,
    ctx: ActorContext,
    name: str,
    n: int,
    party_ids: list[str],
    rng: np.random.Generator,
    waiting: dict[str, str],
    proposals: dict[str, dict[str, Any]],
    submit: Callable[[ActorContext, dict[str, Any], list[dict[str, str]]], str],
) -> None:
    """Open fiber `n` of type `name` among `party_ids` (the initiator first). Fixed mode: invite
    the counterparties to co-sign the create first. Upstream mode: `submit` at once, signed by
    the initiator alone (so the counterparties never become owners)."""
    parties = [sim.address_of[a] for a in party_ids]
    fid = f"{name}-{ctx.id}-{n}"
    messages = create_messages(sim.types[name], name, fid, parties, rng)
    wallet = sim.wallets[ctx.id]
    if sim.upstream:
        for message in messages:
            waiting[message["fiberId"]] = submit(ctx, message, [wallet.sign(message)])
        return
    cosigned = [m for m in messages if m["kind"] == "create"]
    proposals[fid] = {
        "type": name,
        "parties": parties,
        "messages": messages,
        "own": [wallet.sign(m) for m in messages],
        "cosigned": [m["fiberId"] for m in cosigned],
        "at": ctx.now,
    }
    for aid in party_ids[1:]:
        ctx.emit(
            "invite",
            aid,
            {"fid": fid, "type": name, "from": ctx.id, "parties": parties, "messages": cosigned},
        )
