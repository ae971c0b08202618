"""Loading OttoChain fiber definitions: state machines and scripts ("oracles").

A state machine is `{states, initialState, transitions, metadata}`. State ids appear as plain
strings or as `{"value": "X"}`; both are accepted. Every problem is one `DefinitionError`
line naming the file and the JSON path (`$.transitions[3].to`), exit code 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scenario import ScenarioError
from .jsonlogic import JsonLogicError, check, is_logic

MACHINE_KEYS = {
    "states",
    "initialState",
    "transitions",
    "metadata",
    "initialDataTemplate",
    "createSchema",
    "stateSchema",
    "eventSchemas",
    "name",
    "description",
    "version",
}
TRANSITION_KEYS = {"from", "to", "eventName", "guard", "effect", "dependencies", "emits", "description"}


class DefinitionError(ScenarioError):
    """A definition that cannot be loaded: `FILE: $.path: problem`."""


@dataclass(frozen=True)
class Transition:
    index: int
    source: str
    target: str
    event: str
    guard: Any
    effect: Any
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Machine:
    """A state-machine definition: states (id -> final?), the initial state, transitions."""

    name: str
    states: dict[str, bool]
    initial: str
    transitions: tuple[Transition, ...]
    source: str = "<definition>"
    by_event: dict[tuple[str, str], tuple[Transition, ...]] = field(default_factory=dict, compare=False)
    code: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)  # compiled logic

    def candidates(self, state: str, event: str) -> tuple[Transition, ...]:
        return self.by_event.get((state, event), ())

    def is_final(self, state: str) -> bool:
        return self.states.get(state, False)

    def events_from(self, state: str) -> list[str]:
        return sorted({t.event for t in self.transitions if t.source == state})


@dataclass(frozen=True)
class Script:
    """A script fiber ("oracle"): a JSON Logic program over {method, args, state}."""

    name: str
    program: Any
    initial_state: Any
    source: str = "<script>"
    code: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)  # compiled logic


def read_json(path: str | Path, what: str = "definition") -> Any:
    p = Path(path)
    if not p.is_file():
        raise DefinitionError(f"{p}: no such {what} file")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"{p}: $: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None


def state_id(value: Any) -> str | None:
    """`"X"` or `{"value": "X"}` -> `"X"`; anything else -> None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and set(value) == {"value"} and isinstance(value["value"], str):
        return value["value"]
    return None


def load_definition(path: str | Path, extensions: bool = True) -> Machine | Script:
    data = read_json(path)
    if isinstance(data, dict) and "scriptProgram" in data:
        return parse_script(data, str(path), extensions)
    return parse_machine(data, str(path), extensions)


def parse_script(data: dict[str, Any], source: str, extensions: bool = True) -> Script:
    try:
        check(data["scriptProgram"], "$.scriptProgram", extensions)
    except JsonLogicError as exc:
        raise DefinitionError(f"{source}: {exc}") from None
    name = (data.get("metadata") or {}).get("name") or Path(source).stem
    return Script(name, data["scriptProgram"], data.get("initialState"), source)


def parse_machine(data: Any, source: str, extensions: bool = True) -> Machine:
    def fail(path: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{source}: {path}: {problem}")

    if not isinstance(data, dict):
        raise fail("$", f"expected an object (a state-machine definition), got {type(data).__name__}")
    if "$schema" in data or "context" in data:
        raise fail(
            "$",
            f"not an OttoChain state-machine definition: this file uses another schema "
            f"({data.get('$schema', 'with a context block')}); expected the plain machine schema "
            "{states: {ID: {id, isFinal}}, initialState, "
            "transitions: [{from, to, eventName, guard, effect}]}",
        )
    for key in ("states", "initialState", "transitions"):
        if key not in data:
            raise fail(
                f"$.{key}", "required key is missing (a machine needs states, initialState, transitions)"
            )
    states_raw = data["states"]
    if not isinstance(states_raw, dict) or not states_raw:
        raise fail("$.states", "expected a non-empty object {STATE_ID: {id, isFinal}}")
    states: dict[str, bool] = {}
    for key, spec in states_raw.items():
        if not isinstance(spec, dict):
            raise fail(f"$.states.{key}", "expected an object {id, isFinal}")
        sid = state_id(spec.get("id", key))
        if sid is None:
            raise fail(f"$.states.{key}.id", 'expected a state id: "X" or {"value": "X"}')
        if sid != key:
            raise fail(f"$.states.{key}.id", f"id {sid!r} differs from its key {key!r}")
        final = spec.get("isFinal", False)
        if not isinstance(final, bool):
            raise fail(f"$.states.{key}.isFinal", f"expected true or false, got {final!r}")
        states[sid] = final
    known = ", ".join(states)
    initial = state_id(data["initialState"])
    if initial is None:
        raise fail("$.initialState", 'expected a state id: "X" or {"value": "X"}')
    if initial not in states:
        raise fail("$.initialState", f"unknown state {initial!r} (states: {known})")
    if not isinstance(data["transitions"], list):
        raise fail("$.transitions", "expected a list of {from, to, eventName, guard, effect}")
    transitions = []
    for i, t in enumerate(data["transitions"]):
        where = f"$.transitions[{i}]"
        if not isinstance(t, dict):
            raise fail(where, "expected an object {from, to, eventName, guard, effect}")
        for key in ("from", "to", "eventName", "guard", "effect"):
            if key not in t:
                raise fail(f"{where}.{key}", "required key is missing")
        ends = {}
        for key in ("from", "to"):
            sid = state_id(t[key])
            if sid is None:
                raise fail(f"{where}.{key}", 'expected a state id: "X" or {"value": "X"}')
            if sid not in states:
                raise fail(f"{where}.{key}", f"unknown state {sid!r} (states: {known})")
            ends[key] = sid
        if not isinstance(t["eventName"], str) or not t["eventName"]:
            raise fail(f"{where}.eventName", "expected a non-empty string")
        if not is_logic(t["guard"], extensions):
            raise fail(
                f"{where}.guard",
                f"not JSON Logic: {json.dumps(t['guard'])[:60]} (expected true/false or an operator "
                'call such as {"==": [1, 1]})',
            )
        try:
            check(t["guard"], f"{where}.guard", extensions)
            check(t["effect"], f"{where}.effect", extensions)
        except JsonLogicError as exc:
            raise DefinitionError(f"{source}: {exc}") from None
        deps = t.get("dependencies") or []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise fail(f"{where}.dependencies", "expected a list of fiber ids")
        transitions.append(
            Transition(i, ends["from"], ends["to"], t["eventName"], t["guard"], t["effect"], tuple(deps))
        )
    by_event: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        by_event.setdefault((t.source, t.event), []).append(t)
    name = (data.get("metadata") or {}).get("name") or Path(source).stem
    return Machine(
        name, states, initial, tuple(transitions), source, {k: tuple(v) for k, v in by_event.items()}
    )
