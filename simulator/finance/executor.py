"""The 6-phase executor: per trading day, analyze -> plan -> validate -> execute -> evaluate ->
consolidate, each phase working through the services and ending in a checkpoint.

The executor is the trader's actor. It only emits intents, waits and observes; the services'
reducers answer into the trader's inbox, and `phase.complete` (applied by the trader's
reducer) stores the phase's result and advances (cycle, phase). The loop reads its position
from that state, so an executor started on a World restored from a checkpoint continues
exactly where the original run was, and its checkpoints chain on from the restored one.

Every request's chain of events ends with the reply to the trader, so once all replies are in,
nothing the phase caused is still in flight: the checkpoint sees settled, plain-data state.
Phase `p` of cycle `c` starts no earlier than simulation time `c + p/6` (a day per cycle).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from ..engine import ActorContext
from .book import ledger_gap
from .checkpoints import Checkpoint, Provenance
from .context import PHASES, SimulationContext
from .errors import LedgerError
from .money import affordable_qty, fee_cents, notional_cents, to_cents
from .services import (
    ACCOUNTS,
    ACCT_CLEARING,
    ACCT_TRADER,
    BROKERAGE,
    COMPLIANCE,
    EXCHANGE,
    PAYMENTS,
    TRADER,
)
from .services.exchange import short_lock
from .strategies import MarketView

Steps = Generator[Any, Any, Any]
ZERO_WAITS = 16  # zero-time waits before polling: chains of zero-latency events settle at once


class PhaseExecutor:
    """Runs the cycles of one SimulationContext as the trader's SimPy process."""

    def __init__(
        self,
        ctx: SimulationContext,
        provenance: Provenance,
        on_checkpoint: Callable[[Checkpoint], None],
        *,
        resume_time: float = 0.0,
        stop_after: int | None = None,
        team: Any = None,
    ) -> None:
        """`team`: a `simulator.orchestration.phases.PhaseTeam` reviewing each phase (default:
        the one the config asks for, `ctx.team`, or none)."""
        self.ctx = ctx
        self.market = ctx.market
        self.config = ctx.config
        self.provenance = provenance
        self.on_checkpoint = on_checkpoint
        self.resume_time = resume_time
        self.stop_after = stop_after
        self.team = team if team is not None else ctx.team
        self.taken = 0
        self._seq = 0  # requests made in the current phase (request ids: cycle.phase.n)
        ex = ctx.config.services.exchange
        self.fee_rate = ex.fee_rate
        self.min_fee = to_cents(ex.min_fee)
        self.worst_slip = (ex.slippage_bps + ex.slippage_jitter_bps) / 1e4
        self.handlers = (
            self.analyze,
            self.plan,
            self.validate,
            self.execute,
            self.evaluate,
            self.consolidate,
        )

    # -- the process ------------------------------------------------------------------------
    def behaviour(self, actor: ActorContext) -> Steps:
        if actor.now < self.resume_time:
            yield actor.wait(self.resume_time - actor.now)
        days = self.market.days
        while actor.me["cycle"] < days:
            cycle, phase = actor.me["cycle"], actor.me["phase"]
            slot = cycle + phase / len(PHASES)
            if actor.now < slot:
                yield actor.wait(slot - actor.now)
            self._seq = 0
            result = yield from self.handlers[phase](actor, cycle)
            if self.team is not None:
                result = yield from self.team.review(PHASES[phase], cycle, result)
            actor.emit("phase.complete", TRADER, {"cycle": cycle, "phase": phase, "result": result})
            yield from self._until(
                actor, lambda c=cycle, p=phase: (actor.me["cycle"], actor.me["phase"]) != (c, p)
            )
            cp = self.provenance.take(cycle, PHASES[phase], self.market.date(cycle))
            self.on_checkpoint(cp)
            self.taken += 1
            if self.stop_after is not None and self.taken >= self.stop_after:
                return

    def _until(self, actor: ActorContext, done: Callable[[], bool]) -> Steps:
        waits = 0
        while not done():
            yield actor.wait(0.0 if waits < ZERO_WAITS else self.config.executor.poll)
            waits += 1

    def _ask(self, actor: ActorContext, requests: Sequence[tuple[str, str, dict[str, Any]]]) -> Steps:
        """Emit requests, wait for every reply; returns the replies in request order."""
        ids = []
        cycle, phase = actor.me["cycle"], actor.me["phase"]
        for event_type, target, payload in requests:
            self._seq += 1
            rid = f"{cycle}.{phase}.{self._seq}"
            ids.append(rid)
            actor.emit(event_type, target, {**payload, "request_id": rid})
        yield from self._until(actor, lambda: all(r in actor.me["inbox"] for r in ids))
        inbox = actor.me["inbox"]
        return [inbox[r] for r in ids]

    def _cash(self, obs: dict[str, dict[str, Any]], prices: dict[str, float]) -> tuple[int, int]:
        """(bank cash, free brokerage cash) from an observation of both accounts: free is what
        is neither reserved for settling orders nor held against shorts marked at `prices`."""
        brk = obs[BROKERAGE]
        lock = short_lock(brk["positions"], prices, self.config.services.exchange.short_margin)
        return obs[ACCT_TRADER]["balance"], brk["balance"] - brk["reserved"] - lock

    # -- phases -----------------------------------------------------------------------------
    def analyze(self, actor: ActorContext, cycle: int) -> Steps:
        """Open the day, value the book at the open, ask the strategy for target weights."""
        day = self.market.index(cycle)
        (quote,) = yield from self._ask(actor, [("market.open", EXCHANGE, {"day": day})])
        opens = quote["prices"]
        obs = yield actor.observe([ACCT_TRADER, BROKERAGE])
        positions = obs[BROKERAGE]["positions"]
        cash = obs[ACCT_TRADER]["balance"] + obs[BROKERAGE]["balance"]
        equity = cash + sum(positions[s] * opens[s] * 100 for s in self.market.symbols)
        current = {
            s: (positions[s] * opens[s] * 100 / equity if equity > 0 else 0.0) for s in self.market.symbols
        }
        targets = self.ctx.profile.apply(self.ctx.strategy.weights(MarketView(self.market, day), current))
        if not self.config.services.exchange.allow_short:
            targets = {s: max(0.0, w) for s, w in targets.items()}
        return {
            "date": quote["date"],
            "open": opens,
            "equity": equity / 100,
            "current": current,
            "targets": targets,
        }

    def plan(self, actor: ActorContext, cycle: int) -> Steps:
        """Turn target weights into orders (sells first), skipping moves inside the band.

        Going from long to short (or back) is two orders: the exit, which closes the position,
        then the entry, which opens the new side; so the exit never waits on the entry's margin.
        """
        a = actor.me["work"]["analyze"]
        book = actor.me["book"]
        band = self.ctx.profile.rebalance_band
        orders: list[dict[str, Any]] = []
        for s in self.market.symbols:
            price, target, now = a["open"][s], a["targets"][s], a["current"][s]
            held = book[s]["qty"]
            want = int(target * a["equity"] / price)
            if want == held or (target != 0.0 and abs(target - now) < band):
                continue
            side = "buy" if want > held else "sell"
            flips = held != 0 and want != 0 and (held > 0) != (want > 0)
            for qty in (abs(held), abs(want)) if flips else (abs(want - held),):
                orders.append(self._planned(f"{cycle}.{len(orders)}", s, side, qty, price))
        orders.sort(key=lambda o: o["side"] != "sell")
        yield from ()  # a phase is a generator, even one that needs no service
        return {"orders": orders}

    def _planned(self, oid: str, symbol: str, side: str, qty: int, price: float) -> dict[str, Any]:
        ex = self.config.executor
        order: dict[str, Any] = {
            "id": oid,
            "symbol": symbol,
            "side": side,
            "qty": qty,
            "type": ex.order_type,
            "limit": None,
        }
        if ex.order_type == "limit":
            offset = ex.limit_offset_bps / 1e4
            order["limit"] = round(price * (1 + offset if side == "buy" else 1 - offset), 6)
        order["amount"] = notional_cents(price, qty)
        return order

    def validate(self, actor: ActorContext, cycle: int) -> Steps:
        """Compliance approves or denies each planned order."""
        orders = actor.me["work"]["plan"]["orders"]
        venue = self.config.services.exchange.venue
        requests = [
            (
                "compliance.check",
                COMPLIANCE,
                {
                    "action": {
                        "kind": "order",
                        "symbol": o["symbol"],
                        "side": o["side"],
                        "qty": o["qty"],
                        "amount": o["amount"],
                        "counterparty": venue,
                    }
                },
            )
            for o in orders
        ]
        replies = (yield from self._ask(actor, requests)) if requests else []
        decided = list(zip(orders, replies, strict=True))
        return {
            "approved": [o["id"] for o, r in decided if r["approved"]],
            "denied": [{"id": o["id"], "reason": r["reason"]} for o, r in decided if not r["approved"]],
        }

    def _order(self, o: dict[str, Any], qty: int) -> tuple[str, str, dict[str, Any]]:
        body = {
            "account": BROKERAGE,
            "symbol": o["symbol"],
            "side": o["side"],
            "qty": qty,
            "type": o["type"],
            "limit": o["limit"],
        }
        return ("exchange.order", EXCHANGE, body)

    def _buy_price(self, o: dict[str, Any], open_price: float) -> float:
        worst = open_price * (1.0 + self.worst_slip)
        return min(worst, o["limit"]) if o["type"] == "limit" else worst

    def _sell_price(self, o: dict[str, Any], open_price: float) -> float:
        worst = open_price * (1.0 - self.worst_slip)
        return max(worst, o["limit"]) if o["type"] == "limit" else worst

    def _cost(self, notional: int) -> int:
        return notional + fee_cents(notional, self.fee_rate, self.min_fee)

    def _locked(self, notional: int) -> int:
        """Cash the exchange holds against a short of this value (see `short_lock`)."""
        return int(round(notional * (1.0 + self.config.services.exchange.short_margin)))

    def _cover_need(self, o: dict[str, Any], opens: dict[str, float], qty: int) -> int:
        """A cover's cost less the lock it releases (what it takes from free cash, at worst)."""
        price = opens[o["symbol"]]
        return self._cost(notional_cents(self._buy_price(o, price), qty)) - self._locked(
            notional_cents(price, qty)
        )

    def _short_need(self, o: dict[str, Any], opens: dict[str, float], qty: int) -> int:
        """Free cash a new short takes, at worst: its lock plus the fee, less its proceeds."""
        price = opens[o["symbol"]]
        proceeds = notional_cents(self._sell_price(o, price), qty)
        fee = fee_cents(proceeds, self.fee_rate, self.min_fee)
        return self._locked(notional_cents(price, qty)) + fee - proceeds

    @staticmethod
    def _largest(qty: int, fits: Callable[[int], bool]) -> int:
        """The largest q <= qty with fits(q) (bisection; fits must hold below some bound)."""
        if fits(qty):
            return qty
        lo, hi = 0, qty
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return lo

    @staticmethod
    def _legs(orders: Sequence[dict[str, Any]], book: dict[str, Any]) -> tuple[list, list]:
        """(exits, entries): orders that move a position towards zero, and those that open one."""
        pos = {s: p["qty"] for s, p in book.items()}
        exits, entries = [], []
        for o in orders:
            sign = 1 if o["side"] == "buy" else -1
            (exits if pos[o["symbol"]] * sign < 0 else entries).append(o)
            pos[o["symbol"]] += sign * o["qty"]
        return exits, entries

    def _fund(self, actor: ActorContext, need: int, bank_cash: int) -> Steps:
        """Move `need` cents from the bank to the brokerage through a payment intent."""
        pay = self.ctx.services.payments
        amount = min(need, int((bank_cash - pay.fee_fixed) / (1.0 + self.config.services.payments.fee_rate)))
        while amount > 0 and amount + pay.fee(amount) > bank_cash:
            amount -= 1
        if amount <= 0:
            return {"ok": False, "amount": 0, "reason": "no cash at the bank"}
        (result,) = yield from self._ask(
            actor,
            [
                (
                    "payment.create",
                    PAYMENTS,
                    {"amount": amount, "from": ACCT_TRADER, "to": ACCT_CLEARING, "beneficiary": BROKERAGE},
                )
            ],
        )
        return {k: result[k] for k in ("ok", "amount", "fee", "intent_id", "reason")}

    def execute(self, actor: ActorContext, cycle: int) -> Steps:
        """Exit positions (sell longs), then fund what the rest needs through one payment if the
        brokerage lacks cash, then cover shorts, open shorts and buy, each sized to the cash."""
        work = actor.me["work"]
        approved = set(work["validate"]["approved"])
        planned = work["plan"]["orders"]
        opens = work["analyze"]["open"]
        exits, entries = self._legs(planned, actor.me["book"])
        exits = [o for o in exits if o["id"] in approved]
        entries = [o for o in entries if o["id"] in approved]
        sells = [o for o in exits if o["side"] == "sell"]
        groups = (
            ("cover", [o for o in exits if o["side"] == "buy"]),
            ("short", [o for o in entries if o["side"] == "sell"]),
            ("buy", [o for o in entries if o["side"] == "buy"]),
        )
        results: list[dict[str, Any]] = []
        if sells:
            results += yield from self._ask(actor, [self._order(o, o["qty"]) for o in sells])
        funding = None
        skipped: list[dict[str, Any]] = []
        if any(group for _, group in groups):
            obs = yield actor.observe([ACCT_TRADER, BROKERAGE])
            bank_cash, free = self._cash(obs, opens)
            need = 0
            for kind, group in groups:
                for o in group:
                    need += self._need(kind, o, opens, o["qty"])
            if need > free:
                funding = yield from self._fund(actor, need - free, bank_cash)
                obs = yield actor.observe([ACCT_TRADER, BROKERAGE])
            sent = False
            for kind, planned_group in groups:
                group = self._open_side_ok(kind, planned_group, actor.me["book"], skipped)
                if not group:
                    continue
                if sent:  # what the previous group really filled and released
                    obs = yield actor.observe([ACCT_TRADER, BROKERAGE])
                requests = self._sized(kind, group, obs, opens, skipped)
                if requests:
                    results += yield from self._ask(actor, requests)
                    sent = True
        fills = [r for r in results if r["status"] == "filled"]
        return {
            "fills": [{k: r[k] for k in ("id", "symbol", "side", "qty", "price", "fee")} for r in fills],
            "rejected": [
                {"symbol": r["symbol"], "side": r["side"], "reason": r["reason"]}
                for r in results
                if r["status"] != "filled"
            ],
            "skipped": skipped,
            "funding": funding,
        }

    @staticmethod
    def _open_side_ok(
        kind: str, group: list[dict[str, Any]], book: dict[str, Any], skipped: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Entries go only on a flat or same-side position (the exit before them may have failed)."""
        if kind == "cover":
            return group
        ok = []
        for o in group:
            held = book[o["symbol"]]["qty"]
            if (kind == "short" and held > 0) or (kind == "buy" and held < 0):
                skipped.append({"id": o["id"], "reason": f"the exit did not fill: still holding {held}"})
            else:
                ok.append(o)
        return ok

    def _need(self, kind: str, o: dict[str, Any], opens: dict[str, float], qty: int) -> int:
        if kind == "cover":
            return self._cover_need(o, opens, qty)
        if kind == "short":
            return self._short_need(o, opens, qty)
        return self._cost(notional_cents(self._buy_price(o, opens[o["symbol"]]), qty))

    def _sized(
        self,
        kind: str,
        group: list[dict[str, Any]],
        obs: dict[str, dict[str, Any]],
        opens: dict[str, float],
        skipped: list[dict[str, Any]],
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """Each order of a group cut to what the brokerage's free cash allows (at worst prices)."""
        _, free = self._cash(obs, opens)
        requests = []
        for o in group:
            if kind == "buy":
                price = self._buy_price(o, opens[o["symbol"]])
                qty = min(o["qty"], affordable_qty(free, price, self.fee_rate, self.min_fee))
            else:
                qty = self._largest(o["qty"], lambda q, o=o, f=free: self._need(kind, o, opens, q) <= f)
            if qty <= 0:
                skipped.append({"id": o["id"], "reason": "not enough cash"})
                continue
            if kind == "cover":  # its lock is released only when it settles, after the rest of
                # its group is checked: until then the exchange holds both the lock and its cost
                free -= self._cost(notional_cents(self._buy_price(o, opens[o["symbol"]]), qty))
            else:
                free -= self._need(kind, o, opens, qty)
            requests.append(self._order(o, qty))
        return requests

    def evaluate(self, actor: ActorContext, cycle: int) -> Steps:
        """Close the day, mark the book to the close, check that no money was created or lost."""
        (quote,) = yield from self._ask(
            actor, [("market.close", EXCHANGE, {"day": self.market.index(cycle)})]
        )
        closes = quote["prices"]
        obs = yield actor.observe([*ACCOUNTS, BROKERAGE])
        me = actor.me
        brk = obs[BROKERAGE]
        cash = obs[ACCT_TRADER]["balance"] + brk["balance"]
        book = me["book"]
        value = sum(brk["positions"][s] * closes[s] * 100 for s in self.market.symbols)
        cost = sum(book[s]["cost"] for s in self.market.symbols)
        gap = ledger_gap(me, cash)
        bank_total = sum(obs[a]["balance"] for a in ACCOUNTS)
        problems = []
        if gap:
            problems.append(f"cash + cost basis is off by {gap} cents from initial + realised - fees")
        for s in self.market.symbols:
            if book[s]["qty"] != brk["positions"][s]:
                problems.append(
                    f"{s}: the trader's book holds {book[s]['qty']}, the exchange {brk['positions'][s]}"
                )
        if obs[ACCT_CLEARING]["balance"] != brk["balance"]:
            problems.append(
                f"clearing account {obs[ACCT_CLEARING]['balance']} != brokerage cash {brk['balance']}"
            )
        if bank_total != me["initial"]:
            problems.append(f"money in the bank {bank_total} != initial {me['initial']}")
        if problems and self.config.executor.strict:
            raise LedgerError(f"cycle {cycle} ({quote['date']}): " + "; ".join(problems))
        capital = (cash + value) / 100
        prev = me["capital"]
        return {
            "date": quote["date"],
            "close": closes,
            "cash": cash,
            "market_value": value / 100,
            "unrealised": (value - cost) / 100,
            "capital": capital,
            "return": capital / prev - 1.0 if prev > 0 else 0.0,
            "gap": gap,
            "problems": problems,
        }

    def consolidate(self, actor: ActorContext, cycle: int) -> Steps:
        """Sweep idle brokerage cash back to the bank; record the cycle's return and capital."""
        swept = 0
        if self.config.executor.sweep:
            obs = yield actor.observe([ACCT_TRADER, BROKERAGE])
            _, free = self._cash(obs, actor.me["work"]["evaluate"]["close"])
            if free > 0:
                (result,) = yield from self._ask(
                    actor,
                    [
                        (
                            "exchange.withdraw",
                            EXCHANGE,
                            {"account": BROKERAGE, "amount": free, "to": ACCT_TRADER},
                        )
                    ],
                )
                swept = free if result["ok"] else 0
        ev = actor.me["work"]["evaluate"]
        return {"phase_return": ev["return"], "capital": ev["capital"], "swept": swept}
