"""The exchange: a daily session over real (or synthetic) bars, market and limit orders filled
at the data's prices with fees and slippage, brokerage accounts with cash and positions.

- `market.open` / `market.close` open and close the day's session and quote opens / closes.
- `exchange.order`: checked (capacity, session, symbol, quantity, injected rejection, limit
  reached, cash, position; no short selling unless configured), then settled through the bank
  (`bank.transfer` between the clearing and market accounts, fee to the exchange's fee
  account) before the requester hears `order.result`. Cash and shares are reserved while an
  order settles.
- Short positions: the sale's proceeds stay at the broker, and `short_margin` x the short's
  market value more on top (`short_lock`, marked at the session's prices: the day's open while
  it is open, its close after). An order or withdrawal may not eat into that lock; a buy that
  covers a short releases its share first.
- `exchange.credit` (a payment's webhook) and `exchange.withdraw` move brokerage cash, which
  always equals the clearing account's balance at the bank.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ...engine import Event, World
from ..config import ExchangeConfig
from ..market import MarketData
from ..money import fee_cents, notional_cents, to_cents
from .common import (
    ACCT_CLEARING,
    ACCT_FEES_EXCHANGE,
    ACCT_MARKET,
    BANK,
    EXCHANGE,
    admit,
    bank_transfer,
    dollars,
    new_bucket,
    next_id,
    reply,
)


def short_lock(positions: dict[str, int], prices: dict[str, float], margin: float) -> int:
    """Cents that must stay at the broker against open shorts: (1 + margin) x their value."""
    return sum(
        int(round(notional_cents(prices[s], -q) * (1.0 + margin))) for s, q in positions.items() if q < 0
    )


class Exchange:
    kind = "exchange"
    stream = "svc/exchange"

    def __init__(self, config: ExchangeConfig, market: MarketData) -> None:
        self.config = config
        self.market = market
        self.min_fee = to_cents(config.min_fee)

    def install(self, world: World, brokerages: Sequence[str], owner: str) -> None:
        world.register(
            EXCHANGE,
            self.kind,
            {
                "session": "closed",
                "day": -1,
                "date": "",
                "order_counter": 0,
                "transfer_counter": 0,
                "filled": 0,
                "rejected": 0,
                "fees": 0,
                "bucket": new_bucket(self.config.capacity),
                "pending": {},
                "orders": [],
                "transfers": [],
            },
        )
        for account in brokerages:
            world.register(
                account,
                "brokerage",
                {
                    "owner": owner,
                    "balance": 0,
                    "reserved": 0,
                    "positions": {s: 0 for s in self.market.symbols},
                    "held": {s: 0 for s in self.market.symbols},
                },
            )
        for event_type, reducer in (
            ("market.open", self.on_open),
            ("market.close", self.on_close),
            ("exchange.order", self.on_order),
            ("exchange.settled", self.on_settled),
            ("exchange.credit", self.on_credit),
            ("exchange.withdraw", self.on_withdraw),
            ("exchange.withdrawn", self.on_withdrawn),
        ):
            world.on(event_type, reducer)

    # -- pricing ----------------------------------------------------------------------------
    def slippage(self, draw: float) -> float:
        return (self.config.slippage_bps + self.config.slippage_jitter_bps * draw) / 1e4

    def fill_price(self, order: dict[str, Any], day: int, slip: float) -> tuple[float | None, str | None]:
        """The price an order fills at on aligned day `day`, or None and why not."""
        o, h, lo, _ = self.market.bar(order["symbol"], day)
        buy = order["side"] == "buy"
        price = o * (1.0 + slip) if buy else o * (1.0 - slip)
        if order["type"] == "market":
            return price, None
        limit = order["limit"]
        if buy:
            if lo > limit:
                return None, f"buy limit {limit:.4f} not reached (day low {lo:.4f})"
            return min(price, limit), None
        if h < limit:
            return None, f"sell limit {limit:.4f} not reached (day high {h:.4f})"
        return max(price, limit), None

    def fee(self, notional: int) -> int:
        return fee_cents(notional, self.config.fee_rate, self.min_fee)

    def marks(self, st: dict[str, Any]) -> dict[str, float]:
        """The session's prices: today's opens while open, its closes after the close."""
        day = st["day"]
        if day < 0:
            return {s: 0.0 for s in self.market.symbols}
        table = self.market.open_price if st["session"] == "open" else self.market.close_price
        return {s: table(s, day) for s in self.market.symbols}

    def lock(self, st: dict[str, Any], acct: dict[str, Any]) -> int:
        """The account's cash held against its open shorts (0 without shorts)."""
        if all(q >= 0 for q in acct["positions"].values()):
            return 0
        return short_lock(acct["positions"], self.marks(st), self.config.short_margin)

    # -- session ----------------------------------------------------------------------------
    def _quote(self, world: World, event: Event, session: str, closes: bool) -> Iterable[Event]:
        st = world.entity(EXCHANGE)
        day = event.payload["day"]
        st["session"] = session
        st["day"] = day
        st["date"] = self.market.date_text[day]
        table = self.market.close_price if closes else self.market.open_price
        prices = {s: table(s, day) for s in self.market.symbols}
        body = {"request_id": event.payload.get("request_id"), "date": st["date"], "prices": prices}
        return [reply(EXCHANGE, event.source, "market.quote", body)]

    def on_open(self, world: World, event: Event) -> Iterable[Event]:
        return self._quote(world, event, "open", closes=False)

    def on_close(self, world: World, event: Event) -> Iterable[Event]:
        return self._quote(world, event, "closed", closes=True)

    # -- orders -----------------------------------------------------------------------------
    def _reject(self, world: World, order: dict[str, Any], reason: str) -> Iterable[Event]:
        st = world.entity(EXCHANGE)
        order.update(status="rejected", reason=reason)
        st["rejected"] += 1
        st["orders"].append(order)
        return [reply(EXCHANGE, order["requester"], "order.result", self._result(order))]

    @staticmethod
    def _result(order: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "request_id",
            "id",
            "symbol",
            "side",
            "qty",
            "type",
            "status",
            "price",
            "notional",
            "fee",
            "reason",
        )
        return {k: order.get(k) for k in keys}

    def _check(
        self, world: World, st: dict[str, Any], order: dict[str, Any], reject_draw: float
    ) -> str | None:
        cfg = self.config
        if not admit(st, world.now, cfg.capacity):
            return "exchange over capacity"
        if st["session"] != "open":
            return "market is closed"
        if order["symbol"] not in self.market.bars:
            return f"unknown symbol {order['symbol']!r}; listed: {', '.join(self.market.symbols)}"
        if order["side"] not in ("buy", "sell"):
            return f"side must be buy or sell, got {order['side']!r}"
        if order["type"] not in ("market", "limit"):
            return f"order type must be market or limit, got {order['type']!r}"
        if order["type"] == "limit" and not (isinstance(order["limit"], float | int) and order["limit"] > 0):
            return f"a limit order needs a positive limit price, got {order['limit']!r}"
        if not isinstance(order["qty"], int) or isinstance(order["qty"], bool) or order["qty"] <= 0:
            return f"quantity must be a positive whole number of shares, got {order['qty']!r}"
        if world.kinds.get(order["account"]) != "brokerage":
            return f"unknown brokerage account {order['account']!r}"
        if reject_draw < cfg.reject_rate:
            return "rejected by the venue"
        return None

    def on_order(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        st = world.entity(EXCHANGE)
        reject_draw, slip_draw = (float(x) for x in world.rng(self.stream).random(2))
        order = {
            "id": next_id(st, "order_counter", "ord"),
            "request_id": p.get("request_id"),
            "requester": event.source,
            "account": p.get("account"),
            "time": world.now,
            "date": st["date"],
            "symbol": p.get("symbol"),
            "side": p.get("side"),
            "qty": p.get("qty"),
            "type": p.get("type", "market"),
            "limit": p.get("limit"),
            "status": "new",
            "price": None,
            "notional": None,
            "fee": None,
            "reason": None,
        }
        reason = self._check(world, st, order, reject_draw)
        if reason is not None:
            return self._reject(world, order, reason)
        price, reason = self.fill_price(order, st["day"], self.slippage(slip_draw))
        if price is None:
            return self._reject(world, order, reason or "no price")
        qty = order["qty"]
        notional = notional_cents(price, qty)
        fee = self.fee(notional)
        acct = world.entity(order["account"])
        sym = order["symbol"]
        margin = self.config.short_margin
        lock = self.lock(st, acct)
        mark = self.market.open_price(sym, st["day"])
        if order["side"] == "buy":
            need = notional + fee
            covered = min(qty, max(0, -acct["positions"][sym]))
            lock -= int(round(notional_cents(mark, covered) * (1.0 + margin))) if covered else 0
        else:
            free = acct["positions"][sym] - acct["held"][sym]
            short = qty - max(free, 0)
            if short > 0 and not self.config.allow_short:
                return self._reject(
                    world,
                    order,
                    f"insufficient position: selling {qty} {sym}, holding {max(free, 0)} "
                    "(short selling is not allowed)",
                )
            # the proceeds come in, less the fee; the new short's lock must be covered
            grows = int(round(notional_cents(mark, short) * (1.0 + margin))) if short > 0 else 0
            need = max(0, grows + fee - notional)
        available = acct["balance"] - acct["reserved"] - max(lock, 0)
        if need > 0 and need > available:
            return self._reject(
                world, order, f"insufficient cash: needs {dollars(need)}, available {dollars(available)}"
            )
        order.update(status="settling", price=price, notional=notional, fee=fee, reserved=need)
        acct["reserved"] += need
        if order["side"] == "sell":
            acct["held"][sym] += qty
        st["pending"][order["id"]] = order
        legs = (
            [[ACCT_CLEARING, ACCT_MARKET, notional]]
            if order["side"] == "buy"
            else [[ACCT_MARKET, ACCT_CLEARING, notional]]
        )
        if fee:
            legs.append([ACCT_CLEARING, ACCT_FEES_EXCHANGE, fee])
        return [bank_transfer(EXCHANGE, order["id"], legs, "exchange.settled")]

    def on_settled(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        st = world.entity(EXCHANGE)
        order = st["pending"].pop(p["ref"])
        acct = world.entity(order["account"])
        sym, qty = order["symbol"], order["qty"]
        acct["reserved"] -= order.pop("reserved")
        if order["side"] == "sell":
            acct["held"][sym] -= qty
        if not p["ok"]:
            return self._reject(world, order, f"settlement refused: {p['reason']}")
        if order["side"] == "buy":
            acct["balance"] -= order["notional"] + order["fee"]
            acct["positions"][sym] += qty
        else:
            acct["balance"] += order["notional"] - order["fee"]
            acct["positions"][sym] -= qty
        order["status"] = "filled"
        st["filled"] += 1
        st["fees"] += order["fee"]
        st["orders"].append(order)
        return [reply(EXCHANGE, order["requester"], "order.result", self._result(order))]

    # -- cash in and out --------------------------------------------------------------------
    def on_credit(self, world: World, event: Event) -> Iterable[Event]:
        """A payment into a brokerage account has settled at the clearing account."""
        p = event.payload
        st = world.entity(EXCHANGE)
        account, amount = p.get("account"), p.get("amount")
        ok = world.kinds.get(account) == "brokerage" and isinstance(amount, int) and amount > 0
        reason = None if ok else f"cannot credit {amount!r} to {account!r}"
        if ok:
            world.entity(account)["balance"] += amount
        st["transfers"].append(
            {
                "id": next_id(st, "transfer_counter", "xfer"),
                "time": world.now,
                "kind": "credit",
                "account": account,
                "amount": amount,
                "ref": p.get("ref"),
                "ok": ok,
            }
        )
        return [
            reply(
                EXCHANGE,
                event.source,
                p.get("reply", "exchange.credited"),
                {"ref": p.get("ref"), "ok": ok, "reason": reason},
            )
        ]

    def on_withdraw(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        st = world.entity(EXCHANGE)
        account, amount, to = p.get("account"), p.get("amount"), p.get("to")
        transfer = {
            "id": next_id(st, "transfer_counter", "xfer"),
            "request_id": p.get("request_id"),
            "requester": event.source,
            "time": world.now,
            "kind": "withdrawal",
            "account": account,
            "amount": amount,
            "to": to,
            "ok": False,
        }
        reason = None
        if world.kinds.get(account) != "brokerage":
            reason = f"unknown brokerage account {account!r}"
        elif not isinstance(amount, int) or amount <= 0:
            reason = f"amount must be a positive number of cents, got {amount!r}"
        else:
            acct = world.entity(account)
            available = acct["balance"] - acct["reserved"] - self.lock(st, acct)
            if amount > available:
                reason = f"insufficient cash: withdrawing {dollars(amount)}, available {dollars(available)}"
        if reason is not None:
            st["transfers"].append(transfer)
            return [
                reply(
                    EXCHANGE,
                    event.source,
                    "withdraw.result",
                    {"request_id": p.get("request_id"), "ok": False, "amount": amount, "reason": reason},
                )
            ]
        world.entity(account)["balance"] -= amount
        st["pending"][transfer["id"]] = transfer
        body = {"ref": transfer["id"], "legs": [[ACCT_CLEARING, to, amount]], "reply": "exchange.withdrawn"}
        return [Event("bank.transfer", EXCHANGE, BANK, body)]

    def on_withdrawn(self, world: World, event: Event) -> Iterable[Event]:
        p = event.payload
        st = world.entity(EXCHANGE)
        transfer = st["pending"].pop(p["ref"])
        if not p["ok"]:
            world.entity(transfer["account"])["balance"] += transfer["amount"]
        transfer["ok"] = bool(p["ok"])
        st["transfers"].append(transfer)
        body = {
            "request_id": transfer["request_id"],
            "ok": transfer["ok"],
            "amount": transfer["amount"],
            "reason": None if p["ok"] else f"bank refused: {p['reason']}",
        }
        return [reply(EXCHANGE, transfer["requester"], "withdraw.result", body)]
