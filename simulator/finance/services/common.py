"""What the finance services share: entity ids and kinds, capacity, replies."""

from __future__ import annotations

from typing import Any

from ...engine import Event

TRADER = "trader"
PAYMENTS = "svc/payments"
BANK = "svc/bank"
COMPLIANCE = "svc/compliance"
EXCHANGE = "svc/exchange"
BROKERAGE = "brk/trader"

ACCT_TRADER = "acct/trader"
ACCT_CLEARING = "acct/clearing"
ACCT_MARKET = "acct/market"
ACCT_FEES_PAYMENTS = "acct/fees-payments"
ACCT_FEES_EXCHANGE = "acct/fees-exchange"
ACCOUNTS = (ACCT_TRADER, ACCT_CLEARING, ACCT_MARKET, ACCT_FEES_PAYMENTS, ACCT_FEES_EXCHANGE)


def new_bucket(capacity: float | None) -> dict[str, float] | None:
    """Token-bucket state for a service that handles `capacity` requests per day."""
    return None if capacity is None else {"tokens": float(capacity), "at": 0.0}


def admit(state: dict[str, Any], now: float, capacity: float | None) -> bool:
    """Take one token from the service's bucket (refilled at `capacity` per day)."""
    bucket = state["bucket"]
    if bucket is None or capacity is None:
        return True
    tokens = min(float(capacity), bucket["tokens"] + (now - bucket["at"]) * capacity)
    bucket["at"] = now
    if tokens >= 1.0:
        bucket["tokens"] = tokens - 1.0
        return True
    bucket["tokens"] = tokens
    return False


def reply(source: str, target: str, type: str, payload: dict[str, Any]) -> Event:
    return Event(type, source, target, payload)


def bank_transfer(source: str, ref: str, legs: list[list[Any]], reply: str) -> Event:
    """Ask the bank to move `legs` ([from, to, cents] each) atomically; it answers `reply`."""
    return Event("bank.transfer", source, BANK, {"ref": ref, "legs": legs, "reply": reply})


def next_id(state: dict[str, Any], counter: str, prefix: str) -> str:
    state[counter] += 1
    return f"{prefix}-{state[counter]:06d}"


def dollars(cents: int) -> str:
    return f"{cents / 100:,.2f}"
