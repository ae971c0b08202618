"""Each strategy's rule on hand-made prices, at its boundaries: a return exactly at the
threshold, a z-score exactly at entry or exit, equal moving averages, too little history;
and the risk profile's caps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.finance.market import Bars, MarketData
from simulator.finance.strategies import (
    RISK_PROFILES,
    MarketView,
    MeanReversion,
    Momentum,
    MovingAverageTrend,
    RiskParity,
    RiskProfile,
    VolTargetTrend,
    _realised_vol,
    _trend,
    make_strategy,
)


def view(closes: dict[str, list[float]], opens: dict[str, float] | None = None) -> MarketView:
    """Aligned days whose closes are given; the view stands on the day after the last close."""
    n = len(next(iter(closes.values()))) + 1
    days = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + n)
    bars = []
    for s, c in closes.items():
        close = np.array([*c, c[-1]], dtype=float)
        open_ = close.copy()
        open_[-1] = (opens or {}).get(s, c[-1])
        bars.append(Bars(s, "hand", days, open_, np.maximum(open_, close) + 1, np.minimum(open_, close) / 2,
                         close, np.zeros(n)))  # fmt: skip
    return MarketView(MarketData(bars), n - 1)


def test_momentum_needs_a_return_strictly_above_its_threshold():
    m = Momentum(lookback=3, threshold=0.25, weight=0.8, short=True)
    assert m.weights(view({"A": [1.0, 1.0, 1.5]}), {}) == {"A": 0.8}
    assert m.weights(view({"A": [1.0, 5.0, 1.25]}), {}) == {"A": 0.0}  # 25% exactly: not above
    assert m.weights(view({"A": [1.0, 1.0, 0.75]}), {}) == {"A": 0.0}  # -25% exactly: not below
    assert m.weights(view({"A": [1.0, 1.0, 0.5]}), {}) == {"A": -0.8}
    assert Momentum(lookback=3, threshold=0.25).weights(view({"A": [1.0, 1.0, 0.5]}), {}) == {"A": 0.0}
    assert m.weights(view({"A": [1.0, 2.0]}), {}) == {"A": 0.0}  # two closes for a lookback of three
    two = m.weights(view({"A": [1.0, 1.0, 1.5], "B": [1.0, 1.0, 0.5]}), {})
    assert two == {"A": 0.4, "B": -0.4}  # split across symbols


def test_mean_reversion_enters_at_entry_z_and_exits_at_exit_z():
    h = [1.0, 2.0, 3.0]  # mean 2, std 1
    m = MeanReversion(window=3, entry_z=1.0, exit_z=0.5, weight=1.0, short=True)
    assert m.weights(view({"A": h}, {"A": 1.0}), {}) == {"A": 1.0}  # z = -1: enter long
    assert m.weights(view({"A": h}, {"A": 1.01}), {}) == {"A": 0.0}
    assert m.weights(view({"A": h}, {"A": 3.0}), {}) == {"A": -1.0}  # z = +1: enter short
    assert MeanReversion(window=3).weights(view({"A": h}, {"A": 3.0}), {}) == {"A": 0.0}
    assert m.weights(view({"A": h}, {"A": 1.5}), {"A": 0.3}) == {"A": 0.0}  # long, z = -0.5: exit
    assert m.weights(view({"A": h}, {"A": 1.49}), {"A": 0.3}) == {"A": 1.0}  # still below: hold
    assert m.weights(view({"A": h}, {"A": 2.5}), {"A": -0.3}) == {"A": 0.0}  # short, z = 0.5: exit
    assert m.weights(view({"A": h}, {"A": 2.51}), {"A": -0.3}) == {"A": -1.0}
    assert m.weights(view({"A": [1.0, 2.0]}, {"A": 0.0}), {"A": -0.2}) == {"A": -1.0}  # short history: hold


def test_trend_compares_the_fast_and_slow_means_and_ties_are_flat():
    assert _trend(view({"A": [1.0, 2.0, 3.0]}), "A", 1, 3) == 1
    assert _trend(view({"A": [3.0, 2.0, 1.0]}), "A", 1, 3) == -1
    assert _trend(view({"A": [1.0, 3.0, 2.0]}), "A", 1, 3) == 0
    assert _trend(view({"A": [1.0, 2.0]}), "A", 1, 3) == 0
    ma = MovingAverageTrend(fast=1, slow=3, weight=0.5, short=True)
    assert ma.weights(view({"A": [3.0, 2.0, 1.0]}), {}) == {"A": -0.5}
    assert MovingAverageTrend(fast=1, slow=3).weights(view({"A": [3.0, 2.0, 1.0]}), {}) == {"A": 0.0}


def test_realised_vol_is_the_annualised_std_of_log_returns():
    closes = [100.0, 101.0, 99.0, 102.0]
    expected = np.std(np.diff(np.log(closes)), ddof=1) * math.sqrt(252)
    assert _realised_vol(view({"A": closes}), "A", 3) == pytest.approx(expected, rel=1e-12)
    assert _realised_vol(view({"A": closes}), "A", 4) == 0.0


def test_vol_target_sizes_to_its_target_capped_by_the_weight():
    closes = [100.0, 101.0, 99.0, 102.0, 104.0]
    vol = _realised_vol(view({"A": closes}), "A", 3)
    s = VolTargetTrend(fast=1, slow=3, vol_window=3, target_vol=vol / 2, weight=1.0)
    assert s.weights(view({"A": closes}), {}) == {"A": pytest.approx(0.5)}
    s = VolTargetTrend(fast=1, slow=3, vol_window=3, target_vol=2.0, weight=0.7)
    assert s.weights(view({"A": closes}), {}) == {"A": 0.7}
    down = [104.0, 102.0, 99.0, 101.0, 98.0]
    assert VolTargetTrend(fast=1, slow=3, vol_window=3).weights(view({"A": down}), {}) == {"A": 0.0}
    short = VolTargetTrend(fast=1, slow=3, vol_window=3, target_vol=2.0, weight=0.7, short=True)
    assert short.weights(view({"A": down}), {}) == {"A": -0.7}
    young = VolTargetTrend(fast=1, slow=3, vol_window=5, target_vol=2.0)  # a trend, no volatility yet
    assert young.weights(view({"A": closes}), {}) == {"A": 0.0}
    flat = [100.0] * 5
    assert short.weights(view({"A": flat}), {}) == {"A": 0.0}


def test_risk_parity_weights_inversely_to_volatility():
    a, b = [100.0, 102.0, 99.0, 103.0], [50.0, 50.5, 50.2, 50.9]
    v = view({"A": a, "B": b})
    va, vb = _realised_vol(v, "A", 3), _realised_vol(v, "B", 3)
    got = RiskParity(vol_window=3, gross=0.9).weights(v, {})
    assert got["A"] == pytest.approx(0.9 * (1 / va) / (1 / va + 1 / vb))
    assert got["B"] == pytest.approx(0.9 * (1 / vb) / (1 / va + 1 / vb))
    assert sum(got.values()) == pytest.approx(0.9)
    assert RiskParity(vol_window=5, gross=0.9).weights(v, {}) == {"A": 0.45, "B": 0.45}  # no vol yet


def test_the_risk_profile_caps_each_weight_then_the_gross():
    p = RiskProfile(name="x", max_weight=0.6, max_gross=1.0, rebalance_band=0.0)
    assert p.apply({"A": 0.9, "B": -0.9}) == {"A": pytest.approx(0.5), "B": pytest.approx(-0.5)}
    assert p.apply({"A": 0.5, "B": -0.5}) == {"A": 0.5, "B": -0.5}  # gross exactly at the cap
    assert p.apply({"A": 0.2}) == {"A": 0.2}
    assert RISK_PROFILES["conservative"].apply({"A": 1.0}) == {"A": 0.5}


def test_a_strategy_is_made_by_name_with_its_parameters_checked():
    assert make_strategy("momentum", {"lookback": 5}).parameters()["lookback"] == 5
    with pytest.raises(Exception, match=r"^strategy.name: unknown strategy 'x'; allowed: buy_and_hold, "):
        make_strategy("x")
    with pytest.raises(Exception, match=r"exit_z \(1.0\) must be below entry_z \(1.0\)"):
        make_strategy("mean_reversion", {"entry_z": 1.0, "exit_z": 1.0})
    with pytest.raises(Exception, match=r"fast \(5\) must be shorter than slow \(5\)"):
        make_strategy("ma_trend", {"fast": 5, "slow": 5})
    with pytest.raises(
        Exception, match=r"expected a mapping of phase -> pattern, e.g. \{plan: magentic\} \(got 3\)"
    ):
        make_strategy("momentum", {"orchestration": 3})
