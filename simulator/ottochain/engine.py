"""The fiber engine: OttoChain's checks and transition semantics over plain-data records.

`Ledger` holds the fibers (state machines and scripts) as plain dicts, the calculated state
of the metagraph. `create` and `process` return an `Outcome`; a rejected message leaves every
record unchanged. Checks, in the platform's order: stale sequence number, signed by an owner,
fiber active, a transition for (state, event), the first transition whose guard passes
(else "guard failed"). The effect is evaluated to a map (or [key, value] pairs) and
shallow-merged into the state; `_`-prefixed keys are side effects: `_oracleCall` invokes a
script fiber, `_triggers` sends events to other machines, `_spawn` creates child machines,
`_emit` publishes events. The whole transition, cascades included, is atomic.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .definition import Machine, Script
from .jsonlogic import Evaluator, JsonLogicError, compile_logic, truthy

NOT_OWNER = "not signed by owner"
NO_TRANSITION = "no transition for event in state"
GUARD_FAILED = "guard failed"
STALE = "stale sequence number"
NOT_FOUND = "fiber not found"
NOT_ACTIVE = "fiber not active"
EVAL_ERROR = "evaluation error"
EXISTS = "fiber already exists"
UNKNOWN_DEFINITION = "unknown definition"
REASONS = (
    NOT_OWNER,
    NO_TRANSITION,
    GUARD_FAILED,
    STALE,
    NOT_FOUND,
    NOT_ACTIVE,
    EVAL_ERROR,
    EXISTS,
    UNKNOWN_DEFINITION,
)
MAX_DEPTH = 8
COMPILED = True  # evaluate guards, effects and scripts compiled once (False: interpret each time)


@dataclass
class Outcome:
    """What happened to one message: accepted, or rejected with a reason and detail."""

    accepted: bool
    fiber_id: str
    reason: str = ""
    detail: str = ""
    state: str = ""
    emitted: list[dict[str, Any]] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)

    def text(self) -> str:
        if self.accepted:
            return f"accepted -> {self.state}"
        return f"rejected: {self.reason} ({self.detail})"


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Ledger:
    """Fibers by id (plain dicts) and the definitions they run; `extensions` for JSON Logic."""

    def __init__(self, extensions: bool = True, records: dict[str, dict[str, Any]] | None = None) -> None:
        self.extensions = extensions
        self.fibers: dict[str, dict[str, Any]] = records if records is not None else {}
        self.definitions: dict[str, Machine | Script] = {}

    def run(self, definition: Machine | Script, index: int, part: str, expr: Any, data: Any) -> Any:
        """Evaluate `expr`, the `part` ("guard", "effect", "program") of transition `index` of
        `definition` (-1 for a script), against `data`; compiled on first use and kept with
        the definition."""
        key = (index, part, self.extensions)
        code: Callable[[Any], Any] | None = definition.code.get(key) if COMPILED else None
        if code is None:
            path = f"$.transitions[{index}].{part}" if index >= 0 else "$.scriptProgram"
            where = f"{definition.source}: {path}"
            if not COMPILED:
                return Evaluator(self.extensions, where)(expr, data)
            code = definition.code[key] = compile_logic(expr, self.extensions, where)
        return code(data)

    # -- definitions --------------------------------------------------------------------------
    def define(self, key: str, definition: Machine | Script) -> str:
        self.definitions[key] = definition
        return key

    # -- creation -----------------------------------------------------------------------------
    def create_script(self, fiber_id: str, definition: str, signers: list[str], state: Any = None) -> Outcome:
        script = self.definitions.get(definition)
        if not isinstance(script, Script):
            return Outcome(False, fiber_id, UNKNOWN_DEFINITION, f"no script named {definition!r}")
        if fiber_id in self.fibers:
            return Outcome(False, fiber_id, EXISTS, f"fiber {fiber_id} exists")
        self.fibers[fiber_id] = {
            "kind": "script",
            "definition": definition,
            "owners": sorted(set(signers)),
            "data": copy.deepcopy(script.initial_state if state is None else state),
            "sequence": 0,
            "status": "active",
            "last_invocation": None,
        }
        return Outcome(True, fiber_id, state="active", touched=[fiber_id])

    def create(
        self,
        fiber_id: str,
        definition: str,
        data: dict[str, Any],
        signers: list[str],
        parent: str | None = None,
    ) -> Outcome:
        """A new machine in its initial state; its owners are exactly the create's signers."""
        if fiber_id in self.fibers:
            return Outcome(False, fiber_id, EXISTS, f"fiber {fiber_id} exists")
        machine = self.definitions.get(definition)
        if not isinstance(machine, Machine):
            return Outcome(False, fiber_id, UNKNOWN_DEFINITION, f"no state machine named {definition!r}")
        self.fibers[fiber_id] = {
            "kind": "machine",
            "definition": definition,
            "owners": sorted(set(signers)),
            "state": machine.initial,
            "data": copy.deepcopy(data),
            "sequence": 0,
            "status": "active",
            "parent": parent,
            "children": [],
            "final": machine.is_final(machine.initial),
        }
        return Outcome(True, fiber_id, state=machine.initial, touched=[fiber_id])

    # -- events -------------------------------------------------------------------------------
    def process(
        self,
        fiber_id: str,
        event: str,
        payload: dict[str, Any],
        signers: list[str],
        target_sequence: int | None = None,
        env: dict[str, Any] | None = None,
    ) -> Outcome:
        """Apply one signed event to a machine; all or nothing."""
        staged: dict[str, dict[str, Any]] = {}
        emitted: list[dict[str, Any]] = []
        try:
            record = self.fibers.get(fiber_id)
            if record is None or record["kind"] != "machine":
                raise _Rejected(NOT_FOUND, f"fiber {fiber_id} not found")
            if target_sequence is not None and target_sequence < record["sequence"]:
                raise _Rejected(
                    STALE, f"update targets {target_sequence} but fiber is at {record['sequence']}"
                )
            if not set(signers) & set(record["owners"]):
                raise _Rejected(NOT_OWNER, "update not signed by any fiber owner")
            state = self._transition(fiber_id, event, payload, env or {}, staged, emitted, 0, signers)
        except _Rejected as rej:
            return Outcome(False, fiber_id, rej.reason, rej.detail)
        self._commit(staged)
        return Outcome(True, fiber_id, state=state, emitted=emitted, touched=list(staged))

    def _commit(self, staged: dict[str, dict[str, Any]]) -> None:
        """Write staged records back in place, so holders of a record (the World) see it."""
        for fid, rec in staged.items():
            current = self.fibers.get(fid)
            if current is None:
                self.fibers[fid] = rec
            else:
                current.clear()
                current.update(rec)

    def _stage(self, fid: str, staged: dict[str, dict[str, Any]]) -> dict[str, Any]:
        if fid not in staged:
            if fid not in self.fibers:
                raise _Rejected(NOT_FOUND, f"fiber {fid} not found")
            staged[fid] = _copy(self.fibers[fid])
        return staged[fid]

    def _transition(
        self,
        fid: str,
        event: str,
        payload: Any,
        env: dict[str, Any],
        staged: dict[str, dict[str, Any]],
        emitted: list[dict[str, Any]],
        depth: int,
        signers: list[str],
    ) -> str:
        if depth > MAX_DEPTH:
            raise _Rejected(EVAL_ERROR, f"trigger cascade depth exceeded ({depth})")
        rec = self._stage(fid, staged)
        if rec["status"] != "active":
            raise _Rejected(NOT_ACTIVE, f"fiber {fid} is {rec['status']}")
        machine = self.definitions[rec["definition"]]
        assert isinstance(machine, Machine)
        candidates = machine.candidates(rec["state"], event)
        if not candidates:
            raise _Rejected(NO_TRANSITION, f"no transition from state {rec['state']} for event {event}")
        deps = sorted({d for t in candidates for d in t.dependencies})
        context = self._context(fid, rec, event, payload, env, deps, staged, signers)
        chosen = None
        for t in candidates:
            try:
                if truthy(self.run(machine, t.index, "guard", t.guard, context)):
                    chosen = t
                    break
            except JsonLogicError as exc:
                raise _Rejected(EVAL_ERROR, str(exc)) from None
        if chosen is None:
            raise _Rejected(
                GUARD_FAILED,
                f"no guard matched from {rec['state']} on {event} ({len(candidates)} guards tried)",
            )
        try:
            result = self.run(machine, chosen.index, "effect", chosen.effect, context)
        except JsonLogicError as exc:
            raise _Rejected(EVAL_ERROR, str(exc)) from None
        effects = self._merge(rec, result)
        rec["state"] = chosen.target
        rec["sequence"] += 1
        rec["final"] = machine.is_final(chosen.target)
        self._side_effects(fid, rec, effects, env, staged, emitted, depth, signers)
        return chosen.target

    @staticmethod
    def _merge(rec: dict[str, Any], result: Any) -> dict[str, Any]:
        """Shallow-merge the effect's result; return its `_` side-effect keys."""
        if isinstance(result, list) and all(isinstance(p, list) and len(p) == 2 for p in result):
            result = {str(k): v for k, v in result}
        if not isinstance(result, dict):
            raise _Rejected(EVAL_ERROR, f"effect must return a map, got {type(result).__name__}")
        side = {k: v for k, v in result.items() if k.startswith("_")}
        rec["data"] = {**rec["data"], **{k: v for k, v in result.items() if not k.startswith("_")}}
        return side

    def _context(
        self,
        fid: str,
        rec: dict[str, Any],
        event: str,
        payload: Any,
        env: dict[str, Any],
        deps: list[str],
        staged: dict[str, dict[str, Any]],
        signers: list[str],
    ) -> dict[str, Any]:
        def view(x: str) -> dict[str, Any] | None:
            return staged.get(x) or self.fibers.get(x)

        scripts = {}
        machines = {}
        for d in deps:
            other = view(d)
            if other is None:
                continue
            summary = {"state": other["data"], "sequenceNumber": other["sequence"]}
            if other["kind"] == "script":
                summary["lastInvocation"] = other["last_invocation"]
                scripts[d] = summary
            else:
                summary["currentStateId"] = other["state"]
                machines[d] = summary
        parent = view(rec["parent"]) if rec.get("parent") else None
        return {
            "state": rec["data"],
            "event": payload,
            "eventName": event,
            "eventType": event,
            "machineId": fid,
            "currentStateId": rec["state"],
            "sequenceNumber": rec["sequence"],
            "proofs": [{"address": s} for s in signers],
            "machines": machines,
            "scripts": scripts,
            "scriptOracles": scripts,  # the name the published examples use
            "parent": {"state": parent["data"], "currentStateId": parent["state"]} if parent else None,
            "children": {c: {"state": view(c)["data"]} for c in rec.get("children", []) if view(c)},
            "$ordinal": env.get("ordinal", 0),
            **({"$timestamp": env.get("timestamp", 0)} if self.extensions else {}),
        }

    def _side_effects(
        self,
        fid: str,
        rec: dict[str, Any],
        effects: dict[str, Any],
        env: dict[str, Any],
        staged: dict[str, dict[str, Any]],
        emitted: list[dict[str, Any]],
        depth: int,
        signers: list[str],
    ) -> None:
        call = effects.get("_oracleCall")
        if call is not None:
            self._invoke(fid, call, staged)
        for item in _as_list(effects.get("_emit")):
            emitted.append({"source": fid, "name": item.get("name"), "data": item.get("data")})
        for spawn in _as_list(effects.get("_spawn")):
            child = str(spawn.get("childId") or f"{fid}/child-{len(rec['children'])}")
            definition = spawn.get("definition")
            if definition not in self.definitions or child in self.fibers or child in staged:
                raise _Rejected(EVAL_ERROR, f"_spawn: cannot create {child} from {definition!r}")
            machine = self.definitions[definition]
            assert isinstance(machine, Machine)
            staged[child] = {
                "kind": "machine",
                "definition": definition,
                "owners": sorted(spawn.get("owners") or rec["owners"]),
                "state": machine.initial,
                "data": copy.deepcopy(spawn.get("initialData") or {}),
                "sequence": 0,
                "status": "active",
                "parent": fid,
                "children": [],
                "final": machine.is_final(machine.initial),
            }
            rec["children"].append(child)
        for trig in _as_list(effects.get("_triggers")):
            target = str(trig.get("targetMachineId") or trig.get("target") or "")
            self._transition(
                target,
                str(trig.get("eventName")),
                trig.get("payload") or {},
                env,
                staged,
                emitted,
                depth + 1,
                signers,
            )

    def _invoke(self, caller: str, call: Any, staged: dict[str, dict[str, Any]]) -> None:
        if not isinstance(call, dict) or not call.get("fiberId"):
            raise _Rejected(EVAL_ERROR, f"_oracleCall needs a fiberId, got {call!r}")
        sid = str(call["fiberId"])
        rec = self._stage(sid, staged)
        script = self.definitions[rec["definition"]]
        if not isinstance(script, Script):
            raise _Rejected(EVAL_ERROR, f"_oracleCall target {sid} is not a script")
        method = call.get("method")
        try:
            out = self.run(
                script,
                -1,
                "program",
                script.program,
                {"method": method, "args": call.get("args") or {}, "state": rec["data"]},
            )
        except JsonLogicError as exc:
            raise _Rejected(EVAL_ERROR, str(exc)) from None
        if isinstance(out, dict) and "_state" in out:
            rec["data"] = out["_state"]
        rec["sequence"] += 1
        rec["last_invocation"] = {
            "method": method,
            "args": call.get("args"),
            "result": out.get("_result") if isinstance(out, dict) else out,
            "invokedBy": caller,
        }


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    """A record to stage: its fields and their containers copied one level deep. Enough, and
    as good as a deep copy: a transition replaces `data` and `last_invocation` whole, and the
    containers it (or the world) changes in place are `children` and `tally`, top-level ones."""
    return {k: v.copy() if v.__class__ is dict or v.__class__ is list else v for k, v in record.items()}


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [i for i in items if isinstance(i, dict)]
