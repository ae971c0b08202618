"""Errors the finance world raises on bad input, each a clear one-line message."""

from __future__ import annotations

import re

from pydantic import ValidationError

_PATH_FIRST = re.compile(r"^[A-Za-z_][\w.\[\]]*: ")


class FinanceError(ValueError):
    """Bad input to the finance world: the message names the path or value and what is allowed."""


class ConfigError(FinanceError):
    """A configuration that does not validate."""


class MarketDataError(FinanceError):
    """Market data that cannot be loaded or windowed: a bad CSV, an unknown series, a bad window."""


class LedgerError(FinanceError):
    """Money was created or lost: the books of the trader and the services disagree."""


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "config"


def one_line(exc: ValidationError, prefix: str = "") -> str:
    """A pydantic ValidationError as one line: `path: message (got value); path: ...`."""
    parts = []
    for err in exc.errors(include_url=False):
        where = _loc(tuple(err.get("loc", ())))
        if prefix:
            where = f"{prefix}.{where}" if where != "config" else prefix
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        got = err.get("input")
        shown = (
            ""
            if err.get("type") in ("missing", "value_error") or isinstance(got, dict)
            else f" (got {got!r})"
        )
        if _PATH_FIRST.match(msg):  # a validator that names its own sub-path: join the paths
            parts.append(f"{msg}{shown}" if where == "config" else f"{where}.{msg}{shown}")
        else:
            parts.append(f"{where}: {msg}{shown}")
    return "; ".join(parts)
