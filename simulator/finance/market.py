"""Market data: real daily history from `arch`, OHLC CSV files, and aligned, windowed views.

A `Bars` holds one instrument's daily OHLCV. `MarketData` aligns several instruments on the
dates they share and marks a window `[start, stop)` of trading days to simulate; the days
before the window stay available as history, so look-back strategies can trade on day one.
Data is static input: loaded once, never mutated, fingerprinted by `digest`.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from .errors import MarketDataError

CSV_LAYOUT = "Date,Open,High,Low,Close[,Adj Close],Volume"
FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Bars:
    """Daily bars of one instrument, dates ascending (`datetime64[D]`)."""

    symbol: str
    source: str
    dates: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        for name in ("dates", *FIELDS):
            getattr(self, name).flags.writeable = False

    @property
    def first(self) -> str:
        return str(self.dates[0])

    @property
    def last(self) -> str:
        return str(self.dates[-1])


def _bars(symbol: str, source: str, dates: np.ndarray, ohlcv: Sequence[np.ndarray]) -> Bars:
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in ohlcv]
    return Bars(symbol, source, np.asarray(dates, dtype="datetime64[D]"), *arrays)


# -- arch ------------------------------------------------------------------------------------
def _arch_ohlc(module: str) -> Callable[[], tuple[np.ndarray, list[np.ndarray]]]:
    def load() -> tuple[np.ndarray, list[np.ndarray]]:
        frame = importlib.import_module(f"arch.data.{module}").load()
        return frame.index.values, [frame[c].to_numpy() for c in ("Open", "High", "Low", "Close", "Volume")]

    return load


def _arch_close(module: str, column: str) -> Callable[[], tuple[np.ndarray, list[np.ndarray]]]:
    """A single daily price series: open = high = low = close, no volume."""

    def load() -> tuple[np.ndarray, list[np.ndarray]]:
        series = importlib.import_module(f"arch.data.{module}").load()[column].dropna()
        values = series.to_numpy()
        return series.index.values, [values, values, values, values, np.zeros(len(values))]

    return load


ARCH_SERIES: dict[str, tuple[str, Callable[[], tuple[np.ndarray, list[np.ndarray]]]]] = {
    "sp500": ("S&P 500 index, daily OHLC 1999-2018", _arch_ohlc("sp500")),
    "nasdaq": ("NASDAQ Composite, daily OHLC 1999-2018", _arch_ohlc("nasdaq")),
    "wti": ("WTI crude oil spot, daily close 1986-2019", _arch_close("wti", "DCOILWTICO")),
    "vix": ("CBOE VIX, daily close 2014-2019", _arch_close("vix", "vix")),
}


@cache
def load_arch(series: str) -> Bars:
    """A series shipped with the `arch` package (see `ARCH_SERIES`)."""
    if series not in ARCH_SERIES:
        raise MarketDataError(f"unknown arch series {series!r}; allowed: {', '.join(sorted(ARCH_SERIES))}")
    dates, ohlcv = ARCH_SERIES[series][1]()
    return _bars(series, f"arch:{series}", dates, ohlcv)


# -- CSV -------------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch.isalnum())


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MarketDataError(f"{where}: column {column}: cannot parse {text!r} as a number") from None
    if not np.isfinite(value):
        raise MarketDataError(f"{where}: column {column}: {text!r} is not a finite number")
    return value


def load_csv(path: str | Path, symbol: str | None = None) -> Bars:
    """Daily bars from a CSV in the common layout `Date,Open,High,Low,Close[,Adj Close],Volume`.

    Rows whose prices are all `null` (holidays in some exports) are skipped; anything else that
    does not parse, or a bar whose open or close lies outside its low..high, is an error naming
    the file, line and column.
    """
    path = Path(path)
    symbol = symbol or path.stem
    if path.is_dir():
        raise MarketDataError(f"{path}: is a directory, not a CSV file ({CSV_LAYOUT})")
    if not path.is_file():
        raise MarketDataError(f"{path}: no such CSV file")
    try:
        return _read_csv(path, symbol)
    except UnicodeDecodeError as exc:
        raise MarketDataError(
            f"{path}: is not a UTF-8 text file (byte {exc.start}); expected CSV {CSV_LAYOUT}"
        ) from None
    except OSError as exc:
        raise MarketDataError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def _read_csv(path: Path, symbol: str) -> Bars:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise MarketDataError(f"{path}: empty file (expected a header {CSV_LAYOUT})")
        names = [_norm(h) for h in header]
        need = {"date": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close"}
        missing = [label for key, label in need.items() if key not in names]
        if missing:
            raise MarketDataError(
                f"{path}: header lacks column(s) {', '.join(missing)} (got {','.join(header)}; "
                f"expected {CSV_LAYOUT})"
            )
        col = {key: names.index(key) for key in need}
        vol_col = names.index("volume") if "volume" in names else None
        dates: list[date] = []
        rows: list[tuple[float, float, float, float, float]] = []
        for line, row in enumerate(reader, start=2):
            if not row or not any(cell.strip() for cell in row):
                continue
            where = f"{path}:{line}"
            if len(row) != len(header):
                raise MarketDataError(f"{where}: expected {len(header)} fields, got {len(row)}")
            prices = [row[col[k]].strip() for k in ("open", "high", "low", "close")]
            if all(p.lower() in ("null", "nan", "") for p in prices):
                continue
            text = row[col["date"]].strip()
            try:
                day = date.fromisoformat(text[:10])
            except ValueError:
                raise MarketDataError(
                    f"{where}: column Date: cannot parse {text!r} as a date (expected YYYY-MM-DD)"
                ) from None
            o, h, lo, c = (
                _number(p, where, label)
                for p, label in zip(prices, ("Open", "High", "Low", "Close"), strict=True)
            )
            for value, label in ((o, "Open"), (h, "High"), (lo, "Low"), (c, "Close")):
                if value <= 0:
                    raise MarketDataError(f"{where}: column {label}: price must be > 0, got {value:g}")
            if lo > h:
                raise MarketDataError(f"{where}: Low {lo:g} is above High {h:g}")
            for value, label in ((o, "Open"), (c, "Close")):
                if not lo <= value <= h:
                    raise MarketDataError(
                        f"{where}: column {label}: {value:g} lies outside the day's Low..High "
                        f"({lo:g} .. {h:g}); every price of a bar must be within its range"
                    )
            vol_text = row[vol_col].strip() if vol_col is not None else ""
            vol = 0.0 if vol_text.lower() in ("", "null") else _number(vol_text, where, "Volume")
            if dates and day <= dates[-1]:
                raise MarketDataError(
                    f"{where}: date {day} is not after the previous row's {dates[-1]} "
                    "(rows must be in ascending date order, without duplicates)"
                )
            dates.append(day)
            rows.append((o, h, lo, c, vol))
    if len(rows) < 2:
        raise MarketDataError(f"{path}: needs at least 2 rows of data, found {len(rows)}")
    table = np.array(rows, dtype=np.float64)
    return _bars(symbol, f"csv:{path}", np.array(dates, dtype="datetime64[D]"), table.T)


def write_csv(bars: Bars, path: str | Path) -> None:
    """Write bars in the common CSV layout (for examples and round-trip tests)."""
    with Path(path).open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["Date", "Open", "High", "Low", "Close", "Volume"])
        for i, day in enumerate(bars.dates):
            out.writerow(
                [
                    str(day),
                    *(repr(float(getattr(bars, f)[i])) for f in ("open", "high", "low", "close")),
                    int(bars.volume[i]),
                ]
            )


# -- aligned, windowed ----------------------------------------------------------------------
class MarketData:
    """Instruments aligned on their common dates, with a simulation window `[start, stop)`.

    Cycle `c` of a run trades on day `start + c`; everything before it is history.
    """

    def __init__(self, bars: Sequence[Bars], start: str | None = None, end: str | None = None) -> None:
        if not bars:
            raise MarketDataError("market: no instruments")
        symbols = [b.symbol for b in bars]
        if len(set(symbols)) != len(symbols):
            raise MarketDataError(f"market: duplicate symbols in {symbols}")
        common = bars[0].dates
        for b in bars[1:]:
            common = np.intersect1d(common, b.dates, assume_unique=True)
        if len(common) < 2:
            raise MarketDataError(f"market: {', '.join(symbols)} share fewer than 2 trading days")
        self.symbols = tuple(symbols)
        self.bars = {b.symbol: b for b in bars}
        self.dates = common
        self.open: dict[str, np.ndarray] = {}
        self.high: dict[str, np.ndarray] = {}
        self.low: dict[str, np.ndarray] = {}
        self.close: dict[str, np.ndarray] = {}
        for b in bars:
            take = np.searchsorted(b.dates, common)
            for name in ("open", "high", "low", "close"):
                getattr(self, name)[b.symbol] = getattr(b, name)[take]
        first, last = str(common[0]), str(common[-1])
        span = f"the data ({first} .. {last} for {', '.join(symbols)})"
        lo = self._bound("market.start", start, first, last, span)
        hi = self._bound("market.end", end, first, last, span)
        if lo > hi:
            raise MarketDataError(f"market.start {lo} is after market.end {hi}")
        self.start = int(np.searchsorted(common, np.datetime64(lo, "D"), side="left"))
        self.stop = int(np.searchsorted(common, np.datetime64(hi, "D"), side="right"))
        if self.stop - self.start < 2:
            raise MarketDataError(
                f"market window {lo} .. {hi} holds {self.stop - self.start} trading day(s); needs at least 2"
            )
        self.date_text = [str(d) for d in common]
        self._open_f = {s: a.tolist() for s, a in self.open.items()}
        self._close_f = {s: a.tolist() for s, a in self.close.items()}
        self._high_f = {s: a.tolist() for s, a in self.high.items()}
        self._low_f = {s: a.tolist() for s, a in self.low.items()}

    @staticmethod
    def _bound(name: str, value: str | None, first: str, last: str, span: str) -> str:
        if value is None:
            return first if name.endswith("start") else last
        value = str(value)
        try:
            date.fromisoformat(value)
        except ValueError:
            raise MarketDataError(f"{name}: cannot parse {value!r} as a date (expected YYYY-MM-DD)") from None
        if value < first or value > last:
            raise MarketDataError(f"{name} {value} is outside {span}")
        return value

    # -- views ------------------------------------------------------------------------------
    @property
    def days(self) -> int:
        """Trading days in the window (= cycles of a run)."""
        return self.stop - self.start

    def index(self, cycle: int) -> int:
        return self.start + cycle

    def date(self, cycle: int) -> str:
        return self.date_text[self.start + min(max(cycle, 0), self.days - 1)]

    def bar(self, symbol: str, index: int) -> tuple[float, float, float, float]:
        """(open, high, low, close) of `symbol` on aligned day `index`, as Python floats."""
        return (
            self._open_f[symbol][index],
            self._high_f[symbol][index],
            self._low_f[symbol][index],
            self._close_f[symbol][index],
        )

    def open_price(self, symbol: str, index: int) -> float:
        return self._open_f[symbol][index]

    def close_price(self, symbol: str, index: int) -> float:
        return self._close_f[symbol][index]

    def history(self, symbol: str, index: int) -> np.ndarray:
        """Closes strictly before day `index` (what is known at that day's open)."""
        return self.close[symbol][:index]

    @property
    def window(self) -> tuple[str, str]:
        return self.date_text[self.start], self.date_text[self.stop - 1]

    @property
    def digest(self) -> str:
        """A fingerprint of the data a run sees (dates and prices up to the window's end)."""
        h = hashlib.sha256()
        h.update(",".join(self.symbols).encode())
        h.update(self.dates[: self.stop].astype("int64").tobytes())
        h.update(f"{self.start}:{self.stop}".encode())
        for s in self.symbols:
            for table in (self.open, self.high, self.low, self.close):
                h.update(table[s][: self.stop].astype("<f8").tobytes())
        return h.hexdigest()
