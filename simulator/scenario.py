"""Loading YAML scenarios into pydantic models, with one-line errors that name the path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

M = TypeVar("M", bound=BaseModel)


class ScenarioError(ValueError):
    """Bad input: the message names the file, the path inside it and what is allowed."""

    exit_code = 2


class Strict(BaseModel):
    """Base for scenario models: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, use_attribute_docstrings=True
    )

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        """YAML `true` is not the number 1: a bool is accepted only where the field is a bool.
        (A model validator: a field validator on every field would also land on the
        discriminator of tagged unions, which pydantic forbids.)"""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name) if isinstance(name, str) else None
                if isinstance(value, bool) and field is not None and not _allows_bool(field.annotation):
                    raise PydanticCustomError(
                        "bool_for_number",
                        "expected a number or text, not true/false",
                        {"field": name, "value": value},
                    )
        return data


def _allows_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    return any(_allows_bool(arg) for arg in get_args(annotation))


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
    if first["type"] == "bool_for_number":
        where = dotted((*loc, first["ctx"]["field"]))
        return f"{where}: {first['msg']} (got {first['ctx']['value']!r})"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "finite_number":
        message += " (inf and nan are not allowed)"
    if first["type"] == "value_error" and isinstance(first.get("input"), dict):
        # a check across a section's keys: its message names them; the section is no clue
        return f"{path}: {message}" if loc else message
    return f"{path}: {message} (got {first.get('input')!r})"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: let PyYAML report it
                break
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (each key may appear once)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(
    path: str | os.PathLike[str],
    what: str = "scenario",
    error: type[ValueError] = ScenarioError,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """The top-level mapping of a YAML file; `error` (one line naming the file) otherwise.
    With `allow_empty`, an empty file is an empty mapping (every value at its default)."""
    p = Path(path)
    if p.is_dir():
        raise error(f"{p}: is a folder, not a {what} file")
    if not p.is_file():
        raise error(f"{p}: no such {what} file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read the {what} file ({exc.strerror})") from None
    if b"\0" in raw:
        raise error(f"{p}: is not a UTF-8 text file (binary data; a {what} is YAML text)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{p}: is not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            f"save the {what} as UTF-8"
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
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
    """Set `a.b.c` in nested plain data. A list item is named by its index (`services.0.capacity`)
    or by its `id` (`services.transport.capacity`). Raises `ScenarioError` naming the part
    that does not exist; keys that are new are created (validation then judges them)."""
    parts = path.split(".")
    if not all(parts):
        raise ScenarioError(f"{path}: empty part in the dotted path (expected e.g. policy.budget)")
    node: Any = data
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "<top level>"
        last = depth == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(node, part, path, here)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ScenarioError(
                f"{path}: {here} is a single value ({node!r}), it has no key {part!r}"
            )


def _list_index(items: list[Any], part: str, path: str, here: str) -> int:
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    if part.isdigit():
        index = int(part)
        if index < len(items):
            return index
    elif part in ids:
        return ids.index(part)
    allowed = f"0 to {len(items) - 1}" if items else "none: the list is empty"
    named = f" or an id: {', '.join(map(str, ids[:12]))}{', ...' if len(ids) > 12 else ''}" if ids else ""
    raise ScenarioError(
        f"{path}: {here} has {len(items)} items, no item {part!r} (allowed: index {allowed}{named})"
    )
