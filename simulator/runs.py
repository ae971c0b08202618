"""Run folders: atomic writes, versions, summary.json."""

from __future__ import annotations

import json
import math
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def versions(*packages: str) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("simulator", "simpy", "numpy", *packages):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, p)
    except BaseException:  # a full disk, Ctrl-C, SIGTERM: no .partial left behind
        tmp.unlink(missing_ok=True)
        raise


def finite_or_null(value: Any) -> Any:
    """`value` with every NaN or infinite float (at any depth) replaced by None: strict JSON
    has no NaN or Infinity, and other readers refuse them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Strict JSON (non-finite numbers as null), written atomically."""
    text = json.dumps(finite_or_null(data), indent=2, sort_keys=True, default=str, allow_nan=False)
    write_atomic(path, text + "\n")
