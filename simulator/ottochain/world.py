"""The OttoChain world on the kernel: agents with wallets, the metagraph service and the
fiber ledger, applied by reducers.

Events: `submit` (an agent's signed message reaches the metagraph's mempool), `snapshot`
(the metagraph seals the mempool into the next ordinal) and `apply` (one message of a
snapshot checked and applied by the fiber engine; its payload gains `result`). A caller sees
its transition only once its snapshot exists: fibers and receipts change at `apply`.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..engine import Channel, Event, LatencyModel, RecordLayout, World
from ..scenario import ScenarioError
from .agents import agent
from .config import OttoScenario
from .definition import DefinitionError, Machine, Script, load_definition, parse_machine
from .engine import Ledger, Outcome
from .parties import TTT_ORACLE, FiberType, Traits, fiber_types
from .wallet import Wallet, canonical, verify

LAYOUT_FIELDS = ("fiber_type", "state", "sequence", "final")
INVALID_SIGNATURE = "invalid signature"
EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: $timestamp = this + simulated ms


@lru_cache(maxsize=256)
def _load(path: str, stamp: tuple[int, int], extensions: bool) -> Machine | Script:
    return load_definition(path, extensions)


@lru_cache(maxsize=1024)
def _bound(path: str, stamp: tuple[int, int], oracle: str, extensions: bool) -> Machine:
    """The machine at `path` with the published oracle id replaced by `oracle` (one game's)."""
    text = Path(path).read_text().replace(TTT_ORACLE, oracle)
    return parse_machine(json.loads(text), path, extensions)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def cached_definition(path: Path, extensions: bool) -> Machine | Script:
    """`load_definition`, read and checked once per file version: every generation of a
    population loads the same definitions (and keeps their compiled logic)."""
    if not path.is_file():
        return load_definition(path, extensions)  # its error
    return _load(str(path), _stamp(path), extensions)


def shared_definitions(scenario: OttoScenario) -> Path:
    if scenario.definitions:
        return Path(scenario.definitions)
    return Path(__file__).resolve().parents[2].parent / "shared" / "ottochain"


class OttoWorld:
    """Builds and holds the World, the ledger, the agents' wallets and traits."""

    def __init__(self, scenario: OttoScenario, sinks: list | None = None) -> None:
        self.scenario = scenario
        latency = LatencyModel()
        latency.set("agent", "metagraph", "submit", Channel(base=scenario.metagraph.submit_latency))
        latency.set("agent", "agent", "*", Channel(base=scenario.behaviour.cosign_latency))
        layout = RecordLayout(kinds=("fiber",), fields=LAYOUT_FIELDS, id_column="fiber", mode="changed")
        self.world = World(scenario.seed, latency=latency, layout=layout, sinks=sinks or [])
        self.ledger = Ledger(scenario.extensions, records={})
        self.types: dict[str, FiberType] = fiber_types(scenario.voters, scenario.bidders)
        self.mix = {k: v for k, v in scenario.fiber_mix.items() if v > 0}
        self._templates: dict[str, Machine] = {}
        self._load_definitions()
        self.wallets: dict[str, Wallet] = {}
        self.traits: dict[str, Traits] = {}
        self.address_of: dict[str, str] = {}
        self.upstream = scenario.mode == "upstream"
        self.tx_counter: dict[str, int] = {}
        self.last_touched: list[str] = []  # the fibers the last accepted message changed
        w = self.world
        w.register(
            "metagraph",
            "metagraph",
            {"ordinal": 0, "pending": [], "inflight": {}, "receipts": {}, "rejections": {}},
        )
        w.on("submit", _submit)
        w.on("snapshot", _snapshot)
        w.on("apply", self._apply)
        w.register("cosigning", "service", {"invitations": {}, "refusals": {}, "refused": {}, "expired": {}})
        w.on("invite", _invite)
        w.on("cosign", _cosign)
        w.on("abandon", _abandon)
        self._populate()

    def _populate(self) -> None:
        """Register the agents (wallet, traits) and start their processes and the metagraph's."""
        scenario, w = self.scenario, self.world
        low, high = scenario.behaviour.cooperativeness
        for i in range(scenario.agents):
            aid = f"agent_{i + 1:03d}"
            wallet = Wallet.from_seed_bytes(f"{scenario.seed}/{aid}".encode())
            rng = w.rng(f"traits/{aid}")
            self.wallets[aid] = wallet
            self.address_of[aid] = wallet.address
            self.traits[aid] = Traits(float(rng.uniform(low, high)), float(rng.uniform(0.4, 0.95)))
            w.register(aid, "agent", {"address": wallet.address, "fibers": [], "invites": {}, "cosigns": {}})
        self.agent_of = {addr: aid for aid, addr in self.address_of.items()}
        w.spawn("metagraph", self._metagraph)
        for aid in self.wallets:
            w.spawn(aid, lambda ctx: agent(self, ctx))

    # -- definitions ---------------------------------------------------------------------------
    def _load_definitions(self) -> None:
        root = shared_definitions(self.scenario)
        if not root.is_dir():
            raise ScenarioError(
                f"definitions: {root} is not a folder of OttoChain definitions "
                "(set `definitions:` or place shared/ottochain beside the repository)"
            )
        for name in self.mix:
            for key, rel in self.types[name].files.items():
                d = cached_definition(root / rel, self.scenario.extensions)
                self.ledger.define(key, d)
                if isinstance(d, Machine):
                    self._templates[key] = d

    def ensure_definition(self, key: str) -> str:
        """`TicTacToe@<oracle>`: the published machine with its oracle id bound to this game."""
        base, _, oracle = key.partition("@")
        if key in self.ledger.definitions or base not in self._templates or not oracle:
            return key  # an unknown name is refused by the ledger as "unknown definition"
        src = Path(self._templates[base].source)
        try:  # the same game id recurs in later generations (an agent's n-th fiber)
            self.ledger.define(key, _bound(str(src), _stamp(src), oracle, self.scenario.extensions))
        except DefinitionError as exc:
            raise ScenarioError(str(exc)) from None
        return key

    def send(self, ctx, message: dict[str, Any], proofs: list[dict[str, str]]) -> str:
        """Submit `message` with its signatures to the metagraph; return the message id."""
        count = self.tx_counter[ctx.id] = self.tx_counter.get(ctx.id, 0) + 1
        tx = {"id": f"{ctx.id}-{count}", "message": message, "proofs": proofs}
        ctx.emit("submit", "metagraph", {"tx": tx})
        return tx["id"]

    # -- the metagraph service -------------------------------------------------------------------
    def _metagraph(self, ctx) -> Generator[Any, Any, None]:
        interval = self.scenario.metagraph.snapshot_interval
        while True:
            yield ctx.wait(interval)
            ctx.emit("snapshot", "metagraph")

    def _apply(self, world: World, event: Event) -> None:
        mg = world.entity("metagraph")
        tx = mg["inflight"].pop(event.payload["tx"])
        msg = tx["message"]
        signers = []
        try:
            data = canonical(msg)  # once for all the proofs
        except (TypeError, ValueError):
            data = None  # each verify then fails on its own
        for proof in tx["proofs"]:
            addr = verify(proof, msg, data)
            if addr is None:
                signers = None
                break
            signers.append(addr)
        env = {"ordinal": event.payload["ordinal"], "timestamp": EPOCH_MS + int(world.now * 1000)}
        if signers is None:
            out = Outcome(False, msg.get("fiberId", ""), INVALID_SIGNATURE, "a proof does not verify")
        elif msg["kind"] == "script":
            out = self.ledger.create_script(msg["fiberId"], msg["definition"], signers, None)
        elif msg["kind"] == "create":
            out = self.ledger.create(
                msg["fiberId"], self.ensure_definition(msg["definition"]), msg["data"], signers
            )
        else:
            out = self.ledger.process(
                msg["fiberId"], msg["eventName"], msg["payload"], signers, msg["targetSequence"], env
            )
        result = "accepted" if out.accepted else out.reason
        self.last_touched = out.touched
        mg["receipts"][tx["id"]] = result
        event.payload["result"] = result
        if not out.accepted:
            fiber = self.ledger.fibers.get(msg.get("fiberId", ""))
            ftype = msg.get("type") or (fiber or {}).get("fiber_type", "?")
            by_reason = mg["rejections"].setdefault(ftype, {})
            by_reason[result] = by_reason.get(result, 0) + 1
            return
        for fid in out.touched:
            rec = self.ledger.fibers[fid]
            if fid not in world.entities:
                rec.update(
                    {
                        "id": fid,
                        "fiber_type": msg.get("type", ""),
                        "parties": msg.get("parties", []),
                        "changed_at": world.now,
                        "tally": {},
                        "created_at": world.now,
                    }
                )
                if rec["kind"] == "script":
                    world.register(fid, "script", rec)
                elif msg.get("type") == "Identity":
                    world.register(fid, "identity", rec)
                else:
                    world.register(fid, "fiber", rec)
                    world.entity(fid)
                    for addr in rec["parties"]:
                        aid = self.agent_of.get(addr)
                        if aid:
                            world.entity(aid)["fibers"].append(fid)
            else:
                world.entity(fid)
                rec["changed_at"] = world.now
        if msg["kind"] == "event":
            tally = self.ledger.fibers[msg["fiberId"]]["tally"]
            tally[msg["eventName"]] = tally.get(msg["eventName"], 0) + 1


def _submit(world: World, event: Event) -> None:
    world.entity("metagraph")["pending"].append(event.payload["tx"])


def _snapshot(world: World, event: Event) -> list[Event]:
    mg = world.entity("metagraph")
    mg["ordinal"] += 1
    batch, mg["pending"] = mg["pending"], []
    follow = []
    for tx in batch:
        mg["inflight"][tx["id"]] = tx
        follow.append(
            Event("apply", "metagraph", tx["message"]["fiberId"], {"tx": tx["id"], "ordinal": mg["ordinal"]})
        )
    return follow


def _count(table: dict[str, int], key: str) -> None:
    table[key] = table.get(key, 0) + 1


def _invite(world: World, event: Event) -> None:
    """An initiator asks a counterparty to co-sign the create (off-chain, agent to agent)."""
    world.entity(event.target)["invites"][event.payload["fid"]] = event.payload
    _count(world.entity("cosigning")["invitations"], event.payload["type"])


def _cosign(world: World, event: Event) -> None:
    """A counterparty's answer: its proofs, or None for a refusal."""
    p = event.payload
    world.entity(event.source)["invites"].pop(p["fid"], None)
    world.entity(event.target)["cosigns"].setdefault(p["fid"], {})[p["signer"]] = p["proofs"]
    if p["proofs"] is None:
        _count(world.entity("cosigning")["refusals"], p["type"])


def _abandon(world: World, event: Event) -> None:
    """An initiator drops a fiber it could not get co-signed (refused or timed out)."""
    p = event.payload
    world.entity(event.source)["cosigns"].pop(p["fid"], None)
    _count(world.entity("cosigning")["refused" if p["reason"] == "declined" else "expired"], p["type"])
    if p["reason"] == "timeout":
        for party in p["counterparties"]:
            world.entity(party)["invites"].pop(p["fid"], None)
