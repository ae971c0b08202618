"""The finance services as kernel reducers: payments, bank, legal/compliance, exchange.

Each service is an entity whose state is plain data; its reducers are the only code that
changes that state. Capacity is a token bucket in the state, faults are drawn from the
service's named stream (`svc/<name>`), latency is the World's channel model, ids come from
counters in the state and timestamps are simulation time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...engine import World
from ..config import FinanceConfig
from ..market import MarketData
from .bank import Bank, history
from .common import (
    ACCOUNTS,
    ACCT_CLEARING,
    ACCT_FEES_EXCHANGE,
    ACCT_FEES_PAYMENTS,
    ACCT_MARKET,
    ACCT_TRADER,
    BANK,
    BROKERAGE,
    COMPLIANCE,
    EXCHANGE,
    PAYMENTS,
    TRADER,
)
from .compliance import Compliance
from .exchange import Exchange
from .payments import Payments, balance

# Append-only logs in service state; checkpoints carry what each phase appended to them.
LOG_FIELDS: dict[str, tuple[str, ...]] = {
    BANK: ("transactions",),
    PAYMENTS: ("intents",),
    COMPLIANCE: ("decisions",),
    EXCHANGE: ("orders", "transfers"),
}


@dataclass
class Services:
    payments: Payments
    bank: Bank
    compliance: Compliance
    exchange: Exchange


def install_services(
    world: World,
    config: FinanceConfig,
    market: MarketData,
    initial_cents: int,
    date_of: Callable[[float], str],
) -> Services:
    """Register the services, the bank accounts and the trader's brokerage account."""
    s = config.services
    services = Services(
        Payments(s.payments), Bank(s.bank, date_of), Compliance(s.compliance), Exchange(s.exchange, market)
    )
    services.bank.install(
        world,
        {
            ACCT_TRADER: (initial_cents, TRADER, False),
            ACCT_CLEARING: (0, EXCHANGE, False),
            ACCT_MARKET: (0, "market", True),
            ACCT_FEES_PAYMENTS: (0, PAYMENTS, False),
            ACCT_FEES_EXCHANGE: (0, EXCHANGE, False),
        },
    )
    services.payments.install(world)
    services.compliance.install(world)
    services.exchange.install(world, [BROKERAGE], owner=TRADER)
    return services


__all__ = [
    "ACCOUNTS",
    "BANK",
    "BROKERAGE",
    "COMPLIANCE",
    "EXCHANGE",
    "LOG_FIELDS",
    "PAYMENTS",
    "TRADER",
    "Bank",
    "Compliance",
    "Exchange",
    "Payments",
    "Services",
    "balance",
    "history",
    "install_services",
]
