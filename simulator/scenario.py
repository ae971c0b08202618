"""Loading YAML scenarios into pydantic models, with one-line errors that name the path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class ScenarioError(ValueError):
    """Bad input: the message names the file, the path inside it and what is allowed."""

    exit_code = 2


class Strict(BaseModel):
    """Base for scenario models: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def dotted(loc: tuple[Any, ...]) -> str:
    """`("services", 1, "capacity")` -> `services[1].capacity`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last key of `loc`, for listing allowed keys."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def describe(model: type[BaseModel], error: ValidationError) -> str:
    """The first validation error as `path: problem (allowed ...)`."""
    first = error.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and "[" in p))
    path = dotted(loc)
    if first["type"] == "extra_forbidden":
        owner = _model_at(model, loc)
        allowed = ", ".join(owner.model_fields) if owner else "see the docs"
        return f"{path}: unknown key (allowed: {allowed})"
    if first["type"] == "missing":
        return f"{path}: required key is missing"
    return f"{path}: {first['msg']} (got {first.get('input')!r})"


def load_yaml(
    path: str | os.PathLike[str],
    what: str = "scenario",
    error: type[ValueError] = ScenarioError,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """The top-level mapping of a YAML file; `error` (one line naming the file) otherwise.
    With `allow_empty`, an empty file is an empty mapping (every value at its default)."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{p}: no such {what} file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise error(f"{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None and allow_empty:
        return {}
    if not isinstance(data, dict):
        raise error(f"{p}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def validate(model: type[M], data: dict[str, Any], source: str = "<scenario>") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {describe(model, exc)}") from None


def set_dotted(data: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b.c` (or `a.0.c` for list items) in nested plain data."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
