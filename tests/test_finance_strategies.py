"""Strategies: declared parameters, risk profiles, and the weights they choose."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.finance import RISK_PROFILES, STRATEGIES, ConfigError, make_strategy
from simulator.finance.market import Bars, MarketData
from simulator.finance.strategies import MarketView


def view_of(closes: dict[str, list[float]], opens: dict[str, float] | None = None) -> MarketView:
    """A view on the last day of hand-made close series (today's open given or = last close)."""
    bars = []
    for sym, series in closes.items():
        c = np.array([*series, series[-1]], dtype=float)
        o = c.copy()
        if opens and sym in opens:
            o[-1] = opens[sym]
        dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + len(c))
        bars.append(
            Bars(sym, "test", dates, o, np.maximum(o, c) + 1, np.minimum(o, c) - 1, c, np.zeros(len(c)))
        )
    market = MarketData(bars)
    return MarketView(market, len(market.dates) - 1)


UP = [100 + i for i in range(120)]
DOWN = [220 - i for i in range(120)]


def test_every_strategy_declares_parameters_and_a_risk_profile():
    assert set(STRATEGIES) == {
        "buy_and_hold",
        "momentum",
        "mean_reversion",
        "ma_trend",
        "vol_target_trend",
        "risk_parity",
    }
    for name, cls in STRATEGIES.items():
        d = cls.describe()
        assert d["name"] == name and d["risk_profile"] in RISK_PROFILES and d["version"].count(".") == 2
        assert isinstance(d["parameters"], dict)
        make_strategy(name)  # defaults are valid


def test_parameter_validation_is_one_line():
    with pytest.raises(
        ConfigError, match=r"^strategy.params.lookback: Input should be greater than or equal to 2 \(got 1\)$"
    ):
        make_strategy("momentum", {"lookback": 1})
    with pytest.raises(ConfigError, match=r"^strategy.params: fast \(50\) must be shorter than slow \(20\)$"):
        make_strategy("ma_trend", {"fast": 50, "slow": 20})
    with pytest.raises(ConfigError, match=r"^strategy.params.lookbak: Extra inputs are not permitted"):
        make_strategy("momentum", {"lookbak": 3})
    with pytest.raises(
        ConfigError, match=r"^strategy.name: unknown strategy 'yolo'; allowed: buy_and_hold, "
    ):
        make_strategy("yolo")


def test_buy_and_hold_and_momentum():
    v = view_of({"A": UP, "B": DOWN})
    assert make_strategy("buy_and_hold").weights(v, {}) == {"A": 0.5, "B": 0.5}
    m = make_strategy("momentum", {"lookback": 20})
    assert m.weights(v, {}) == {"A": 0.5, "B": 0.0}
    assert make_strategy("momentum", {"lookback": 20, "short": True}).weights(v, {}) == {"A": 0.5, "B": -0.5}
    assert make_strategy("momentum", {"lookback": 500}).weights(v, {}) == {
        "A": 0.0,
        "B": 0.0,
    }  # no history yet
    assert make_strategy("momentum", {"lookback": 20, "threshold": 0.5}).weights(v, {}) == {
        "A": 0.0,
        "B": 0.0,
    }


def test_mean_reversion_enters_on_a_dip_and_exits_near_the_mean():
    flat = [100.0 + (i % 2) for i in range(30)]
    s = make_strategy("mean_reversion", {"window": 10, "entry_z": 1.0, "exit_z": 0.0})
    assert s.weights(view_of({"A": flat}, {"A": 95.0}), {}) == {"A": 1.0}  # far below: enter
    assert s.weights(view_of({"A": flat}, {"A": 100.2}), {}) == {"A": 0.0}  # near the mean: stay out
    assert s.weights(view_of({"A": flat}, {"A": 99.0}), {"A": 0.9}) == {"A": 1.0}  # below the mean: hold
    assert s.weights(view_of({"A": flat}, {"A": 101.0}), {"A": 0.9}) == {"A": 0.0}  # reverted: exit


def test_trend_and_risk_budgeted_strategies():
    v = view_of({"A": UP, "B": DOWN})
    assert make_strategy("ma_trend", {"fast": 5, "slow": 50}).weights(v, {}) == {"A": 0.5, "B": 0.0}
    rng = np.random.default_rng(0)
    calm = list(100 * np.exp(np.cumsum(0.002 + 0.005 * rng.standard_normal(150))))
    wild = list(100 * np.exp(np.cumsum(0.002 + 0.03 * rng.standard_normal(150))))
    v2 = view_of({"CALM": calm, "WILD": wild})
    vt = make_strategy("vol_target_trend", {"fast": 5, "slow": 50, "target_vol": 0.10, "vol_window": 20})
    w = vt.weights(v2, {})
    assert 0 < w["CALM"] <= 1.0 and w["CALM"] > w["WILD"] >= 0
    rp = make_strategy("risk_parity", {"vol_window": 60}).weights(v2, {})
    assert sum(rp.values()) == pytest.approx(1.0) and rp["CALM"] > 3 * rp["WILD"]


def test_risk_profiles_cap_weights_and_gross():
    p = RISK_PROFILES["conservative"]
    assert p.apply({"A": 1.0}) == {"A": 0.5}
    capped = p.apply({"A": 0.4, "B": 0.4})
    assert sum(capped.values()) == pytest.approx(0.5) and capped["A"] == pytest.approx(0.25)
    assert RISK_PROFILES["moderate"].apply({"A": -2.0}) == {"A": -1.0}
