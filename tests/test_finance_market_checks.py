"""Market data aligned and windowed on small hand-made bars, each refusal's exact message, and
the config checks that come before any data is read."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.finance.config import parse_config, set_path
from simulator.finance.errors import ConfigError, MarketDataError
from simulator.finance.market import Bars, MarketData, _number, load_arch


def bars(symbol: str, days: list[str], base: float = 10.0) -> Bars:
    n = len(days)
    close = base + np.arange(n, dtype=float)
    return Bars(
        symbol,
        "hand",
        np.array(days, dtype="datetime64[D]"),
        close - 0.5,
        close + 1.0,
        close - 1.0,
        close,
        np.full(n, 100.0),
    )


DAYS = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"]


def refused(*args, **kw) -> str:
    with pytest.raises(MarketDataError) as caught:
        MarketData(*args, **kw)
    return str(caught.value)


def test_instruments_are_aligned_on_their_common_days():
    a = bars("A", DAYS)
    b = bars("B", [DAYS[0], DAYS[1], DAYS[3], DAYS[4], "2020-01-08"], base=50.0)
    m = MarketData([a, b])
    assert m.symbols == ("A", "B")
    assert m.date_text == [DAYS[0], DAYS[1], DAYS[3], DAYS[4]]
    assert m.close["A"].tolist() == [10.0, 11.0, 13.0, 14.0] and m.close["B"].tolist() == [
        50.0,
        51.0,
        52.0,
        53.0,
    ]
    assert m.bar("A", 2) == (12.5, 14.0, 12.0, 13.0) and m.open_price("B", 0) == 49.5
    assert m.close_price("A", 3) == 14.0
    assert (m.start, m.stop, m.days) == (0, 4, 4) and m.window == (DAYS[0], DAYS[4])
    assert m.history("A", 2).tolist() == [10.0, 11.0]
    assert m.index(1) == 1 and m.date(0) == DAYS[0] and m.date(-3) == DAYS[0] and m.date(99) == DAYS[4]


def test_a_window_includes_both_of_its_days():
    m = MarketData([bars("A", DAYS)], start="2020-01-02", end="2020-01-06")
    assert (m.start, m.stop, m.days) == (1, 4, 3) and m.window == ("2020-01-02", "2020-01-06")
    assert m.index(0) == 1 and m.date(0) == "2020-01-02" and m.date(5) == "2020-01-06"
    weekend = MarketData([bars("A", DAYS)], start="2020-01-04", end="2020-01-07")
    assert weekend.window == ("2020-01-06", "2020-01-07") and weekend.days == 2


def test_the_digest_follows_the_window_and_the_prices():
    m = MarketData([bars("A", DAYS)], end="2020-01-06")
    same = MarketData([bars("A", DAYS)], end="2020-01-06")
    assert m.digest == same.digest and len(m.digest) == 64
    assert MarketData([bars("A", DAYS)], end="2020-01-07").digest != m.digest
    assert MarketData([bars("A", DAYS)], start="2020-01-02", end="2020-01-06").digest != m.digest
    assert MarketData([bars("A", DAYS, base=11.0)], end="2020-01-06").digest != m.digest


@pytest.mark.parametrize(
    ("args", "kw", "message"),
    [
        ([[]], {}, "market: no instruments"),
        ([[bars("A", DAYS), bars("A", DAYS)]], {}, "market: duplicate symbols in ['A', 'A']"),
        (
            [[bars("A", DAYS[:2]), bars("B", DAYS[1:])]],
            {},
            "market: A, B share fewer than 2 trading days",
        ),
        (
            [[bars("A", DAYS)]],
            {"start": "2020-01-06", "end": "2020-01-02"},
            "market.start 2020-01-06 is after market.end 2020-01-02",
        ),
        (
            [[bars("A", DAYS)]],
            {"start": "2020-01-07"},
            "market window 2020-01-07 .. 2020-01-07 holds 1 trading day(s); needs at least 2",
        ),
        (
            [[bars("A", DAYS)]],
            {"start": "2020-01-04", "end": "2020-01-05"},
            "market window 2020-01-04 .. 2020-01-05 holds 0 trading day(s); needs at least 2",
        ),
        (
            [[bars("A", DAYS)]],
            {"start": "2020/01/02"},
            "market.start: cannot parse '2020/01/02' as a date (expected YYYY-MM-DD)",
        ),
        (
            [[bars("A", DAYS), bars("B", DAYS)]],
            {"end": "2020-01-08"},
            "market.end 2020-01-08 is outside the data (2020-01-01 .. 2020-01-07 for A, B)",
        ),
        (
            [[bars("A", DAYS)]],
            {"start": "2019-12-31"},
            "market.start 2019-12-31 is outside the data (2020-01-01 .. 2020-01-07 for A)",
        ),
    ],
)
def test_a_market_that_cannot_be_used_says_why(args, kw, message):
    assert refused(*args, **kw) == message


def test_the_data_bounds_themselves_are_allowed():
    m = MarketData([bars("A", DAYS)], start="2020-01-01", end="2020-01-07")
    assert m.days == 5
    two = MarketData([bars("A", DAYS)], start="2020-01-06", end="2020-01-07")
    assert two.days == 2


def test_a_cell_must_be_a_finite_number():
    assert _number(" 2.5", "f.csv:3", "Open") == 2.5
    with pytest.raises(MarketDataError, match=r"^f.csv:3: column Open: cannot parse 'x' as a number$"):
        _number("x", "f.csv:3", "Open")
    for text in ("inf", "nan", "-inf"):
        with pytest.raises(MarketDataError) as caught:
            _number(text, "f.csv:4", "Close")
        assert str(caught.value) == f"f.csv:4: column Close: {text!r} is not a finite number"


def test_an_unknown_arch_series_lists_the_known_ones():
    with pytest.raises(MarketDataError) as caught:
        load_arch("gold")
    assert str(caught.value) == "unknown arch series 'gold'; allowed: nasdaq, sp500, vix, wti"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "config: expected a mapping, got list"),
        ({"world": "infra"}, "world: 'infra' is not the finance world (allowed: finance, or no key)"),
        ({"market": {"symbols": ["sp500", "sp500"]}}, "symbols: duplicates in ['sp500', 'sp500']"),
        (
            {"market": {"start": "2010-01-02", "end": "2010-01-01"}},
            "start 2010-01-02 is after end 2010-01-01",
        ),
    ],
)
def test_a_config_that_cannot_be_read_says_why(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert message in str(caught.value)


def test_a_config_may_name_the_finance_world_or_nothing():
    assert parse_config({"world": "finance"}) == parse_config({}) == parse_config(None)
    assert parse_config({"market": {"start": "2010-01-04", "end": "2010-01-04"}}).market.start is not None


def test_set_path_creates_mappings_and_refuses_to_go_through_a_value():
    data: dict = {"a": {"b": 1}}
    set_path(data, "a.c.d", 2)
    set_path(data, "e", 3)
    assert data == {"a": {"b": 1, "c": {"d": 2}}, "e": 3}
    with pytest.raises(ConfigError) as caught:
        set_path(data, "a.b.x", 4)
    assert str(caught.value) == "a.b: is not a mapping, cannot set a.b.x"
