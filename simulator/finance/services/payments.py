"""Payments: payment intents that succeed or fail, with fees and a running balance.

`payment.create` -> (injected failure, capacity, bad amount: `payment.result` failed) or a
`bank.transfer` of the amount plus the fee -> `payment.settled`. When the payment has a
beneficiary at a merchant (a brokerage account at the exchange), the merchant is notified
(`exchange.credit`, like a webhook) before the payer hears `payment.result`, so every chain
ends with the reply to the requester. A failed credit is refunded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...engine import Event, World
from ..config import PaymentsConfig
from ..money import to_cents
from .common import (
    ACCT_FEES_PAYMENTS,
    EXCHANGE,
    PAYMENTS,
    admit,
    bank_transfer,
    new_bucket,
    next_id,
    reply,
)


class Payments:
    kind = "payments"
    stream = "svc/payments"

    def __init__(self, config: PaymentsConfig) -> None:
        self.config = config
        self.fee_fixed = to_cents(config.fee_fixed)

    def install(self, world: World) -> None:
        world.register(
            PAYMENTS,
            self.kind,
            {
                "intent_counter": 0,
                "succeeded": 0,
                "failed": 0,
                "volume": 0,
                "fees": 0,
                "bucket": new_bucket(self.config.capacity),
                "pending": {},
                "intents": [],
            },
        )
        world.on("payment.create", self.on_create)
        world.on("payment.settled", self.on_settled)
        world.on("payment.confirmed", self.on_confirmed)
        world.on("payment.refunded", self.on_refunded)

    def fee(self, amount: int) -> int:
        return self.fee_fixed + int(round(amount * self.config.fee_rate))

    def _finish(self, world: World, intent: dict[str, Any], ok: bool, reason: str | None) -> Event:
        st = world.entity(PAYMENTS)
        st["pending"].pop(intent["id"], None)
        intent["status"] = "succeeded" if ok else "failed"
        intent["reason"] = reason
        if ok:
            st["succeeded"] += 1
            st["volume"] += intent["amount"]
            st["fees"] += intent["fee"]
        else:
            st["failed"] += 1
            intent["fee"] = 0
        st["intents"].append(intent)
        body = {
            "request_id": intent["request_id"],
            "intent_id": intent["id"],
            "ok": ok,
            "amount": intent["amount"],
            "fee": intent["fee"],
            "reason": reason,
        }
        return reply(PAYMENTS, intent["requester"], "payment.result", body)

    def on_create(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        st = world.entity(PAYMENTS)
        draw = float(world.rng(self.stream).random())  # always drawn: streams stay aligned
        amount = p.get("amount")
        intent = {
            "id": next_id(st, "intent_counter", "pi"),
            "request_id": p.get("request_id"),
            "requester": event.source,
            "time": world.now,
            "amount": amount,
            "fee": self.fee(amount) if isinstance(amount, int) and amount > 0 else 0,
            "from": p.get("from"),
            "to": p.get("to"),
            "beneficiary": p.get("beneficiary"),
            "status": "processing",
            "reason": None,
        }
        if not isinstance(amount, int) or amount <= 0:
            return [
                self._finish(
                    world, intent, False, f"amount must be a positive number of cents, got {amount!r}"
                )
            ]
        if not admit(st, world.now, self.config.capacity):
            return [self._finish(world, intent, False, "payments over capacity")]
        if draw < self.config.failure_rate:
            return [self._finish(world, intent, False, "declined by the processor")]
        st["pending"][intent["id"]] = intent
        legs = [[intent["from"], intent["to"], amount]]
        if intent["fee"]:
            legs.append([intent["from"], ACCT_FEES_PAYMENTS, intent["fee"]])
        return [bank_transfer(PAYMENTS, intent["id"], legs, "payment.settled")]

    def on_settled(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        intent = world.entity(PAYMENTS)["pending"][p["ref"]]
        if not p["ok"]:
            return [self._finish(world, intent, False, f"bank refused: {p['reason']}")]
        if intent["beneficiary"]:
            intent["status"] = "settled"
            body = {
                "ref": intent["id"],
                "account": intent["beneficiary"],
                "amount": intent["amount"],
                "reply": "payment.confirmed",
            }
            return [Event("exchange.credit", PAYMENTS, EXCHANGE, body)]
        return [self._finish(world, intent, True, None)]

    def on_confirmed(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        intent = world.entity(PAYMENTS)["pending"][p["ref"]]
        if p["ok"]:
            return [self._finish(world, intent, True, None)]
        intent["status"] = "refunding"
        intent["reason"] = f"beneficiary refused: {p['reason']}"
        legs = [[intent["to"], intent["from"], intent["amount"]]]
        if intent["fee"]:
            legs.append([ACCT_FEES_PAYMENTS, intent["from"], intent["fee"]])
        return [bank_transfer(PAYMENTS, intent["id"], legs, "payment.refunded")]

    def on_refunded(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        intent = world.entity(PAYMENTS)["pending"][p["ref"]]
        if not p["ok"]:
            raise RuntimeError(f"refund of {intent['id']} refused by the bank: {p['reason']}")
        return [self._finish(world, intent, False, intent["reason"])]


def balance(state: dict[str, Any]) -> dict[str, int]:
    """The processor's balance: volume of succeeded payments and fees earned, in cents."""
    return {"processed": state["volume"], "fees": state["fees"], "pending": len(state["pending"])}
