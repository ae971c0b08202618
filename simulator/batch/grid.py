"""Sweep grids: dotted parameter paths mapped to lists of values.

From the command line: ``policy.intervention_delay=1,2,3`` (comma-separated scalars,
coerced to int, float, bool or None when they read as one, otherwise kept as strings).
From YAML: a mapping whose leaves are lists, either flat with dotted keys or nested::

    policy:
      intervention_delay: [1, 2, 3]
    flood.peak_level: [2.5, 3.0]

Values that are lists, or strings containing commas, need the YAML form.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

Grid = dict[str, list[Any]]

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def validate_path(path: str) -> str:
    """Check a dotted parameter path such as ``policy.intervention_delay``."""
    if not path:
        raise ValueError("empty parameter path")
    for segment in path.split("."):
        if not _SEGMENT.match(segment):
            raise ValueError(
                f"bad parameter path {path!r}: segment {segment!r} must start with a letter "
                "or underscore and contain only letters, digits, '_' or '-'"
            )
    return path


def coerce_scalar(text: str) -> Any:
    """``"3"`` -> 3, ``"0.5"``/``"1e-3"`` -> float, ``true``/``false`` -> bool,
    ``null``/``none`` -> None, anything else -> the string itself."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    return text


def _check_values(path: str, values: list[Any]) -> list[Any]:
    if not values:
        raise ValueError(f"grid key {path!r} has no values")
    for i, value in enumerate(values):
        if any(type(seen) is type(value) and seen == value for seen in values[:i]):
            raise ValueError(f"grid key {path!r} repeats the value {value!r}")
    return values


def parse_grid_arg(text: str) -> tuple[str, list[Any]]:
    """Parse one ``path=v1,v2,...`` string into ``(path, [v1, v2, ...])``."""
    if "=" not in text:
        raise ValueError(f"bad grid item {text!r}: expected 'path=value1,value2,...'")
    path, _, raw = text.partition("=")
    path = validate_path(path.strip())
    if not raw.strip():
        raise ValueError(f"bad grid item {text!r}: no values after '='")
    values = []
    for position, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            raise ValueError(f"bad grid item {text!r}: value {position} is empty")
        values.append(coerce_scalar(item))
    return path, _check_values(path, values)


def parse_grid(items: Iterable[str]) -> Grid:
    """Parse several ``path=v1,v2`` strings (e.g. repeated ``--grid`` options) into a grid."""
    grid: Grid = {}
    for item in items:
        path, values = parse_grid_arg(item)
        if path in grid:
            raise ValueError(f"grid key {path!r} is given twice")
        grid[path] = values
    return grid


def flatten_grid(tree: Mapping[str, Any], prefix: str = "") -> Grid:
    """A nested mapping with list leaves -> ``{dotted.path: [values]}``, in file order."""
    grid: Grid = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise ValueError(f"grid keys must be strings, got {key!r} under {prefix or '<root>'}")
        path = validate_path(f"{prefix}.{key}" if prefix else key)
        if isinstance(value, Mapping):
            if not value:
                raise ValueError(f"grid key {path!r} is an empty mapping")
            for sub, values in flatten_grid(value, path).items():
                if sub in grid:
                    raise ValueError(f"grid key {sub!r} is given twice")
                grid[sub] = values
        elif isinstance(value, list):
            if path in grid:
                raise ValueError(f"grid key {path!r} is given twice")
            grid[path] = _check_values(path, value)
        else:
            raise ValueError(f"grid key {path!r} must map to a list of values, got {value!r}")
    return grid


def load_grid(path: str | os.PathLike[str]) -> Grid:
    """Read a grid from a YAML file (flat dotted keys, nested mappings, or both). A binary or
    non-UTF-8 file, invalid YAML or a key given twice is a `ValueError` naming the file."""
    from ..scenario import load_yaml

    try:
        tree = load_yaml(path, "grid", ValueError, allow_empty=True)
    except ValueError as exc:
        if "expected a mapping at the top level" not in str(exc):
            raise
        tree = None
    if not isinstance(tree, Mapping) or not tree:
        raise ValueError(f"{path}: a grid file must hold a non-empty mapping")
    try:
        return flatten_grid(tree)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
