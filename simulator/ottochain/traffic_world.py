"""One generation of the traffic population as a part-1 OttoChain world (an episode).

The members (ids, wallets, traits, reputation, identity records) come in as data; the
episode runs the fibers, identity steps and the bridge; `facts()` returns what happened per
agent, as data. Agents send every signed message through the bridge (`bridge.py`), keep an
outbox of requests not yet accepted, and retry them after min(1000*2^failures, 60000) ms,
with a circuit breaker that stops all sending while open.

Agents poll at exponential intervals (a Poisson process per agent). Most polls could only
look: the agent waits for the bridge's answer, a receipt, a co-signature, or its turn in a
fiber. So after each poll an agent asks `quiet_until()`: if its next poll could neither act
nor draw from its stream unless an event touches it (what it sent, its invitations,
co-signatures, vouches, the fibers it is party to), it sleeps (`TrafficWorld.sleep`) until
such an event wakes it or until its next deadline (a fiber's timeout, a retry, a backoff, the
breaker closing). It keeps its poll times (drawn from its own stream exactly as its polls
draw them) and resumes at the first poll after the wake: the polls that run are the polls it
would have run and see the same world, so the record and its chain head are unchanged (the
test compares against agents that poll every time), with a fraction of the polls.
"""

from __future__ import annotations

import heapq
import math
import pickle
from bisect import bisect_left
from collections.abc import Generator
from functools import cached_property
from typing import Any

import networkx as nx
from simpy.core import NORMAL

from ..engine import ActorContext, Channel, Event, World
from .agents import collect_cosigns, propose
from .bridge import backoff_ms, forward, health, in_stall, make_bridge_reducer, new_bridge_state, seal
from .identity import DEFINITION, KEY, TrustIndex, identity_id, trust_graph
from .parties import Traits
from .sampling import sorted_quantile, weighted_index, weighted_sample
from .traffic_config import TrafficScenario
from .wallet import Wallet
from .world import OttoWorld, cached_definition, shared_definitions

NEGATIVE = {"reject", "dispute"}  # events that count as a violation of the sender
TICKING = object()
LOOKED_AT = ("metagraph", "identity", "fiber", "script")  # the kinds an agent observes
MARGIN = 1e-6  # a sleeper with a deadline wakes this much before it (a poll too early only looks)


class TrafficWorld(OttoWorld):
    sleeping = True  # agents with nothing pending sleep instead of polling (same record)

    def __init__(
        self,
        cfg: TrafficScenario,
        seed: int,
        members: list[dict[str, Any]],
        wallets: dict[str, Wallet],
        identities: dict[str, dict[str, Any]],
        edges: list[list[Any]],
        sinks: list | None = None,
    ) -> None:
        self.cfg = cfg
        self.members = {m["id"]: m for m in members}
        self.member_wallets = wallets
        self.identities = identities
        self.reputation = {m["id"]: m["reputation"] for m in members}
        self.ids = sorted(self.members)
        self.edges = edges
        self.trust = TrustIndex.from_edges(edges, self.ids)  # depth queries as bit sets
        self.reputation_queries = 0
        self.initiated: dict[str, dict[str, int]] = {}
        self.violations: dict[str, int] = {}
        self.backoff_total = 0
        self.held_polls = 0
        self.outboxes: dict[str, dict[str, Any]] = {}
        self._script_tx: dict[str, str] = {}
        self._sleepers: dict[str, Any] = {}  # agent -> (wake-up event, since, poll, stream) or TICKING
        self._acceptable: dict[str, list[str]] = {}
        self._reputations: list[float] | None = None
        super().__init__(cfg.episode_scenario(seed), sinks)
        # an agent's request reaches the bridge after the bridge's latency (`bridge.latency`)
        self.world.latency.set("agent", "bridge", "bridge", Channel(base=cfg.bridge.latency))
        channels = [self.world.latency.channel("agent", k, "observe") for k in LOOKED_AT]
        self._instant = all(
            not (c.base or c.congestion or (c.scale and c.dist != "fixed")) for c in channels
        )
        for etype, reducer in list(self.world.reducers.items()):
            self.world.reducers[etype] = self._waking(reducer)

    def _populate(self) -> None:
        w = self.world
        self.ledger.define(KEY, cached_definition(shared_definitions(self.scenario) / DEFINITION, True))
        w.entities["metagraph"].update({"seen": {}, "duplicates": 0})
        w.register("bridge", "bridge", new_bridge_state())
        w.on(
            "bridge",
            make_bridge_reducer(self.cfg.bridge, self.scenario.metagraph.snapshot_interval, w.rng("bridge")),
        )
        w.on("forward", forward)
        w.on("seal", seal)
        w.register("identity", "service", {"attestations": [], "vouches": []})
        w.on("attest", _attest)
        w.on("vouch", _vouch)
        for aid, m in self.members.items():
            wallet = self.member_wallets[aid]
            self.wallets[aid] = wallet
            self.address_of[aid] = wallet.address
            self.traits[aid] = Traits(m["traits"]["cooperativeness"], 0.7)
            w.register(
                aid,
                "agent",
                {"address": wallet.address, "fibers": [], "invites": {}, "cosigns": {}, "vouches": {}},
            )
        for fid, rec in sorted(self.identities.items()):
            rec = pickle.loads(pickle.dumps(rec, pickle.HIGHEST_PROTOCOL))  # a deep copy, faster
            self.ledger.fibers[fid] = rec
            w.register(fid, "identity", rec)
        self.agent_of = {addr: aid for aid, addr in self.address_of.items()}
        w.spawn("metagraph", self._metagraph)
        for aid in self.members:
            w.spawn(aid, lambda ctx: traffic_agent(self, ctx))

    def _metagraph(self, ctx: ActorContext) -> Generator[Any, Any, None]:
        """Seals a snapshot every interval, except while stalled (the fault schedule)."""
        interval = self.scenario.metagraph.snapshot_interval
        while True:
            yield ctx.wait(interval)
            if not in_stall(self.cfg.bridge, ctx.now):
                ctx.emit("seal", "metagraph")

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The trust graph (networkx), built when asked: `trust` answers the depth queries."""
        return trust_graph(self.edges, self.ids)

    def acceptable_to(self, aid: str) -> list[str]:
        """The other members `aid` would deal with (`identity.acceptable`, tested equal);
        reputation and traits are fixed within a generation, so each agent's answer is computed
        once, and the reputations are sorted once."""
        if aid not in self._acceptable:
            if self._reputations is None:
                self._reputations = sorted(float(r) for r in self.reputation.values())
            xs = self._reputations.copy()
            del xs[bisect_left(xs, float(self.reputation[aid]))]  # the others' reputations, sorted
            tolerance = self.members[aid]["traits"]["risk_tolerance"]
            cutoff = sorted_quantile(xs, (1.0 - tolerance) * 0.5) if xs else math.inf
            self._acceptable[aid] = [a for a in self.ids if a != aid and self.reputation[a] >= cutoff]
        return self._acceptable[aid]

    # -- sleeping agents ------------------------------------------------------------------------
    def _waking(self, reducer: Any) -> Any:
        """The reducer, then a wake-up for a sleeping agent the event is from or for (and for
        the counterparties of an abandoned fiber, whose invitations it withdraws)."""

        def apply(world: World, event: Event) -> Any:
            out = reducer(world, event)
            if self._sleepers:
                self.wake(event.target)
                self.wake(event.source)
                if event.type == "abandon":
                    for aid in event.payload["counterparties"]:
                        self.wake(aid)
            return out

        return apply

    def wake(self, aid: str) -> None:
        """End `aid`'s sleep: it resumes at its first poll time after now (drawn from its own
        stream here, as it would draw them on waking: nothing else draws from it meanwhile).
        The sleep's event is put on SimPy's queue at exactly that time: a timeout lands at now +
        delay, and not every time is such a sum from a time other than the previous poll's."""
        sleeper = self._sleepers.pop(aid, None)
        if sleeper is None or sleeper is TICKING:
            return
        event, start, poll, rng = sleeper
        env = self.world.env
        t, now = start, env._now
        while (t := t + float(rng.exponential(poll))) <= now:
            pass
        event._ok, event._value = True, None
        heapq.heappush(env._queue, (t, NORMAL, next(env._eid), event))

    def sleep(self, ctx: ActorContext, poll: float, until: float = math.inf) -> Generator[Any, Any, None]:
        """Skip the agent's polls until the first poll after a wake-up (an event that touched
        the agent) or after `until` less `MARGIN` (a poll too early only looks). The poll
        times are drawn from the agent's stream as its polls draw them, so the polls that do
        run are the polls it would have run. While the metagraph may stall, the agent ticks
        through its poll times instead (a skipped poll may count in `held_polls`)."""
        aid, env = ctx.id, self.world.env
        if self.cfg.bridge.stall_fraction > 0:
            yield from self._tick(ctx, poll, until)
            return
        start = ctx.now
        wake = env.event()
        sleeper = self._sleepers[aid] = (wake, start, poll, ctx.rng)
        if until < self.cfg.episode:
            timer = env.timeout(max(until - MARGIN - start, 0.0))
            timer.callbacks.append(lambda _: self._sleepers.get(aid) is sleeper and self.wake(aid))
        yield wake  # `wake` schedules it at the poll time

    def _tick(self, ctx: ActorContext, poll: float, until: float) -> Generator[Any, Any, None]:
        aid, interval = ctx.id, self.scenario.metagraph.snapshot_interval
        self._sleepers[aid] = TICKING
        while True:
            yield ctx.wait(float(ctx.rng.exponential(poll)))
            if aid not in self._sleepers or ctx.now >= until - MARGIN:
                break
            if not health(self.world.entities["metagraph"], ctx.now, interval)["producing"]:
                self.held_polls += 1  # what the skipped poll would have counted
        self._sleepers.pop(aid, None)

    def look(self, ctx: ActorContext, ids: list[str]) -> dict[str, Any] | None:
        """What `yield ctx.observe(ids)` returns, at once, when every channel an agent observes
        through has no latency (fixed at zero, the scenario's setting), else None (then yield
        the observe). The yield would only resume the agent at the same instant, after the
        events queued for that instant: at an agent's poll (an instant of its own, a sum of
        exponential draws) those are its own zero-delay requests to the bridge, which change
        nothing it looks at. So it sees the same and does the same (every CSV column but the
        episode head is unchanged, tested); only the bridge's records of those requests now
        follow the agent's other sends of that instant instead of preceding them. The states
        are the live ones, not copies: reducers run only between process steps, and the agent
        reads them before it next yields. One process switch and one copy fewer per look.
        With a bridge latency (the scenario's 0.2 s) no request reaches the bridge at that
        instant, and the record is the same to the byte (tested)."""
        if not self._instant:
            return None
        entities = self.world.entities
        return {eid: entities[eid] for eid in ids}

    def send(self, ctx: ActorContext, message: dict[str, Any], proofs: list[dict[str, str]]) -> str:
        """Queue a signed message in the agent's outbox; the agent's loop sends it via the bridge."""
        count = self.tx_counter[ctx.id] = self.tx_counter.get(ctx.id, 0) + 1
        tx = {"id": f"{ctx.id}-{count}", "message": message, "proofs": proofs}
        item = {"tx": tx, "n": count, "attempt": 0, "sent": False, "after": None}
        if message["kind"] == "script":
            self._script_tx[message["fiberId"]] = tx["id"]
        elif message["kind"] == "create":  # a game machine waits until its oracle script is applied
            item["after"] = self._script_tx.get(message["data"].get("oracleFiberId", ""))
        self.outboxes[ctx.id][tx["id"]] = item
        return tx["id"]

    def _apply(self, world: World, event: Event) -> None:
        tx = world.entities["metagraph"]["inflight"][event.payload["tx"]]
        super()._apply(world, event)
        mg = world.entities["metagraph"]
        self.wake(tx["id"].rsplit("-", 1)[0])  # the sender: its receipt is in
        if event.payload["result"] == "accepted":
            for addr in tx["message"].get("parties", ()):
                self.wake(self.agent_of.get(addr, ""))
            for fid in self.last_touched:  # the parties of every fiber it changed
                for addr in self.ledger.fibers[fid].get("parties", ()):
                    self.wake(self.agent_of.get(addr, ""))
            applied = mg.setdefault("applied", {})
            applied[tx["id"]] = applied.get(tx["id"], 0) + 1
            msg = tx["message"]
            if msg.get("eventName") == "receive_vouch":
                p = msg["payload"]
                world.entity("identity")["vouches"].append([p["from"], p["to"], p["weight"]])

    # -- after the run ------------------------------------------------------------------------
    def facts(self) -> dict[str, Any]:
        """Per agent: fibers, completed, types, counterparties, earnings, identity counts."""
        w = self.world
        per = {
            a: {
                "fibers": 0,
                "completed": 0,
                "types": set(),
                "counterparties": set(),
                "earnings": 0.0,
                "self_attest": 0,
                "verified": 0,
                "vouch_given": 0,
                "vouch_received": 0,
                "violations": self.violations.get(a, 0),
            }
            for a in self.members
        }
        by_type: dict[str, dict[str, int]] = {}
        for fid, kind in w.kinds.items():
            if kind != "fiber":
                continue
            rec = w.entities[fid]
            ftype = self.types[rec["fiber_type"]]
            done = bool(ftype.completed(rec))
            row = by_type.setdefault(ftype.name, {"created": 0, "completed": 0})
            row["created"] += 1
            row["completed"] += done
            ids = [self.agent_of[p] for p in rec["parties"]]
            for aid in ids:
                s = per[aid]
                s["fibers"] += 1
                s["completed"] += done
                s["types"].add(ftype.name)
                s["counterparties"].update(x for x in ids if x != aid)
            if done:
                for aid, amount in _transfers(ftype.name, rec["data"], self.agent_of):
                    per[aid]["earnings"] += amount
        reg = w.entities["identity"]
        for att in reg["attestations"]:
            per[att["subject"]]["self_attest" if att["type"] == "skill" else "verified"] += 1
        for src, dst, _ in reg["vouches"]:
            per[src]["vouch_given"] += 1
            per[dst]["vouch_received"] += 1
        for s in per.values():
            s["new_attestations"] = s["self_attest"] + s["verified"] + s["vouch_received"]
        mg = w.entities["metagraph"]
        sent = set(self.tx_counter_ids())
        receipted = set(mg["receipts"])
        outstanding = {t for box in self.outboxes.values() for t in box}
        in_mempool = {tx["id"] for tx in mg["pending"]} | set(mg["inflight"])
        return {
            "agents": per,
            "by_type": by_type,
            "initiated": self.initiated,
            "identities": {  # the episode is over: its records are handed on as they are
                f: self.ledger.fibers[f] for f in sorted(self.ledger.fibers) if f.startswith("identity-")
            },
            "vouches": [list(v) for v in reg["vouches"]],
            "bridge": dict(w.entities["bridge"]["counts"]),
            "health": health(mg, w.now, self.scenario.metagraph.snapshot_interval),
            "duplicates": mg["duplicates"],
            "double_applied": sum(1 for c in mg.get("applied", {}).values() if c > 1),
            "lost": len(sent - receipted - outstanding - in_mempool),
            "outstanding": len(outstanding) + len(in_mempool - receipted),
            "backoff_ms": self.backoff_total,
            "held_polls": self.held_polls,
            "reputation_queries": self.reputation_queries,
            "attestations": len(reg["attestations"]) + len(reg["vouches"]),
        }

    def tx_counter_ids(self) -> list[str]:
        return [f"{aid}-{i}" for aid, n in self.tx_counter.items() for i in range(1, n + 1)]



def _transfers(name: str, data: dict[str, Any], agent_of: dict[str, str]) -> list[tuple[str, float]]:
    """Net token movements of a completed fiber: (agent, amount) pairs that sum to zero."""
    if name == "SimpleOrder":
        pay, payer, payee = data.get("total", 0), data.get("customer"), data.get("seller")
    elif name == "TokenEscrow":
        pay, payer, payee = data.get("amount", 0), data.get("depositor"), data.get("beneficiary")
    elif name == "Auction":
        pay, payer, payee = data.get("highBid") or 0, data.get("highBidder"), data.get("seller")
    else:
        return []
    if payer not in agent_of or payee not in agent_of:
        return []
    return [(agent_of[payer], -float(pay)), (agent_of[payee], float(pay))]


def _attest(world: World, event: Event) -> None:
    world.entity("identity")["attestations"].append(event.payload)


def _vouch(world: World, event: Event) -> None:
    """A signed vouch handed to its subject, who records it on its identity fiber."""
    p = event.payload
    world.entity(event.target)["vouches"][f"{p['from']}/{p['fiber']}"] = p


def traffic_agent(sim: TrafficWorld, ctx: ActorContext) -> Generator[Any, Any, None]:
    cfg = sim.cfg
    beh = cfg.behaviour
    rng = ctx.rng
    me = sim.address_of[ctx.id]
    member = sim.members[ctx.id]
    traits = member["traits"]
    wallet = sim.wallets[ctx.id]
    poll = beh.poll_interval * (1.6 - traits["response_speed"])
    interval = sim.scenario.metagraph.snapshot_interval
    initiate_until = cfg.episode * cfg.initiate_window
    outbox = sim.outboxes.setdefault(ctx.id, {})
    waiting: dict[str, str] = {}
    proposals: dict[str, dict[str, Any]] = {}
    answered: set[str] = set()
    vouched: set[str] = set()
    recorded_vouches: set[str] = set()
    completions: set[str] = set()
    initiated = 0
    failures = 0
    open_until = 0.0
    fails: dict[str, int] = {}
    retry_at: dict[str, float] = {}
    ident = identity_id(ctx.id)
    ident_ready = False  # active and attested: the identity needs a look only for new work
    finished: set[str] = set()  # fibers seen in a final state
    attested = member.get("attested", False)
    state = sim.world.entities[ctx.id]
    entities = sim.world.entities
    stall = cfg.bridge.stall_fraction > 0

    def quiet_until() -> float | None:
        """Until when the next poll could only look, unless an event touches the agent (what
        it sent, its invitations, co-signatures, vouches, fibers): a time, math.inf, or None
        when the next poll may act or draw from the agent's stream. Read from the live world,
        which is what the next poll would observe."""
        now = ctx.now
        receipts = entities["metagraph"]["receipts"]
        responses = entities["bridge"]["responses"]
        until = math.inf
        for txid, item in outbox.items():
            if txid in receipts:
                return None
            if item["sent"]:
                if f"{txid}#{item['attempt']}" in responses:
                    return None
                continue
            if stall:
                return None
            if item["after"] and receipts.get(item["after"]) != "accepted":
                continue
            ready = max(open_until, item.get("not_before", 0.0))
            if ready <= now:
                return None
            until = min(until, ready)
        if any(txid not in outbox and txid in receipts for txid in waiting.values()):
            return None
        if now < open_until:
            return min(until, open_until)
        busy = completions or len(state["vouches"]) > len(recorded_vouches)
        if ident not in waiting and (not ident_ready or busy):
            return None
        if any(f not in answered for f in state["invites"]):
            return None
        for fid, prop in proposals.items():
            answers = state["cosigns"].get(fid, {})
            others = prop["parties"][1:]
            if any(answers.get(p, 0) is None for p in others) or all(p in answers for p in others):
                return None
            until = min(until, prop["at"] + beh.timeout)
        if initiated < cfg.fibers_per_agent and now < initiate_until:
            return None
        for fid in state["fibers"]:
            if fid in waiting or fid in finished:
                continue
            if retry_at.get(fid, 0.0) > now:
                until = min(until, retry_at[fid])
                continue
            fiber = entities[fid]
            if fiber["final"]:
                return None
            oracle = fiber["data"].get("oracleFiberId")
            views = {oracle: entities[oracle]} if oracle in entities else {}
            role = fiber["parties"].index(me)
            q = sim.types[fiber["fiber_type"]].quiet_until(role, me, fiber, views, beh.timeout)
            if q is None or q <= now:
                return None
            until = min(until, q)
        return until

    while ctx.now < cfg.episode:
        until = quiet_until() if sim.sleeping else None
        if until is not None:
            yield from sim.sleep(ctx, poll, until)
        else:
            yield ctx.wait(float(rng.exponential(poll)))
        looks = ["metagraph", "bridge", ctx.id]
        obs = sim.look(ctx, looks) or (yield ctx.observe(looks))
        receipts = obs["metagraph"]["receipts"]
        responses = obs["bridge"]["responses"]
        # 1. the bridge's answers: a failure opens the breaker for the backoff (the outbox is
        # in the order of the messages' numbers: `send` adds them in that order)
        for txid in list(outbox):
            item = outbox[txid]
            if txid in receipts:
                del outbox[txid]
                continue
            if not item["sent"]:
                continue
            answer = responses.get(f"{txid}#{item['attempt']}")
            if answer == "ok":
                del outbox[txid]
                failures = 0
            elif answer is not None:  # outage, error or a lost answer: send again later
                item["sent"] = False
                failures += 1
                wait_ms = backoff_ms(failures)
                sim.backoff_total += wait_ms
                if failures >= cfg.bridge.breaker_threshold:
                    open_until = max(open_until, ctx.now + wait_ms / 1000)
                item["not_before"] = ctx.now + wait_ms / 1000
        producing = round(ctx.now - obs["metagraph"].get("sealed_at", 0.0), 6) <= 2 * interval  # `health`
        if not producing:  # the metagraph is stalled: hold the outbox (not a bridge failure)
            sim.held_polls += 1
        if ctx.now >= open_until and producing:
            for item in outbox.values():
                if item["after"] and receipts.get(item["after"]) != "accepted":
                    continue
                if not item["sent"] and item.get("not_before", 0.0) <= ctx.now:
                    item["attempt"] += 1
                    item["sent"] = True
                    tx = item["tx"]  # in the record once: a retry names it
                    payload = {"tx": tx} if item["attempt"] == 1 else {"ref": tx["id"]}
                    payload["attempt"] = item["attempt"]
                    ctx.emit("bridge", "bridge", payload)
        # 2. receipts of accepted requests
        for fid, txid in list(waiting.items()):
            if txid in outbox:
                continue
            if txid in receipts:
                del waiting[fid]
                if receipts[txid] == "accepted":
                    fails.pop(fid, None)
                else:
                    fails[fid] = fails.get(fid, 0) + 1
                    retry_at[fid] = ctx.now + beh.poll_interval * 2 ** min(fails[fid], 4)
        if ctx.now < open_until:
            continue
        mine = obs[ctx.id]
        # 3. identity: register, activate, attest, record vouches and completions
        busy = completions or len(mine["vouches"]) > len(recorded_vouches)
        if ident not in waiting and (not ident_ready or busy):  # only look when there is work
            view = None
            if ident in sim.world.entities:
                view = (sim.look(ctx, [ident]) or (yield ctx.observe([ident])))[ident]
            if view is None and ident not in sim.ledger.fibers:
                msg = {
                    "kind": "create",
                    "fiberId": ident,
                    "definition": KEY,
                    "type": "Identity",
                    "parties": [me],
                    "data": {"agent": me, "reputation": 10, "status": "REGISTERED"},
                }
                waiting[ident] = sim.send(ctx, msg, [wallet.sign(msg)])
            elif view is not None and view["state"] == "REGISTERED":
                waiting[ident] = _identity_event(sim, ctx, view, "activate", {"agent": me})
            elif view is not None and view["state"] == "ACTIVE":
                ident_ready = True
                if not attested:
                    attested = True
                    fav = max(sorted(traits["fiber_weights"]), key=lambda t: traits["fiber_weights"][t])
                    ctx.emit(
                        "attest",
                        "identity",
                        {"subject": ctx.id, "type": "skill", "claim": f"{fav}-specialist"},
                    )
                    if rng.random() < cfg.identity.verify_probability:
                        ctx.emit(
                            "attest",
                            "identity",
                            {"subject": ctx.id, "type": "verification", "provider": "sim-oracle"},
                        )
                pending = sorted(set(mine["vouches"]) - recorded_vouches)
                if pending:
                    v = mine["vouches"][pending[0]]
                    recorded_vouches.add(pending[0])
                    payload = {"from": v["from"], "to": ctx.id, "weight": v["weight"], "claim": v["claim"]}
                    waiting[ident] = _identity_event(sim, ctx, view, "receive_vouch", payload)
                elif completions:
                    fid = sorted(completions)[0]
                    completions.discard(fid)
                    waiting[ident] = _identity_event(sim, ctx, view, "receive_completion", {"fiber": fid})
        if mine["invites"]:
            _answer(sim, ctx, mine["invites"], answered)
        if proposals:
            collect_cosigns(sim, ctx, proposals, mine["cosigns"], waiting)
        if (
            initiated < cfg.fibers_per_agent
            and ctx.now < initiate_until
            and rng.random() < traits["activity"]
        ):
            initiated += 1
            _initiate(sim, ctx, initiated, waiting, proposals)
        fids = [
            f
            for f in mine["fibers"]
            if f not in waiting and f not in finished and retry_at.get(f, 0.0) <= ctx.now
        ]
        if not fids:
            continue
        views = sim.look(ctx, fids) or (yield ctx.observe(fids))
        extra_ids = sorted({v["data"].get("oracleFiberId") for v in views.values()} - {None})
        extra_ids = [x for x in extra_ids if x in sim.world.entities]
        extra = (sim.look(ctx, extra_ids) or (yield ctx.observe(extra_ids))) if extra_ids else {}
        for fid in fids:
            fiber = views[fid]
            ftype = sim.types[fiber["fiber_type"]]
            if fiber["final"]:
                finished.add(fid)
                if fid not in vouched:
                    vouched.add(fid)
                    if ftype.completed(fiber):
                        completions.add(fid)
                        for addr in fiber["parties"]:
                            other = sim.agent_of[addr]
                            if addr == me:
                                continue
                            if rng.random() < traits["cooperativeness"]:
                                weight = round(0.5 + 0.5 * float(rng.random()), 3)
                                claim = {
                                    "from": ctx.id,
                                    "to": other,
                                    "claim": "trustworthy",
                                    "weight": weight,
                                    "fiber": fid,
                                }
                                ctx.emit("vouch", other, {**claim, "proof": wallet.sign(claim)})
                continue
            role = fiber["parties"].index(me)
            action = ftype.respond(role, me, fiber, extra, sim.traits[ctx.id], rng, ctx.now, beh.timeout)
            if action is None:
                continue
            name, payload = action
            if name in NEGATIVE or (name == "cancel" and payload.get("reason") == "seller declined"):
                sim.violations[ctx.id] = sim.violations.get(ctx.id, 0) + 1
            message = {
                "kind": "event",
                "fiberId": fid,
                "eventName": name,
                "payload": payload,
                "targetSequence": fiber["sequence"],
            }
            waiting[fid] = sim.send(ctx, message, [wallet.sign(message)])


def _identity_event(
    sim: TrafficWorld, ctx: ActorContext, view: dict[str, Any], name: str, payload: dict[str, Any]
) -> str:
    message = {
        "kind": "event",
        "fiberId": view["id"],
        "eventName": name,
        "payload": payload,
        "targetSequence": view["sequence"],
    }
    return sim.send(ctx, message, [sim.wallets[ctx.id].sign(message)])


def _answer(sim: TrafficWorld, ctx: ActorContext, invites: dict[str, Any], answered: set[str]) -> None:
    """Co-sign or refuse each invitation; a risk-averse agent also refuses an initiator whose
    reputation it would avoid."""
    me = sim.address_of[ctx.id]
    for fid in sorted(invites):
        if fid in answered:
            continue
        answered.add(fid)
        inv = invites[fid]
        sim.reputation_queries += 1
        trusted = inv["from"] in sim.acceptable_to(ctx.id)
        role = inv["parties"].index(me)
        agree = trusted and sim.types[inv["type"]].cosign(role, inv, sim.traits[ctx.id], ctx.rng)
        proofs = [sim.wallets[ctx.id].sign(m) for m in inv["messages"]] if agree else None
        ctx.emit("cosign", inv["from"], {"fid": fid, "type": inv["type"], "signer": me, "proofs": proofs})


def _initiate(
    sim: TrafficWorld,
    ctx: ActorContext,
    n: int,
    waiting: dict[str, str],
    proposals: dict[str, dict[str, Any]],
) -> None:
    """Start a fiber of a type drawn from the agent's fiber weights, with counterparties chosen
    by reputation (as its risk tolerance says) and preferring those its trust graph reaches:
    weight 3 for agents it vouched for, 2 within `trust_depth` vouches, 1 for the rest."""
    rng = ctx.rng
    traits = sim.members[ctx.id]["traits"]
    names = [t for t in sorted(traits["fiber_weights"]) if t in sim.mix]
    weights = [traits["fiber_weights"][t] for t in names]
    total = sum(weights)
    if total <= 0:
        return
    name = names[weighted_index(rng, [w / total for w in weights])]  # rng.choice's draw
    sim.initiated.setdefault(ctx.id, {})
    sim.initiated[ctx.id][name] = sim.initiated[ctx.id].get(name, 0) + 1
    ftype = sim.types[name]
    sim.reputation_queries += 1
    pool = sim.acceptable_to(ctx.id)
    if len(pool) < ftype.counterparties:
        pool = [a for a in sim.ids if a != ctx.id]
    vouched = sim.trust.within(ctx.id, 1)
    near = sim.trust.within(ctx.id, sim.cfg.identity.trust_depth)
    index = sim.trust.index
    pw = [3.0 if vouched >> index[a] & 1 else 2.0 if near >> index[a] & 1 else 1.0 for a in pool]
    total_w = sum(pw)
    picks = weighted_sample(rng, [x / total_w for x in pw], ftype.counterparties)  # rng.choice's draws
    party_ids = [ctx.id] + [pool[i] for i in picks]
    propose(sim, ctx, name, n, party_ids, rng, waiting, proposals, sim.send)
