"""Short selling at the default margin: a strategy goes short, holds, and covers; the short's
P&L is the price move times its size less fees, and no money is created or lost."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from simulator.finance import SimulationRuntime
from simulator.finance.money import fee_cents, notional_cents
from simulator.finance.services import ACCOUNTS, BROKERAGE
from simulator.finance.services.exchange import short_lock

from .test_finance_support import make_config

SLIP = 2.0 / 1e4  # the default slippage, no jitter


def _path() -> list[float]:
    """Flat at 100, a slide to 80, flat at 80, a climb back: flat, short, flat, long."""
    flat = [100.0] * 30
    slide = [100.0 - 2.0 * i for i in range(1, 11)]
    floor = [80.0] * 20
    climb = [80.0 + 2.0 * i for i in range(1, 11)]
    return flat + slide + floor + climb


@pytest.fixture
def shorting(tmp_path):
    closes = _path()
    path = tmp_path / "ACME.csv"
    day = date(2020, 1, 1)
    lines = ["Date,Open,High,Low,Close,Volume"]
    prev = closes[0]
    for c in closes:
        lines.append(f"{day},{prev},{max(prev, c)},{min(prev, c)},{c},1000")
        prev = c
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")
    cfg = make_config(
        {
            "seed": 3,
            "initial_capital": 100_000,
            "market": {"symbols": ["ACME"], "csv": {"ACME": str(path)}, "start": "2020-01-10"},
            "strategy": {"name": "momentum", "params": {"lookback": 5, "threshold": 0.01, "short": True}},
            "services": {"exchange": {"allow_short": True}},  # default margin: 1.0 x the short's value
        }
    )
    outcome = SimulationRuntime().run(cfg, keep=True)
    cycles = [json.loads(cp.text) for cp in outcome.checkpoints if cp.phase == "evaluate"]
    return cfg, outcome, cycles, closes


def test_a_short_is_opened_held_and_covered_at_the_default_margin(shorting):
    cfg, outcome, cycles, closes = shorting
    r = outcome.result
    assert r.orders_rejected == 0 and r.compliance_denied == 0
    qty = [c["state"][BROKERAGE]["positions"]["ACME"] for c in cycles]
    short_days = [i for i, q in enumerate(qty) if q < 0]
    assert len(short_days) >= 5, qty  # held for several cycles ...
    first, last = short_days[0], short_days[-1]
    assert short_days == list(range(first, last + 1)) and qty[last + 1] == 0  # ... then covered
    assert qty[first - 1] == 0  # entered from flat
    size = -qty[first]
    # sized to (almost) all the equity, as the target weight -1 asks, with the margin funded
    assert size * 80 > 0.8 * 100_000 / 1.2

    # the short is sold at the open of `first` (and added to as it gains), bought back once
    trades = [t for t in _trades(outcome) if first <= t["cycle"] <= last + 1]
    sells, (cover,) = trades[:-1], trades[-1:]
    assert {t["side"] for t in sells} == {"sell"} and cover["side"] == "buy"
    assert sum(t["qty"] for t in sells) == cover["qty"] == -qty[last] and sells[0]["cycle"] == first
    assert cover["cycle"] == last + 1 and cover["closes"] and not any(t["closes"] for t in sells)

    # an independent price move: the data's opens (the previous close), less / plus the fixed
    # slippage, times the size
    def opened(cycle: int) -> float:
        return closes[9 + cycle - 1]  # 2020-01-10 is row 9

    sold = sum(notional_cents(opened(t["cycle"]) * (1 - SLIP), t["qty"]) for t in sells)
    bought = notional_cents(opened(cover["cycle"]) * (1 + SLIP), cover["qty"])
    assert cover["realised"] == sold - bought > 0  # shorted at 98..80, covered at 80
    assert bought == round(80.0 * (1 + SLIP) * cover["qty"] * 100)
    fees = sum(fee_cents(n, 0.0005, 100) for n in (*(t["notional"] for t in sells), bought))
    assert sum(t["fee"] for t in trades) == fees
    # capital before the entry and after the cover differ by exactly that P&L (the book is flat
    # on both sides, and payments cost nothing here)
    before, after = (cycles[i]["state"]["trader"]["work"]["evaluate"] for i in (first - 1, last + 1))
    assert round((after["capital"] - before["capital"]) * 100) == sold - bought - fees


def test_conservation_holds_and_the_broker_keeps_the_short_lock(shorting):
    cfg, outcome, cycles, _ = shorting
    initial = 100_000 * 100
    locked_days = 0
    for c in cycles:
        state, ev = c["state"], c["state"]["trader"]["work"]["evaluate"]
        assert ev["problems"] == [] and ev["gap"] == 0
        assert sum(state[a]["balance"] for a in ACCOUNTS) == initial
        brk = state[BROKERAGE]
        if brk["positions"]["ACME"] < 0:
            locked_days += 1
            lock = short_lock(brk["positions"], ev["close"], cfg.services.exchange.short_margin)
            # the short's proceeds and margin stay at the broker (no sweep eats into them)
            assert brk["balance"] >= 0.95 * lock
    assert locked_days >= 5


def test_flipping_long_to_short_is_an_exit_then_an_entry():
    """Momentum on the NASDAQ, 2015-2016, shorts allowed (the issue's case): it now trades."""
    cfg = make_config(
        {
            "seed": 0,
            "market": {"symbols": ["nasdaq"], "start": "2015-01-02", "end": "2016-12-30"},
            "strategy": {"name": "momentum", "params": {"short": True}},
            "services": {"exchange": {"allow_short": True}},
        }
    )
    outcome = SimulationRuntime().run(cfg, keep=True)
    r = outcome.result
    assert r.orders_rejected == 0 and r.total_trades >= 20 and r.closed_trades >= 10
    flips = 0
    for cp in outcome.checkpoints:
        if cp.phase != "plan":
            continue
        data = json.loads(cp.text)
        held = data["state"]["trader"]["book"]["nasdaq"]["qty"]
        orders = data["state"]["trader"]["work"]["plan"]["orders"]
        if len(orders) == 2:  # a flip: the first order closes exactly the holding
            flips += 1
            assert orders[0]["qty"] == abs(held) and orders[0]["side"] == orders[1]["side"]
    assert flips >= 2
    qty = [t["qty"] * (1 if t["side"] == "buy" else -1) for t in _trades(outcome)]
    assert min(_running(qty)) < 0 < max(_running(qty))


def _trades(outcome):
    last = outcome.checkpoints[-1]
    # trades are an append-only log: concatenate what each checkpoint appended
    out = []
    for cp in outcome.checkpoints:
        out += json.loads(cp.text)["appended"].get("trader", {}).get("trades", [])
    assert len(out) == outcome.result.total_trades, last.index
    return out


def _running(deltas):
    total, out = 0, []
    for d in deltas:
        total += d
        out.append(total)
    return out


def test_the_exchange_keeps_a_shorts_proceeds_and_margin_until_it_is_covered():
    from simulator.finance.services import EXCHANGE, TRADER
    from simulator.finance.services.common import ACCT_TRADER

    from .test_finance_services import _fund, _open, _order, ask
    from .test_finance_support import service_world

    ctx, market = service_world(
        **{"services.exchange.allow_short": True, "services.exchange.short_margin": 0.5}
    )
    _open(ctx, market)
    o = market.open_price("sp500", market.index(0))
    brk = ctx.world.entities[BROKERAGE]
    lock = round(notional_cents(o, 10) * 1.5)
    proceeds = notional_cents(o * (1 - SLIP), 10)
    fee = fee_cents(proceeds, 0.0005, 100)
    # the margin the short needs beyond its own proceeds: lock + fee - proceeds
    _fund(ctx, lock + fee - proceeds - 1)
    assert "insufficient cash" in _order(ctx, side="sell", qty=10)["reason"]
    _fund(ctx, 1)
    r = _order(ctx, side="sell", qty=10)
    assert r["status"] == "filled" and brk["positions"]["sp500"] == -10 and brk["balance"] == lock
    assert short_lock(brk["positions"], {"sp500": o}, 0.5) == lock
    # none of it can be withdrawn or spent on something else while the short is open
    out = ask(ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": 1, "to": ACCT_TRADER})
    assert not out["ok"] and "available 0.00" in out["reason"]
    # covering releases it: the cover is paid from the lock, the rest can leave
    c = _order(ctx, side="buy", qty=10)
    assert c["status"] == "filled" and brk["positions"]["sp500"] == 0
    left = lock - c["notional"] - c["fee"]
    assert brk["balance"] == left > 0
    out = ask(ctx, "exchange.withdraw", EXCHANGE, {"account": BROKERAGE, "amount": left, "to": ACCT_TRADER})
    assert out["ok"] and brk["balance"] == 0
    book = ctx.world.entities[TRADER]
    assert book["realised"] == proceeds - c["notional"]  # the short's P&L, fees booked apart
    assert book["fees"] == fee + c["fee"]
