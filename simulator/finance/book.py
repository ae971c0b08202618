"""The trader's own books: positions at cost, realised P&L and fees, all in integer cents.

The identity `cash + cost basis == initial + realised - fees` holds exactly after every fill
(adding the positions' market value to both sides gives the issue's form:
cash + positions at market == initial + realised + unrealised - fees).
"""

from __future__ import annotations

from typing import Any


def apply_fill(trader: dict[str, Any], fill: dict[str, Any]) -> dict[str, Any]:
    """Book a filled order into the trader's state; returns the trade record appended."""
    sym = fill["symbol"]
    pos = trader["book"][sym]
    sign = 1 if fill["side"] == "buy" else -1
    dq, notional, fee = fill["qty"], fill["notional"], fill["fee"]
    qty, cost = pos["qty"], pos["cost"]
    realised = 0
    closing = 0
    if qty != 0 and (qty > 0) != (sign > 0):  # reduces (or flips) the position
        closing = min(dq, abs(qty))
        released = cost if closing == abs(qty) else int(round(cost * closing / abs(qty)))
        part = notional if closing == dq else int(round(notional * closing / dq))
        realised = -released - sign * part
        cost -= released
        qty += sign * closing
        notional -= part
        dq -= closing
    if dq:
        cost += sign * notional
        qty += sign * dq
    pos["qty"], pos["cost"] = qty, cost
    trader["realised"] += realised
    trader["fees"] += fee
    trade = {
        "order_id": fill["id"],
        "cycle": trader["cycle"],
        "symbol": sym,
        "side": fill["side"],
        "qty": fill["qty"],
        "price": fill["price"],
        "notional": fill["notional"],
        "fee": fee,
        "closes": closing > 0,
        "realised": realised,
    }
    trader["trades"].append(trade)
    return trade


def ledger_gap(trader: dict[str, Any], cash: int) -> int:
    """`cash + cost basis - (initial + realised - fees)` in cents: zero unless money leaked."""
    cost = sum(p["cost"] for p in trader["book"].values())
    return cash + cost - (trader["initial"] + trader["realised"] - trader["fees"])
