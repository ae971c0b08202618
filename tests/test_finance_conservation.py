"""With payment failures, compliance denials and exchange rejections injected, no money is
created or lost: checked every cycle, from the checkpoints the run wrote."""

from __future__ import annotations

import json

import pytest

from simulator.finance import LedgerError, SimulationRuntime
from simulator.finance.services import ACCOUNTS, BROKERAGE

from .test_finance_support import FAULTY, make_config


def _cycles(outcome):
    """(evaluate data, trader state) for each cycle, from the 'evaluate' checkpoints."""
    for cp in outcome.checkpoints:
        if cp.phase == "evaluate":
            data = json.loads(cp.text)
            yield data["state"]["trader"]["work"]["evaluate"], data["state"]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {
            "services.exchange.allow_short": True,
            "strategy.params": {"window": 5, "entry_z": 0.5, "short": True},
        },
        {"executor.order_type": "limit", "seed": 5},
        {"executor.sweep": False},
        {
            "services.latency": [
                {"source": "*", "target": "*", "base": 0.001, "dist": "exponential", "scale": 0.01}
            ]
        },
    ],
    ids=["faults", "shorts", "limits", "no-sweep", "latency"],
)
def test_money_is_conserved_every_cycle_under_faults(overrides):
    outcome = SimulationRuntime().run(make_config(FAULTY, **overrides), keep=True)
    r = outcome.result
    # the faults really happened (without sweeps, cash stays at the broker: few payments), and
    # trading still went on
    assert r.compliance_denied > 0 and r.orders_rejected > 0
    assert r.payments_failed > 0 or overrides.get("executor.sweep") is False
    assert r.total_trades >= 10
    initial = round(FAULTY["initial_capital"] * 100)
    cycles = short_cycles = 0
    for ev, state in _cycles(outcome):
        cycles += 1
        short_cycles += any(q < 0 for q in state[BROKERAGE]["positions"].values())
        trader, brk = state["trader"], state[BROKERAGE]
        cash = state["acct/trader"]["balance"] + brk["balance"]
        assert ev["gap"] == 0 and ev["problems"] == []
        cost = sum(p["cost"] for p in trader["book"].values())
        assert cash + cost == initial + trader["realised"] - trader["fees"]  # exact, in cents
        # the form: cash + positions at market == initial + realised P&L (+ unrealised) - fees
        at_market = (cash + sum(brk["positions"][s] * ev["close"][s] * 100 for s in brk["positions"])) / 100
        expected = (initial + trader["realised"] - trader["fees"]) / 100 + ev["unrealised"]
        assert at_market == pytest.approx(expected, abs=1e-6)
        assert at_market == pytest.approx(ev["capital"], abs=1e-6)
        assert sum(state[a]["balance"] for a in ACCOUNTS) == initial  # the bank never creates money
        assert state["acct/clearing"]["balance"] == brk["balance"]
        assert {s: p["qty"] for s, p in trader["book"].items()} == brk["positions"]
    assert cycles == r.cycles
    if overrides.get("services.exchange.allow_short"):
        assert short_cycles >= 10  # it really was short, with every fault injected
    assert r.fees > 0 and r.final_capital == pytest.approx(ev["capital"])


def test_a_ledger_leak_is_caught_in_the_cycle_it_happens(monkeypatch):
    """If fills were booked without their fee, the evaluate phase would stop the run."""
    import simulator.finance.context as context

    real = context.apply_fill

    def leaky(trader, fill):
        return real(trader, {**fill, "fee": 0})

    monkeypatch.setattr(context, "apply_fill", leaky)
    with pytest.raises(
        LedgerError, match=r"^cycle \d+ \(2008-\d\d-\d\d\): cash \+ cost basis is off by -\d+ cents"
    ):
        SimulationRuntime().run(make_config(FAULTY))
