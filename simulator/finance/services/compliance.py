"""Legal/compliance: approve or deny an action with a reason.

Rules are checked in order (capacity, amount limit, blocked counterparty, restricted symbol);
an action that passes them is approved with probability `approval_rate`, drawn from the
service's own stream. Every decision is logged with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...engine import Event, World
from ..config import ComplianceConfig
from ..money import to_cents
from .common import COMPLIANCE, admit, dollars, new_bucket, next_id, reply


class Compliance:
    kind = "compliance"
    stream = "svc/compliance"

    def __init__(self, config: ComplianceConfig) -> None:
        self.config = config
        self.max_notional = None if config.max_notional is None else to_cents(config.max_notional)
        self.blocked_counterparties = frozenset(config.blocked_counterparties)
        self.blocked_symbols = frozenset(config.blocked_symbols)

    def install(self, world: World) -> None:
        world.register(
            COMPLIANCE,
            self.kind,
            {
                "check_counter": 0,
                "approved": 0,
                "denied": 0,
                "bucket": new_bucket(self.config.capacity),
                "decisions": [],
            },
        )
        world.on("compliance.check", self.on_check)

    def rule(self, action: dict[str, Any]) -> str | None:
        """The first rule the action breaks, as a reason, or None."""
        amount = action.get("amount")
        if not isinstance(amount, int) or amount < 0:
            return f"amount must be a non-negative number of cents, got {amount!r}"
        if self.max_notional is not None and amount > self.max_notional:
            return f"amount {dollars(amount)} exceeds the limit {dollars(self.max_notional)}"
        if action.get("counterparty") in self.blocked_counterparties:
            return f"counterparty {action.get('counterparty')!r} is blocked"
        if action.get("symbol") in self.blocked_symbols:
            return f"symbol {action.get('symbol')!r} is restricted"
        return None

    def on_check(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        st = world.entity(COMPLIANCE)
        draw = float(world.rng(self.stream).random())  # always drawn: streams stay aligned
        action = p.get("action") or {}
        reason = None if admit(st, world.now, self.config.capacity) else "compliance over capacity"
        if reason is None:
            reason = self.rule(action)
        if reason is None and draw >= self.config.approval_rate:
            reason = f"declined on review (approval rate {self.config.approval_rate:g})"
        approved = reason is None
        st["approved" if approved else "denied"] += 1
        decision_id = next_id(st, "check_counter", "chk")
        st["decisions"].append(
            {
                "id": decision_id,
                "request_id": p.get("request_id"),
                "time": world.now,
                "action": action,
                "approved": approved,
                "reason": reason,
            }
        )
        body = {
            "request_id": p.get("request_id"),
            "decision_id": decision_id,
            "approved": approved,
            "reason": reason,
        }
        return [reply(COMPLIANCE, event.source, "compliance.decision", body)]
