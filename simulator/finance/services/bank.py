"""The bank: accounts in integer cents, atomic multi-leg transfers, a dated transaction history.

`bank.transfer` carries `legs` ([[from, to, cents], ...]) applied all or nothing; it is refused
when an account without overdraft would go below zero, when an account is unknown, or when
the bank is over capacity. The reply (type named by the request's `reply`) goes back to the
requester. Money only moves between accounts, so the total across all accounts never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...engine import Event, World
from ..config import BankConfig
from .common import BANK, admit, dollars, new_bucket, next_id, reply


class Bank:
    """Accounts (entities of kind `account`) and the `bank.transfer` reducer."""

    kind = "bank"

    def __init__(self, config: BankConfig, date_of: Callable[[float], str]) -> None:
        self.config = config
        self.date_of = date_of

    def install(self, world: World, accounts: Mapping[str, tuple[int, str, bool]]) -> None:
        """Register the bank and its accounts: `{id: (balance_cents, owner, overdraft)}`."""
        world.register(
            BANK,
            self.kind,
            {
                "txn_counter": 0,
                "posted": 0,
                "refused": 0,
                "bucket": new_bucket(self.config.capacity),
                "transactions": [],
            },
        )
        for account_id, (balance, owner, overdraft) in accounts.items():
            world.register(
                account_id, "account", {"balance": int(balance), "owner": owner, "overdraft": overdraft}
            )
        world.on("bank.transfer", self.on_transfer)

    def _refusal(self, world: World, legs: list[list[Any]]) -> str | None:
        if not legs:
            return "no legs"
        net: dict[str, int] = {}
        for leg in legs:
            if len(leg) != 3:
                return f"malformed leg {leg!r}"
            src, dst, amount = leg
            for account in (src, dst):
                if world.kinds.get(account) != "account":
                    return f"unknown account {account!r}"
            if not isinstance(amount, int) or amount <= 0:
                return f"amount must be a positive number of cents, got {amount!r}"
            net[src] = net.get(src, 0) - amount
            net[dst] = net.get(dst, 0) + amount
        for account in sorted(net):
            state = world.entities[account]
            if not state["overdraft"] and state["balance"] + net[account] < 0:
                return (
                    f"insufficient funds in {account}: balance {dollars(state['balance'])}, "
                    f"needs {dollars(-net[account])}"
                )
        return None

    def on_transfer(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        bank = world.entity(BANK)
        txn_id = next_id(bank, "txn_counter", "txn")
        legs = p.get("legs") or []
        reason = None if admit(bank, world.now, self.config.capacity) else "bank over capacity"
        if reason is None:
            reason = self._refusal(world, legs)
        if reason is None:
            for src, dst, amount in legs:
                world.entity(src)["balance"] -= amount
                world.entity(dst)["balance"] += amount
            bank["posted"] += 1
        else:
            bank["refused"] += 1
        bank["transactions"].append(
            {
                "id": txn_id,
                "time": world.now,
                "date": self.date_of(world.now),
                "ref": p.get("ref"),
                "legs": legs,
                "status": "posted" if reason is None else "refused",
                "reason": reason,
            }
        )
        body = {
            "ref": p.get("ref"),
            "request_id": p.get("request_id"),
            "txn_id": txn_id,
            "ok": reason is None,
            "reason": reason,
        }
        return [reply(BANK, event.source, p.get("reply", "bank.transfer_result"), body)]


def history(
    bank_state: Mapping[str, Any],
    account: str | None = None,
    start: str | None = None,
    end: str | None = None,
    status: str | None = "posted",
) -> list[dict[str, Any]]:
    """Transactions touching `account` dated `start <= date <= end` (ISO dates, inclusive)."""
    out = []
    for txn in bank_state["transactions"]:
        if status is not None and txn["status"] != status:
            continue
        if start is not None and txn["date"] < start:
            continue
        if end is not None and txn["date"] > end:
            continue
        if account is not None and not any(account in (leg[0], leg[1]) for leg in txn["legs"]):
            continue
        out.append(txn)
    return out
