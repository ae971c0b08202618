"""Finance: the conservation alarm fires on each kind of leak, reserved cash cannot be spent
twice, and a break-even trade is not a win."""

from __future__ import annotations

import itertools

import pytest

from simulator.engine import Event
from simulator.finance import LedgerError, SimulationRuntime
from simulator.finance.book import apply_fill, ledger_gap
from simulator.finance.context import new_trader_state
from simulator.finance.metrics import win_rate
from simulator.finance.services import BROKERAGE, EXCHANGE, PAYMENTS, TRADER
from simulator.finance.services.bank import Bank
from simulator.finance.services.common import ACCT_CLEARING, ACCT_FEES_EXCHANGE, ACCT_TRADER
from simulator.finance.services.exchange import Exchange

from .test_finance_conservation import _cycles
from .test_finance_support import FAULTY, make_config, service_world

QUIET = {
    "services.payments.failure_rate": 0.0,
    "services.exchange.reject_rate": 0.0,
    "market.end": "2008-07-31",
}


def test_the_alarm_fires_when_the_bank_creates_money(monkeypatch):
    real = Bank.on_transfer

    def leaky(self, world, event):  # every posted transfer also mints a cent in a fee account
        out = real(self, world, event)
        if out[0].payload["ok"]:
            world.entity(ACCT_FEES_EXCHANGE)["balance"] += 1
        return out

    monkeypatch.setattr(Bank, "on_transfer", leaky)
    with pytest.raises(
        LedgerError, match=r"^cycle \d+ \(2008-\d\d-\d\d\): money in the bank 1000000\d != initial 10000000$"
    ):
        SimulationRuntime().run(make_config(FAULTY, **QUIET))


def test_the_alarm_fires_when_brokerage_cash_parts_from_the_clearing_account(monkeypatch):
    real = Exchange.on_credit

    def leaky(self, world, event):
        out = real(self, world, event)
        world.entity(event.payload["account"])["balance"] += 1  # credited one cent too many
        return out

    monkeypatch.setattr(Exchange, "on_credit", leaky)
    with pytest.raises(LedgerError) as info:
        SimulationRuntime().run(make_config(FAULTY, **QUIET))
    message = str(info.value)
    assert "cash + cost basis is off by 1 cents" in message
    assert "clearing account" in message and "!= brokerage cash" in message


def test_without_strict_the_leak_is_reported_and_the_run_goes_on(monkeypatch):
    real = Bank.on_transfer

    def leaky(self, world, event):
        out = real(self, world, event)
        if out[0].payload["ok"]:
            world.entity(ACCT_FEES_EXCHANGE)["balance"] += 1
        return out

    monkeypatch.setattr(Bank, "on_transfer", leaky)
    outcome = SimulationRuntime().run(make_config(FAULTY, **QUIET, **{"executor.strict": False}), keep=True)
    problems = [ev["problems"] for ev, _ in _cycles(outcome)]
    assert len(problems) == outcome.result.cycles > 30
    assert problems[0] == [] and all(p for p in problems[2:])
    assert problems[-1][-1].startswith("money in the bank ")


# -- reserved cash ---------------------------------------------------------------------------
_ids = itertools.count()


def send(ctx, type_, target, payload) -> str:
    rid = f"r{next(_ids)}"
    ctx.world.emit(Event(type_, TRADER, target, {**payload, "request_id": rid}))
    return rid


def test_cash_reserved_by_a_settling_order_cannot_be_spent_twice():
    ctx, market = service_world(**{"services.exchange.slippage_bps": 0, "services.exchange.fee_rate": 0.0})
    send(ctx, "market.open", EXCHANGE, {"day": market.index(0)})
    price = market.bar("sp500", market.index(0))[0]
    funding = int(price * 100 * 1.5)  # one share fits, two do not
    payment = {"amount": funding, "from": ACCT_TRADER, "to": ACCT_CLEARING, "beneficiary": BROKERAGE}
    send(ctx, "payment.create", PAYMENTS, payment)
    ctx.world.run()
    brk = ctx.world.entities[BROKERAGE]
    cash = brk["balance"]
    qty = 1
    order = {"account": BROKERAGE, "symbol": "sp500", "type": "market", "side": "buy", "qty": qty}
    # Emitted together: the second is checked while the first still settles at the bank.
    first = send(ctx, "exchange.order", EXCHANGE, order)
    second = send(ctx, "exchange.order", EXCHANGE, order)
    withdraw = send(
        ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": cash // 2, "to": ACCT_TRADER}
    )
    small = send(ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": 100, "to": ACCT_TRADER})
    ctx.world.run()
    inbox = ctx.state["inbox"]
    assert inbox[first]["status"] == "filled"
    spent = inbox[first]["notional"] + inbox[first]["fee"]
    assert inbox[second]["status"] == "rejected"
    assert inbox[second]["reason"].startswith("insufficient cash: needs")
    assert not inbox[withdraw]["ok"] and "insufficient cash" in inbox[withdraw]["reason"]
    assert inbox[small]["ok"]  # what is not reserved can still be withdrawn
    assert brk["reserved"] == 0 and brk["balance"] == cash - spent - 100
    assert brk["positions"]["sp500"] == qty
    assert ctx.world.entities[ACCT_CLEARING]["balance"] == brk["balance"]


# -- the trader's books ----------------------------------------------------------------------
def fill(i: int, side: str, qty: int, notional: int, fee: int = 0) -> dict:
    return {
        "id": f"o{i}",
        "symbol": "x",
        "side": side,
        "qty": qty,
        "price": notional / qty / 100,
        "notional": notional,
        "fee": fee,
    }


def test_a_break_even_trade_is_not_a_win():
    trader = new_trader_state(1_000_000, ["x"])
    apply_fill(trader, fill(1, "buy", 10, 50_000, fee=100))
    even = apply_fill(trader, fill(2, "sell", 10, 50_000, fee=100))
    assert even["closes"] and even["realised"] == 0
    assert win_rate(trader["trades"]) == 0.0
    apply_fill(trader, fill(3, "buy", 4, 20_000))
    gain = apply_fill(trader, fill(4, "sell", 2, 10_002))
    loss = apply_fill(trader, fill(5, "sell", 2, 9_999))
    assert (gain["realised"], loss["realised"]) == (2, -1)
    assert win_rate(trader["trades"]) == pytest.approx(1 / 3)  # break-even, gain, loss


def test_closing_part_of_a_position_releases_its_share_of_the_cost_and_a_flip_opens_the_rest():
    trader = new_trader_state(1_000_000, ["x"])
    cash = 1_000_000
    for i, (side, qty, notional, fee) in enumerate(
        [("buy", 3, 30_000, 10), ("sell", 1, 11_000, 10), ("sell", 5, 60_000, 10), ("buy", 2, 22_000, 10)]
    ):
        trade = apply_fill(trader, fill(i, side, qty, notional, fee))
        cash += (notional if side == "sell" else -notional) - fee
        assert ledger_gap(trader, cash) == 0
        if i == 1:
            assert trade["realised"] == 1_000 and trader["book"]["x"] == {"qty": 2, "cost": 20_000}
        if i == 2:  # closes 2 (bought at 10,000 each, sold at 12,000), opens a short of 3
            assert trade["realised"] == 4_000 and trader["book"]["x"] == {"qty": -3, "cost": -36_000}
    assert trader["book"]["x"] == {"qty": -1, "cost": -12_000}
    assert trader["realised"] == 1_000 + 4_000 + 2_000 and trader["fees"] == 40
