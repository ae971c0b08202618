"""The services as kernel reducers: bank, payments, compliance, exchange, driven event by event."""

from __future__ import annotations

import itertools

import pytest

from simulator.engine import Event
from simulator.finance.money import fee_cents, notional_cents
from simulator.finance.services import (
    ACCOUNTS,
    BANK,
    BROKERAGE,
    COMPLIANCE,
    EXCHANGE,
    PAYMENTS,
    TRADER,
    balance,
    history,
)
from simulator.finance.services.common import ACCT_CLEARING, ACCT_MARKET, ACCT_TRADER

from .test_finance_support import service_world

_ids = itertools.count()


def ask(ctx, type_, target, payload):
    """Emit a request from the trader, run the world until quiet, return the reply."""
    rid = f"t{next(_ids)}"
    ctx.world.emit(Event(type_, TRADER, target, {**payload, "request_id": rid}))
    ctx.world.run()
    return ctx.state["inbox"][rid]


def transfer(ctx, legs, replies):
    ctx.world.emit(Event("bank.transfer", TRADER, BANK, {"ref": "x", "legs": legs, "reply": "test.reply"}))
    ctx.world.run()
    return replies[-1]


def with_reply_sink(ctx):
    replies: list[dict] = []
    ctx.world.on("test.reply", lambda world, event: replies.append(event.payload))
    return replies


def balances(ctx):
    return {a: ctx.world.entities[a]["balance"] for a in ACCOUNTS}


# -- bank --------------------------------------------------------------------------------------
def test_bank_moves_money_atomically_and_refuses_insufficient_funds():
    ctx, _ = service_world()
    replies = with_reply_sink(ctx)
    assert ctx.world.entities[ACCT_TRADER]["balance"] == 1_000_000  # $10,000 in cents
    ok = transfer(ctx, [[ACCT_TRADER, ACCT_CLEARING, 250_000]], replies)
    assert ok["ok"] and ok["txn_id"] == "txn-000001"
    assert balances(ctx)[ACCT_TRADER] == 750_000 and balances(ctx)[ACCT_CLEARING] == 250_000
    before = balances(ctx)
    refused = transfer(
        ctx, [[ACCT_CLEARING, ACCT_TRADER, 100_000], [ACCT_TRADER, ACCT_CLEARING, 999_900]], replies
    )
    assert not refused["ok"]
    assert refused["reason"] == "insufficient funds in acct/trader: balance 7,500.00, needs 8,999.00"
    assert balances(ctx) == before  # all legs or none
    assert not transfer(ctx, [[ACCT_TRADER, "acct/nobody", 1]], replies)["ok"]
    assert transfer(ctx, [[ACCT_MARKET, ACCT_TRADER, 5_000]], replies)["ok"]  # the market may overdraw
    assert sum(balances(ctx).values()) == 1_000_000  # money only moves
    bank = ctx.world.entities[BANK]
    assert (bank["posted"], bank["refused"]) == (2, 2)


def test_bank_history_filters_by_date_account_and_status():
    ctx, market = service_world()
    replies = with_reply_sink(ctx)
    for day in range(4):  # one transfer a day: simulation time is the day index
        ctx.world.emit(
            Event(
                "bank.transfer",
                TRADER,
                BANK,
                {"legs": [[ACCT_TRADER, ACCT_CLEARING, 100 + day]], "reply": "test.reply"},
                delay=day + 0.5 - ctx.world.now,
            )
        )
        ctx.world.run()
    transfer(ctx, [[ACCT_CLEARING, ACCT_MARKET, 10**9]], replies)  # refused
    bank = ctx.world.entities[BANK]
    dates = [market.date(d) for d in range(4)]
    assert [t["date"] for t in history(bank)] == dates
    assert [t["legs"][0][2] for t in history(bank, start=dates[1], end=dates[2])] == [101, 102]
    assert len(history(bank, account=ACCT_MARKET)) == 0
    assert len(history(bank, account=ACCT_MARKET, status="refused")) == 1
    assert len(history(bank, status=None)) == 5
    assert all(t["time"] >= 0.5 for t in history(bank))


def test_bank_capacity_refuses_beyond_its_rate():
    ctx, _ = service_world(**{"services.bank.capacity": 2})
    replies = with_reply_sink(ctx)
    results = [transfer(ctx, [[ACCT_TRADER, ACCT_CLEARING, 1]], replies) for _ in range(3)]
    assert [r["ok"] for r in results] == [True, True, False]
    assert results[2]["reason"] == "bank over capacity"


# -- payments ----------------------------------------------------------------------------------
def test_payment_intent_succeeds_with_fee_and_credits_the_beneficiary():
    ctx, _ = service_world(**{"services.payments.fee_rate": 0.01, "services.payments.fee_fixed": 0.30})
    r = ask(
        ctx,
        "payment.create",
        PAYMENTS,
        {"amount": 100_000, "from": ACCT_TRADER, "to": ACCT_CLEARING, "beneficiary": BROKERAGE},
    )
    assert r["ok"] and r["intent_id"] == "pi-000001" and r["fee"] == 30 + 1000
    assert ctx.world.entities[BROKERAGE]["balance"] == 100_000
    assert balances(ctx)[ACCT_CLEARING] == 100_000 and balances(ctx)["acct/fees-payments"] == 1030
    assert ctx.state["fees"] == 1030  # the trader booked the fee
    assert balance(ctx.world.entities[PAYMENTS]) == {"processed": 100_000, "fees": 1030, "pending": 0}
    intent = ctx.world.entities[PAYMENTS]["intents"][0]
    assert intent["status"] == "succeeded" and intent["time"] == 0.0


def test_payment_failures_injected_refused_and_invalid():
    ctx, _ = service_world(**{"services.payments.failure_rate": 1.0})
    r = ask(ctx, "payment.create", PAYMENTS, {"amount": 100, "from": ACCT_TRADER, "to": ACCT_CLEARING})
    assert not r["ok"] and r["reason"] == "declined by the processor" and r["fee"] == 0
    ctx, _ = service_world()
    r = ask(ctx, "payment.create", PAYMENTS, {"amount": 10**9, "from": ACCT_TRADER, "to": ACCT_CLEARING})
    assert not r["ok"] and r["reason"].startswith("bank refused: insufficient funds in acct/trader")
    r = ask(ctx, "payment.create", PAYMENTS, {"amount": -5, "from": ACCT_TRADER, "to": ACCT_CLEARING})
    assert not r["ok"] and "positive number of cents" in r["reason"]
    # a beneficiary the exchange does not know: the payment is refunded, fee included
    ctx, _ = service_world(**{"services.payments.fee_fixed": 1.0})
    r = ask(
        ctx,
        "payment.create",
        PAYMENTS,
        {"amount": 500, "from": ACCT_TRADER, "to": ACCT_CLEARING, "beneficiary": "brk/ghost"},
    )
    assert not r["ok"] and r["reason"].startswith("beneficiary refused")
    assert balances(ctx)[ACCT_TRADER] == 1_000_000 and ctx.state["fees"] == 0


def test_payment_failure_rate_is_drawn_from_its_own_stream():
    outcomes = []
    for _ in range(2):
        ctx, _ = service_world(**{"services.payments.failure_rate": 0.5})
        outcomes.append(
            [
                ask(
                    ctx, "payment.create", PAYMENTS, {"amount": 10, "from": ACCT_TRADER, "to": ACCT_CLEARING}
                )["ok"]
                for _ in range(40)
            ]
        )
    assert outcomes[0] == outcomes[1]  # seeded
    assert 10 < sum(outcomes[0]) < 30


# -- compliance --------------------------------------------------------------------------------
def _check(ctx, **action):
    return ask(ctx, "compliance.check", COMPLIANCE, {"action": {"kind": "order", "amount": 100, **action}})


def test_compliance_rules_and_reasons():
    ctx, _ = service_world(
        **{
            "services.compliance.max_notional": 1000.0,
            "services.compliance.blocked_counterparties": ["SHADYX"],
            "services.compliance.blocked_symbols": ["nasdaq"],
        }
    )
    assert _check(ctx, symbol="sp500", counterparty="SIMX")["approved"]
    r = _check(ctx, amount=100_001, symbol="sp500", counterparty="SIMX")
    assert not r["approved"] and r["reason"] == "amount 1,000.01 exceeds the limit 1,000.00"
    assert _check(ctx, counterparty="SHADYX")["reason"] == "counterparty 'SHADYX' is blocked"
    assert _check(ctx, symbol="nasdaq")["reason"] == "symbol 'nasdaq' is restricted"
    decisions = ctx.world.entities[COMPLIANCE]["decisions"]
    assert [d["approved"] for d in decisions] == [True, False, False, False]


def test_compliance_approval_rate():
    ctx, _ = service_world(**{"services.compliance.approval_rate": 0.0})
    assert _check(ctx)["reason"] == "declined on review (approval rate 0)"
    ctx, _ = service_world(**{"services.compliance.approval_rate": 0.7})
    approved = sum(_check(ctx)["approved"] for _ in range(300))
    assert 180 < approved < 240


# -- exchange ----------------------------------------------------------------------------------
def _open(ctx, market, cycle=0):
    return ask(ctx, "market.open", EXCHANGE, {"day": market.index(cycle)})


def _fund(ctx, cents):
    ask(
        ctx,
        "payment.create",
        PAYMENTS,
        {"amount": cents, "from": ACCT_TRADER, "to": ACCT_CLEARING, "beneficiary": BROKERAGE},
    )


def _order(ctx, **kw):
    return ask(
        ctx, "exchange.order", EXCHANGE, {"account": BROKERAGE, "symbol": "sp500", "type": "market", **kw}
    )


def test_market_orders_fill_at_the_open_with_slippage_and_fees():
    ctx, market = service_world(**{"services.exchange.slippage_bps": 10, "services.exchange.fee_rate": 0.001})
    quote = _open(ctx, market)
    o, h, lo, c = market.bar("sp500", market.index(0))
    assert quote["prices"] == {"sp500": o} and quote["date"] == "2010-01-04"
    _fund(ctx, 500_000)
    r = _order(ctx, side="buy", qty=3)
    assert r["status"] == "filled" and r["id"] == "ord-000001"
    assert r["price"] == pytest.approx(o * 1.001)
    assert r["notional"] == notional_cents(o * 1.001, 3) and r["fee"] == fee_cents(r["notional"], 0.001, 100)
    brk = ctx.world.entities[BROKERAGE]
    assert brk["positions"]["sp500"] == 3 and brk["balance"] == 500_000 - r["notional"] - r["fee"]
    assert balances(ctx)[ACCT_CLEARING] == brk["balance"]  # brokerage cash is the clearing balance
    s = _order(ctx, side="sell", qty=2)
    assert s["status"] == "filled" and s["price"] == pytest.approx(o * 0.999)
    assert ctx.world.entities[BROKERAGE]["positions"]["sp500"] == 1
    assert ctx.state["book"]["sp500"]["qty"] == 1  # the trader booked both fills
    assert [t["side"] for t in ctx.state["trades"]] == ["buy", "sell"]


def test_limit_orders_fill_only_if_the_day_reaches_the_limit():
    ctx, market = service_world(**{"services.exchange.slippage_bps": 0})
    cycle = next(
        c
        for c in range(market.days)
        if market.bar("sp500", market.index(c))[0] > market.bar("sp500", market.index(c))[2] + 1
    )
    _open(ctx, market, cycle)
    _fund(ctx, 800_000)
    o, h, lo, c = market.bar("sp500", market.index(cycle))
    miss = _order(ctx, side="buy", qty=1, type="limit", limit=lo - 1.0)
    assert miss["status"] == "rejected" and "not reached" in miss["reason"]
    hit = _order(ctx, side="buy", qty=1, type="limit", limit=lo + 0.01)
    assert hit["status"] == "filled" and hit["price"] == pytest.approx(lo + 0.01)
    above = _order(ctx, side="buy", qty=1, type="limit", limit=h + 5)
    assert above["price"] == pytest.approx(o)  # better than the limit: the open


def test_exchange_rejections():
    ctx, market = service_world()
    assert _order(ctx, side="buy", qty=1)["reason"] == "market is closed"
    _open(ctx, market)
    assert "insufficient cash: needs" in _order(ctx, side="buy", qty=1)["reason"]
    assert "unknown symbol 'ZZZ'; listed: sp500" == _order(ctx, side="buy", qty=1, symbol="ZZZ")["reason"]
    assert "positive whole number" in _order(ctx, side="buy", qty=1.5)["reason"]
    r = _order(ctx, side="sell", qty=1)
    assert r["reason"] == "insufficient position: selling 1 sp500, holding 0 (short selling is not allowed)"
    ask(ctx, "market.close", EXCHANGE, {"day": market.index(0)})
    assert _order(ctx, side="buy", qty=1)["reason"] == "market is closed"
    assert ctx.world.entities[EXCHANGE]["rejected"] == 6 and ctx.state["trades"] == []


def test_injected_rejections_and_short_selling_when_allowed():
    ctx, market = service_world(**{"services.exchange.reject_rate": 1.0})
    _open(ctx, market)
    _fund(ctx, 500_000)
    assert _order(ctx, side="buy", qty=1)["reason"] == "rejected by the venue"
    ctx, market = service_world(
        **{"services.exchange.allow_short": True, "services.exchange.short_margin": 0.5}
    )
    _open(ctx, market)
    assert "insufficient cash" in _order(ctx, side="sell", qty=2)["reason"]  # margin needed
    _fund(ctx, 500_000)
    r = _order(ctx, side="sell", qty=2)
    assert r["status"] == "filled" and ctx.world.entities[BROKERAGE]["positions"]["sp500"] == -2
    assert ctx.state["book"]["sp500"]["qty"] == -2 and ctx.state["book"]["sp500"]["cost"] == -r["notional"]


def test_withdrawals_return_brokerage_cash_to_the_bank():
    ctx, market = service_world()
    _fund(ctx, 300_000)
    r = ask(ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": 100_000, "to": ACCT_TRADER})
    assert r["ok"] and ctx.world.entities[BROKERAGE]["balance"] == 200_000
    assert balances(ctx)[ACCT_CLEARING] == 200_000 and balances(ctx)[ACCT_TRADER] == 800_000
    r = ask(ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": 200_001, "to": ACCT_TRADER})
    assert not r["ok"] and "insufficient cash" in r["reason"]
    r = ask(ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": 1, "to": "acct/ghost"})
    assert not r["ok"] and r["reason"].startswith("bank refused: unknown account")
    assert ctx.world.entities[BROKERAGE]["balance"] == 200_000  # re-credited


def test_latency_delays_replies_but_not_their_order():
    ctx, market = service_world(
        **{"services.latency": [{"source": "trader", "target": "exchange", "base": 0.25}]}
    )
    ask(ctx, "market.open", EXCHANGE, {"day": market.index(0)})
    assert ctx.world.now == pytest.approx(0.25)
    assert ctx.world.entities[EXCHANGE]["session"] == "open"
