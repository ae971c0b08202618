"""The seven fiber types and each party's response logic, as plain functions over data.

A fiber type knows its published definition, how its initiator creates a fiber (the data
and who must sign the create), what each party answers when something is pending to it,
and how to read the outcome. Role 0 is the initiator; roles 1.. are the counterparties.
`respond` returns `(eventName, payload)` or None; it never touches the world, so the same
logic serves the population here and the evolving population of part 2.

Upstream the traffic generator had only the initiator sign creates, so counterparties were
never owners and every step they took was refused ("not signed by owner").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Action = tuple[str, dict[str, Any]] | None
NEVER = math.inf
TTT_ORACLE = "11111111-1111-1111-1111-111111111111"  # the oracle id the published definition names
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


@dataclass(frozen=True)
class Traits:
    cooperativeness: float = 0.9
    skill: float = 0.7


@dataclass(frozen=True)
class Create:
    """One fiber to create: a script ("oracle") or a machine, its data and required signers."""

    fiber_id: str
    definition: str
    data: dict[str, Any]
    signers: tuple[str, ...]
    kind: str = "machine"


class FiberType:
    name = ""
    files: dict[str, str] = {}  # definition key -> path under the definitions folder
    success: frozenset[str] = frozenset()
    counterparties = 1

    def create(self, fid: str, parties: list[str], rng: np.random.Generator) -> list[Create]:
        raise NotImplementedError

    def respond(
        self,
        role: int,
        me: str,
        fiber: dict[str, Any],
        views: dict[str, Any],
        traits: Traits,
        rng: np.random.Generator,
        now: float,
        timeout: float,
    ) -> Action:
        raise NotImplementedError

    def quiet_until(
        self, role: int, me: str, fiber: dict[str, Any], views: dict[str, Any], timeout: float
    ) -> float | None:
        """Until when `respond` surely returns None without drawing from `rng`, as long as the
        fiber (and `views`) do not change: a time (a timeout that will fire then), `NEVER`, or
        None when it may act or draw now. Lets an agent sleep instead of polling (same record)."""
        return None

    def cosign(self, role: int, invitation: dict[str, Any], traits: Traits, rng: np.random.Generator) -> bool:
        """Whether a counterparty co-signs the create it is invited to (and so becomes an owner)."""
        return bool(rng.random() < 0.5 + traits.cooperativeness / 2)

    def outcome(self, fiber: dict[str, Any], views: dict[str, Any] | None = None) -> str:
        return fiber["state"] if fiber["final"] else f"stuck in {fiber['state']}"

    def completed(self, fiber: dict[str, Any]) -> bool:
        return fiber["final"] and fiber["state"] in self.success


def stale(fiber: dict[str, Any], now: float, timeout: float) -> bool:
    return now - fiber.get("changed_at", 0.0) > timeout


def stale_at(fiber: dict[str, Any], timeout: float) -> float:
    """When `stale(fiber, now, timeout)` turns true (polls after this time see it)."""
    return fiber.get("changed_at", 0.0) + timeout


class SimpleOrder(FiberType):
    name = "SimpleOrder"
    files = {"SimpleOrder": "examples/simple-order/definition.json"}
    success = frozenset({"delivered"})

    def create(self, fid, parties, rng):
        total = round(float(rng.uniform(10, 200)), 2)
        data = {
            "orderId": fid,
            "customer": parties[0],
            "seller": parties[1],
            "items": [{"sku": "WIDGET-1", "quantity": 1, "price": total}],
            "total": total,
        }
        return [Create(fid, "SimpleOrder", data, tuple(parties))]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state = fiber["state"]
        if role == 1 and state == "pending":
            if rng.random() < traits.cooperativeness:
                return "confirm", {"confirmedAt": now, "paymentMethod": "otto"}
            return "cancel", {"reason": "seller declined"}
        if role == 1 and state == "confirmed":
            return "ship", {"trackingNumber": f"TRK-{fiber['data']['orderId']}", "carrier": "sim"}
        if role == 0 and state == "shipped":
            return "deliver", {"timestamp": now}
        if role == 0 and state == "pending" and stale(fiber, now, timeout):
            return "cancel", {"reason": "timeout"}
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        state = fiber["state"]
        if (role, state) in ((1, "pending"), (1, "confirmed"), (0, "shipped")):
            return None
        return stale_at(fiber, timeout) if (role, state) == (0, "pending") else NEVER


class TokenEscrow(FiberType):
    name = "TokenEscrow"
    files = {"TokenEscrow": "examples/token-escrow/definition.json"}
    success = frozenset({"released"})

    def create(self, fid, parties, rng):
        data = {"depositor": parties[0], "beneficiary": parties[1], "amount": 0, "status": "pending"}
        return [Create(fid, "TokenEscrow", data, tuple(parties))]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state = fiber["state"]
        if role == 0 and state == "pending":
            return "fund", {"depositor": me, "amount": int(rng.integers(10, 1000))}
        if role == 1 and state == "funded" and rng.random() < traits.cooperativeness:
            return "release", {"beneficiary": me}  # delivered: the beneficiary claims with proof
        if role == 0 and state == "funded" and stale(fiber, now, timeout):
            return "refund", {}
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        state = fiber["state"]
        if (role, state) in ((0, "pending"), (1, "funded")):
            return None
        return stale_at(fiber, timeout) if (role, state) == (0, "funded") else NEVER


class Contract(FiberType):
    name = "Contract"
    files = {"Contract": "sdk/contract-agreement.json"}
    success = frozenset({"COMPLETED"})

    def create(self, fid, parties, rng):
        data = {
            "proposer": parties[0],
            "counterparty": parties[1],
            "completions": [],
            "status": "PROPOSED",
            "terms": {"deliverable": f"work-{fid}"},
        }
        return [Create(fid, "Contract", data, tuple(parties))]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state, data = fiber["state"], fiber["data"]
        if state == "PROPOSED":
            if role == 1:
                if rng.random() < traits.cooperativeness:
                    return "accept", {"agent": me}
                return "reject", {"agent": me, "reason": "terms not acceptable"}
            if stale(fiber, now, timeout):
                return "cancel", {"agent": me}
            return None
        if state == "ACTIVE":
            done = [c.get("agent") for c in data.get("completions") or []]
            if len(done) >= 2:
                return "finalize", {"agent": me}
            if me not in done:
                draw = rng.random()
                if draw < traits.cooperativeness:
                    return "submit_completion", {"agent": me, "proof": f"proof-{me[:10]}"}
                if draw > 1 - (1 - traits.cooperativeness) / 2:
                    return "dispute", {"agent": me, "reason": "deliverable disputed"}
            if role == 0 and stale(fiber, now, timeout):
                return "cancel", {"agent": me}
            return None
        if state == "DISPUTED" and me != data.get("disputedBy"):
            if rng.random() < traits.cooperativeness:
                return "resolve", {
                    "agent": me,
                    "proposerApproves": True,
                    "counterpartyApproves": True,
                    "resolution": "settled",
                }
        if state == "DISPUTED" and role == 0 and stale(fiber, now, timeout):
            return "resolve", {
                "agent": me,
                "judicialRuling": True,
                "resolution": "arbitration",
                "rulingId": f"ruling-{fiber['data']['terms']['deliverable']}",
            }
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        state, data = fiber["state"], fiber["data"]
        if state == "PROPOSED":
            return None if role == 1 else stale_at(fiber, timeout)
        if state == "ACTIVE":
            done = [c.get("agent") for c in data.get("completions") or []]
            if len(done) >= 2 or me not in done:
                return None
            return stale_at(fiber, timeout) if role == 0 else NEVER
        if state == "DISPUTED":
            if me != data.get("disputedBy"):
                return None
            return stale_at(fiber, timeout) if role == 0 else NEVER
        return NEVER

    def outcome(self, fiber, views=None):
        if fiber["state"] == "COMPLETED" and fiber["data"].get("disputedAt") is not None:
            return "COMPLETED after dispute"
        return super().outcome(fiber)


class ApprovalWorkflow(FiberType):
    name = "ApprovalWorkflow"
    files = {"ApprovalWorkflow": "examples/approval-workflow/definition.json"}
    success = frozenset({"approved", "rejected"})  # a decision was reached

    def create(self, fid, parties, rng):
        data = {
            "requestId": fid,
            "requestedBy": parties[0],
            "approver": parties[1],
            "amount": int(rng.integers(100, 10000)),
            "purpose": "equipment",
        }
        return [Create(fid, "ApprovalWorkflow", data, tuple(parties))]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state = fiber["state"]
        if role == 0 and state == "draft":
            return "submit", {"timestamp": now}
        if role == 1 and state == "submitted":
            if rng.random() < traits.cooperativeness:
                return "approve", {"approver": me}
            return "reject", {"approver": me, "reason": "budget constraints"}
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        return None if (role, fiber["state"]) in ((0, "draft"), (1, "submitted")) else NEVER


class Voting(FiberType):
    """One poll on the published Governance machine: propose, every member votes, the
    coordinator tallies (finalize) and dissolves the poll. Completed when the tally had a
    majority of the voters' votes."""

    name = "Voting"
    files = {"Voting": "domains/governance-simple.json"}
    success = frozenset({"DISSOLVED"})

    def __init__(self, voters: int = 3) -> None:
        self.counterparties = voters

    def create(self, fid, parties, rng):
        data = {
            "schema": "Governance",
            "name": f"poll-{fid}",
            "admins": [parties[0]],
            "members": {p: {"joinedAt": 0} for p in parties},
            "rules": {},
            "votingPeriodMs": 600000,
            "passingThreshold": 0.5,
            "disputeQuorum": 3,
            "proposal": None,
            "dispute": None,
            "votes": {},
            "history": [],
            "status": "ACTIVE",
        }
        return [Create(fid, "Voting", data, tuple(parties))]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state, data = fiber["state"], fiber["data"]
        members = data.get("members") or {}
        if state == "ACTIVE" and role == 0:
            if not data.get("history"):
                return "propose", {
                    "agent": me,
                    "proposalId": f"{fiber['id']}-p1",
                    "type": "rule_change",
                    "changes": {"quorum": 2},
                }
            return "dissolve", {"agent": me, "approvalCount": len(members)}
        if state == "VOTING":
            votes = data.get("votes") or {}
            if me not in votes:
                choice = "for" if rng.random() < traits.cooperativeness else "against"
                return "vote", {"agent": me, "vote": choice}
            if role == 0 and (len(votes) == len(members) or stale(fiber, now, timeout)):
                return "finalize", {
                    "agent": me,
                    "forCount": sum(v.get("vote") == "for" for v in votes.values()),
                }
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        state, data = fiber["state"], fiber["data"]
        if state == "ACTIVE" and role == 0:
            return None
        if state == "VOTING":
            votes = data.get("votes") or {}
            if me not in votes:
                return None
            if role == 0:
                return None if len(votes) == len(data.get("members") or {}) else stale_at(fiber, timeout)
        return NEVER

    def completed(self, fiber):
        voters = len(fiber["data"].get("members") or {})
        return super().completed(fiber) and fiber.get("tally", {}).get("vote", 0) * 2 > voters

    def outcome(self, fiber, views=None):
        if fiber["final"] and not self.completed(fiber):
            return "DISSOLVED without a majority of votes"
        return super().outcome(fiber)


class Auction(FiberType):
    name = "Auction"
    files = {"Auction": "sdk/market-auction.json"}
    success = frozenset({"SETTLED"})

    def __init__(self, bidders: int = 3) -> None:
        self.counterparties = bidders

    def create(self, fid, parties, rng):
        data = {
            "seller": parties[0],
            "item": f"lot-{fid}",
            "minBid": 100,
            "bidIncrement": 10,
            "reservePrice": int(rng.integers(100, 400)),
            "deadline": None,
            "status": "PROPOSED",
            "bids": [],
            "highBid": None,
            "highBidder": None,
        }
        return [Create(fid, "Auction", data, tuple(parties))]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state, data = fiber["state"], fiber["data"]
        if role == 0:
            if state == "PROPOSED":
                return "open", {"agent": me}
            if state == "OPEN" and stale(fiber, now, timeout / 3):
                return "close", {"agent": me}
            if state == "CLOSING":
                high, reserve = data.get("highBid"), data.get("reservePrice")
                if data.get("highBidder") and (not reserve or high >= reserve):
                    return "settle", {"agent": me}
                return "no_sale", {"agent": me}
            return None
        if state == "OPEN" and data.get("highBidder") != me:
            # a private valuation, stable per bidder and auction
            value = _valuation(me, data)
            high = data.get("highBid")
            amount = data["minBid"] if not high else high + data["bidIncrement"]
            if amount <= value and rng.random() < traits.cooperativeness:
                return "bid", {"agent": me, "amount": amount}
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        state, data = fiber["state"], fiber["data"]
        if role == 0:
            if state in ("PROPOSED", "CLOSING"):
                return None
            return stale_at(fiber, timeout / 3) if state == "OPEN" else NEVER
        if state == "OPEN" and data.get("highBidder") != me:
            high = data.get("highBid")
            amount = data["minBid"] if not high else high + data["bidIncrement"]
            if amount <= _valuation(me, data):
                return None
        return NEVER


def _valuation(me: str, data: dict[str, Any]) -> int:
    import hashlib

    digest = hashlib.sha256(f"{me}/{data.get('item')}".encode()).digest()
    return 100 + int.from_bytes(digest[:4], "big") % 350


class TicTacToe(FiberType):
    """The lifecycle machine plus its game-engine script. The machine's guards read the
    oracle's status before the move, so a game that was just won needs one more `make_move`
    to reach `finished` (the published engine's behaviour)."""

    name = "TicTacToe"
    files = {
        "TicTacToe": "examples/tictactoe/sm-definition-value-ids.json",
        "TicTacToeOracle": "examples/tictactoe/script-definition.json",
    }
    success = frozenset({"finished"})

    def create(self, fid, parties, rng):
        oracle = f"{fid}-oracle"
        return [
            Create(oracle, "TicTacToeOracle", {}, (parties[0],), kind="script"),
            Create(fid, f"TicTacToe@{oracle}", {"oracleFiberId": oracle, "roundCount": 0}, tuple(parties)),
        ]

    def respond(self, role, me, fiber, views, traits, rng, now, timeout):
        state, data = fiber["state"], fiber["data"]
        game = (views.get(data.get("oracleFiberId")) or {}).get("data") or {}
        if state == "setup":
            if role == 0:
                return "start_game", {
                    "playerX": fiber["parties"][0],
                    "playerO": fiber["parties"][1],
                    "gameId": fiber["id"],
                }
            return None
        if state != "playing":
            return None
        status = game.get("status")
        mine = "X" if role == 0 else "O"
        if status in ("Won", "Draw"):
            if role == 0:
                return "make_move", {"player": game.get("currentTurn"), "cell": 0}  # closes the game
            return None
        if status == "InProgress" and game.get("currentTurn") == mine:
            return "make_move", {"player": mine, "cell": choose_cell(game["board"], mine, traits.skill, rng)}
        if role == 0 and stale(fiber, now, timeout):
            return "cancel_game", {"requestedBy": me, "reason": "opponent timed out"}
        return None

    def quiet_until(self, role, me, fiber, views, timeout):
        state, data = fiber["state"], fiber["data"]
        if state == "setup":
            return None if role == 0 else NEVER
        if state != "playing":
            return NEVER
        game = (views.get(data.get("oracleFiberId")) or {}).get("data") or {}
        status = game.get("status")
        if status in ("Won", "Draw"):
            return None if role == 0 else NEVER
        if status == "InProgress" and game.get("currentTurn") == ("X" if role == 0 else "O"):
            return None
        return stale_at(fiber, timeout) if role == 0 else NEVER

    def outcome(self, fiber, views=None):
        if fiber["state"] == "finished":
            winner = fiber["data"].get("winner")
            return f"finished: {winner} won" if winner else "finished: draw"
        return super().outcome(fiber)


def choose_cell(board: list[Any], mine: str, skill: float, rng: np.random.Generator) -> int:
    """Win if possible, else block, else a random free cell; a lower skill blunders more."""
    free = [i for i, c in enumerate(board) if c is None]
    if rng.random() < skill:
        theirs = "O" if mine == "X" else "X"
        for who in (mine, theirs):
            for line in LINES:
                marks = [board[i] for i in line]
                if marks.count(who) == 2 and marks.count(None) == 1:
                    return line[marks.index(None)]
    return int(free[int(rng.integers(len(free)))])


def fiber_types(voters: int = 3, bidders: int = 3) -> dict[str, FiberType]:
    return {
        t.name: t
        for t in (
            SimpleOrder(),
            TicTacToe(),
            TokenEscrow(),
            Contract(),
            Voting(voters),
            ApprovalWorkflow(),
            Auction(bidders),
        )
    }
