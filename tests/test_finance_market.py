"""Market data: arch history, OHLC CSV files, the synthetic generator, alignment and windows."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.finance import MarketDataError, load_arch, load_csv, load_market, synthetic_bars
from simulator.finance.market import MarketData, write_csv
from simulator.finance.synthetic import Regime

from .test_finance_support import make_config


def test_arch_sp500_and_nasdaq_are_1999_to_2018_daily_ohlc():
    for name in ("sp500", "nasdaq"):
        bars = load_arch(name)
        assert bars.first == "1999-01-04" and bars.last == "2018-12-31"
        assert len(bars.dates) > 5000
        assert np.all(bars.low <= np.minimum(bars.open, bars.close) + 1e-9)
        assert np.all(bars.high >= np.maximum(bars.open, bars.close) - 1e-9)
    wti = load_arch("wti")
    assert not np.isnan(wti.close).any() and np.array_equal(wti.open, wti.close)


def test_window_by_dates_keeps_earlier_history():
    market = MarketData([load_arch("sp500")], start="2008-09-15", end="2008-09-19")
    assert market.days == 5
    assert market.window == ("2008-09-15", "2008-09-19")
    assert market.date(0) == "2008-09-15"
    assert len(market.history("sp500", market.index(0))) == market.start  # all earlier closes
    o, h, lo, c = market.bar("sp500", market.index(0))
    assert lo <= min(o, c) <= max(o, c) <= h
    # a window that starts on a holiday begins on the next trading day
    assert MarketData([load_arch("sp500")], start="2010-01-01", end="2010-01-08").window[0] == "2010-01-04"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            "1990-01-01",
            "2000-01-01",
            "market.start 1990-01-01 is outside the data (1999-01-04 .. 2018-12-31 for sp500)",
        ),
        ("2018-01-02", "2019-06-30", "market.end 2019-06-30 is outside the data"),
        ("2018-12-31", "2018-12-31", "holds 1 trading day(s); needs at least 2"),
        ("2010-05-01", "2010-04-01", "market.start 2010-05-01 is after market.end 2010-04-01"),
        ("2010-02-30", None, "market.start: cannot parse '2010-02-30' as a date"),
    ],
)
def test_bad_windows_are_one_line_errors(start, end, message):
    with pytest.raises(MarketDataError) as err:
        MarketData([load_arch("sp500")], start=start, end=end)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_window_outside_data_through_config():
    cfg = make_config(**{"market.start": "1995-01-03", "market.end": "1995-12-29"})
    with pytest.raises(MarketDataError, match=r"^market.start 1995-01-03 is outside the data"):
        load_market(cfg)


def test_csv_round_trip_and_common_layout(tmp_path):
    bars = synthetic_bars("ACME", seed=5, days=30)
    path = tmp_path / "acme.csv"
    write_csv(bars, path)
    back = load_csv(path)
    assert back.symbol == "acme"
    assert np.array_equal(back.dates, bars.dates)
    for f in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(back, f), getattr(bars, f))
    # Yahoo-style export: Adj Close column, a holiday row of nulls, no trailing newline
    yahoo = tmp_path / "yahoo.csv"
    yahoo.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2020-01-02,10,11,9.5,10.5,10.4,1000\n"
        "2020-01-03,null,null,null,null,null,null\n"
        "2020-01-06,10.5,10.9,10.1,10.2,10.1,900"
    )
    y = load_csv(yahoo, symbol="Y")
    assert [str(d) for d in y.dates] == ["2020-01-02", "2020-01-06"] and y.close.tolist() == [10.5, 10.2]


HEADER = "Date,Open,High,Low,Close,Volume\n"
GOOD = "2020-01-02,10,11,9,10.5,100\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file (expected a header Date,Open,High,Low,Close[,Adj Close],Volume)"),
        ("Date,Open,Close\n2020-01-02,1,2\n", "header lacks column(s) High, Low"),
        (HEADER + GOOD + "2020-01-03,10,11,9,abc,100\n", ":3: column Close: cannot parse 'abc' as a number"),
        (
            HEADER + GOOD + "2020-13-03,10,11,9,10,100\n",
            ":3: column Date: cannot parse '2020-13-03' as a date",
        ),
        (HEADER + GOOD + "2020-01-03,10,11,9\n", ":3: expected 6 fields, got 4"),
        (
            HEADER + GOOD + "2020-01-01,10,11,9,10,100\n",
            ":3: date 2020-01-01 is not after the previous row's 2020-01-02",
        ),
        (HEADER + GOOD + "2020-01-03,-1,11,9,10,100\n", ":3: column Open: price must be > 0, got -1"),
        (HEADER + GOOD + "2020-01-03,10,9,11,10,100\n", ":3: Low 11 is above High 9"),
        (HEADER + GOOD, "needs at least 2 rows of data, found 1"),
    ],
)
def test_malformed_csv_is_a_one_line_error_naming_file_line_and_column(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(MarketDataError) as err:
        load_csv(path)
    assert str(path) in str(err.value) and message in str(err.value) and "\n" not in str(err.value)


def test_missing_csv_through_config(tmp_path):
    cfg = make_config(**{"market.symbols": ["ACME"], "market.csv": {"ACME": str(tmp_path / "nope.csv")}})
    with pytest.raises(MarketDataError, match="nope.csv: no such CSV file"):
        load_market(cfg)


def test_synthetic_is_seeded_and_switches_regimes():
    a = synthetic_bars("S", seed=1, days=500)
    b = synthetic_bars("S", seed=1, days=500)
    c = synthetic_bars("S", seed=2, days=500)
    other = synthetic_bars("T", seed=1, days=500)  # the stream is keyed by the symbol's name
    assert np.array_equal(a.close, b.close) and np.array_equal(a.dates, b.dates)
    assert not np.array_equal(a.close, c.close) and not np.array_equal(a.close, other.close)
    assert np.all(a.low <= np.minimum(a.open, a.close)) and np.all(a.high >= np.maximum(a.open, a.close))
    assert np.all(np.is_busday(a.dates))
    calm = synthetic_bars("S", seed=1, days=2000, regimes=(Regime(0.0, 0.05),), switch_prob=0.0)
    wild = synthetic_bars(
        "S", seed=1, days=2000, regimes=(Regime(0.0, 0.05), Regime(0.0, 0.8)), switch_prob=0.05
    )
    vol = lambda bars: float(np.std(np.diff(np.log(bars.close))))  # noqa: E731
    assert vol(wild) > 3 * vol(calm)


def test_instruments_align_on_shared_dates(tmp_path):
    syn = synthetic_bars("SYN", seed=3, start="2010-01-04", days=40)
    path = tmp_path / "gappy.csv"
    write_csv(syn, path)
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows[:5] + rows[8:]) + "\n")  # drop three days from the CSV
    cfg = make_config(
        **{
            "market.symbols": ["sp500", "GAPPY", "SYN"],
            "market.csv": {"GAPPY": str(path)},
            "market.synthetic": {"SYN": {"start": "2010-01-04", "days": 40, "seed": 3}},
            "market.start": "2010-01-04",
            "market.end": "2010-02-26",
        }
    )
    market = load_market(cfg)
    assert market.symbols == ("sp500", "GAPPY", "SYN")
    gappy = load_csv(path)
    assert set(market.date_text) <= {str(d) for d in gappy.dates}
    assert "2010-01-18" not in market.date_text  # MLK day: sp500 did not trade
    i = market.date_text.index("2010-01-20")
    j = int(np.searchsorted(syn.dates, np.datetime64("2010-01-20")))
    assert market.close_price("SYN", i) == float(syn.close[j])
