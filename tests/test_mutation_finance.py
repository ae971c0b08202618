"""Finance properties that surviving mutants showed no test checked (docs/mutation.md)."""

from __future__ import annotations

import json

import pytest

from simulator.engine import Event
from simulator.finance import SimulationRuntime
from simulator.finance.context import PHASES
from simulator.finance.services import BANK, PAYMENTS, TRADER
from simulator.finance.services.common import ACCT_CLEARING, ACCT_TRADER
from simulator.finance.strategies import MeanReversion
from simulator.store import Store

from .test_finance_support import FAULTY, make_config, service_world


def test_stored_checkpoints_carry_the_cycle_and_phase_their_data_holds(tmp_path):
    """Each checkpoint row's cycle / phase / date columns equal its hashed data; the
    cycle counts whole days: checkpoint i is phase i % 6 of cycle i // 6."""
    with Store(tmp_path / "f.sqlite") as store:
        outcome = SimulationRuntime(store).run(make_config(FAULTY), keep=True)
        rows = store.get_checkpoints(outcome.simulation_id)
    assert len(rows) == len(outcome.checkpoints) == len(PHASES) * outcome.result.cycles > 0
    for i, (row, cp) in enumerate(zip(rows, outcome.checkpoints, strict=True)):
        data = json.loads(cp.text)
        assert (cp.cycle, cp.phase, cp.date) == (data["cycle"], data["phase"], data["date"])
        assert (row.cycle, row.phase, row.date) == (data["cycle"], data["phase"], data["date"])
        assert (row.phase_index, row.cycle, row.phase) == (i, i // len(PHASES), PHASES[i % len(PHASES)])


class _FlatView:
    """A market whose window of opens is flat: zero standard deviation."""

    def __init__(self, price: float, open_: float) -> None:
        self.price, self.open_ = price, open_
        self.symbols = ("flat",)

    def history(self, symbol: str, window: int):
        return [self.price] * window

    def open(self, symbol: str) -> float:
        return self.open_


@pytest.mark.parametrize("held", [0.0, 10.0, -10.0])
def test_mean_reversion_on_a_flat_window_keeps_its_side(held):
    """No deviation is defined when the window is flat: hold what is held, open nothing."""
    strategy = MeanReversion(window=5, entry_z=1.0, short=True)
    view = _FlatView(100.0, 90.0)  # the open is far below the window's mean
    weight = strategy.params.weight
    side = weight if held > 0 else -weight if held < 0 else 0.0
    assert strategy.weights(view, {"flat": held}) == {"flat": side}


def test_mean_reversion_trades_when_the_deviation_is_exactly_one():
    """A window whose sample deviation is exactly 1.0 is an ordinary window."""
    strategy = MeanReversion(window=3, entry_z=1.0, short=True)
    view = _FlatView(0.0, 0.0)
    view.history = lambda symbol, window: [98.0, 99.0, 100.0]  # mean 99, sample std exactly 1
    for open_, expected in ((97.0, strategy.params.weight), (101.0, -strategy.params.weight)):
        view.open_ = open_
        assert strategy.weights(view, {}) == {"flat": expected}


def test_a_payment_asks_the_bank_as_payments_and_the_bank_answers_payments():
    """The bank transfer of a payment is sent by the payments service, so the bank's reply
    goes back to it (and over the payments->bank latency channel)."""
    ctx, _ = service_world()
    seen: list[Event] = []
    for kind in ("bank.transfer", "payment.settled"):
        applied = ctx.world.reducers.pop(kind)

        def spy(world, event, applied=applied):
            seen.append(event)
            return applied(world, event)

        ctx.world.on(kind, spy)
    ctx.world.emit(
        Event("payment.create", TRADER, PAYMENTS, {"amount": 500, "from": ACCT_TRADER, "to": ACCT_CLEARING})
    )
    ctx.world.run()
    assert [(e.type, e.source, e.target) for e in seen] == [
        ("bank.transfer", PAYMENTS, BANK),
        ("payment.settled", BANK, PAYMENTS),
    ]
    assert ctx.world.entities[PAYMENTS]["intents"][0]["status"] == "succeeded"
