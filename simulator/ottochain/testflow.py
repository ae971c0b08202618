"""`simulator fiber test EXAMPLE.json`: run an OttoChain example's testFlows step by step.

The example format is upstream's (`../shared/ottochain/examples/*/example.json`): each flow
creates the fiber (`create` / `createStateMachine`, optionally after `createScript`) and
sends events (`processEvent` with an `event-*.json` file and optional `eventData`), checking
`expectedState`. A file named `X.ts` is read as `X.json`, or the one `X*.json` beside it.
Two step fields beyond upstream's: `"signer"` (an owner index or a name) chooses who signs,
and `"expectRejected"` (a reason such as "not signed by owner") requires the step to be
refused with that reason and to leave the fiber unchanged. A create step may list
`"signers"` (default `["alice"]`): the fiber's owners are exactly these. A step may give
`"sequence"` to target a sequence number (default: the fiber's current one).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .definition import DefinitionError, Machine, load_definition, read_json
from .engine import Ledger

DEFAULT_SIGNERS = ["alice"]


def _resolve(base: Path, name: str) -> Path:
    p = base / name
    if p.suffix == ".ts":
        p = p.with_suffix(".json")
    if p.is_file():
        return p
    matches = sorted(base.glob(f"{p.stem}*.json"))
    if len(matches) == 1:
        return matches[0]
    raise DefinitionError(f"{base / name}: no such file (looked for {p.name} and {p.stem}*.json)")


def _fill(value: Any, owners: list[str], signer: str, tag: str) -> Any:
    """Replace `<...>` placeholders: player X/O -> owners 0/1, an id -> a stable id, an
    address -> the signer's."""
    if isinstance(value, dict):
        return {k: _fill(v, owners, signer, tag) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, owners, signer, tag) for v in value]
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        text = value.lower()
        if "player x" in text:
            return owners[0]
        if "player o" in text:
            return owners[1] if len(owners) > 1 else "bob"
        if "uuid" in text or text.endswith("id>"):
            return f"{tag}-id"
        return signer
    return value


def run_example(path: str | Path, say: Callable[[str], None] = print, extensions: bool = True) -> bool:
    """Run every flow; print each step's outcome; True when every expectation holds."""
    path = Path(path)
    example = read_json(path, "example")
    if not isinstance(example, dict) or not isinstance(example.get("testFlows"), list):
        raise DefinitionError(f"{path}: $.testFlows: expected a list of flows (an OttoChain example file)")
    all_ok = True
    for n, flow in enumerate(example["testFlows"]):
        name = flow.get("name", f"flow {n + 1}")
        say(f"flow {n + 1}: {name}")
        ok = _run_flow(path, flow, n, say, extensions)
        say(f"  {'PASS' if ok else 'FAIL'}: {name}")
        all_ok &= ok
    return all_ok


def _run_flow(
    source: Path, flow: dict[str, Any], n: int, say: Callable[[str], None], extensions: bool
) -> bool:
    base = source.parent
    ledger = Ledger(extensions)
    steps = flow.get("steps") or []
    machines = [s for s in steps if s.get("action") in ("create", "createStateMachine")]
    dep_ids: list[str] = []
    for s in machines:
        d = load_definition(_resolve(base, s["definition"]), extensions)
        if isinstance(d, Machine):
            dep_ids += [x for t in d.transitions for x in t.dependencies if x not in dep_ids]
    scripts: list[str] = []
    fiber = ""
    owners: list[str] = []
    tag = re.sub(r"[^a-z0-9]+", "-", str(flow.get("name", n)).lower()).strip("-")
    ok = True
    for i, step in enumerate(steps, 1):
        path = f"$.testFlows[{n}].steps[{i - 1}]"
        if not isinstance(step, dict):
            raise DefinitionError(f"{source}: {path}: expected an object with an action")
        action = step.get("action")
        need = {
            "createScript": "definition",
            "create": "definition",
            "createStateMachine": "definition",
            "processEvent": "event",
        }.get(action)
        if need and not isinstance(step.get(need), str):
            raise DefinitionError(f"{source}: {path}.{need}: required (a file name)")
        if action == "processEvent" and not fiber:
            raise DefinitionError(f"{source}: {path}: processEvent before any create step")
        where = f"  step {i} {action}"
        if action == "createScript":
            sid = dep_ids[len(scripts)] if len(scripts) < len(dep_ids) else f"script-{len(scripts)}"
            key = ledger.define(
                step["definition"], load_definition(_resolve(base, step["definition"]), extensions)
            )
            ledger.create_script(sid, key, step.get("signers", DEFAULT_SIGNERS))
            scripts.append(sid)
            say(f"{where}: script {sid} created")
        elif action in ("create", "createStateMachine"):
            definition = load_definition(_resolve(base, step["definition"]), extensions)
            key = ledger.define(step["definition"], definition)
            data: dict[str, Any] = {}
            if step.get("initialData"):
                try:
                    data = read_json(_resolve(base, step["initialData"]), "initial data")
                except DefinitionError:
                    if not scripts:
                        raise
            if scripts and "oracleFiberId" not in data:
                data = {**data, "oracleFiberId": scripts[0]}
            owners = list(step.get("signers", DEFAULT_SIGNERS))
            fiber = f"{tag}-fiber"
            out = ledger.create(fiber, key, data, owners)
            say(f"{where}: fiber in state {out.state}, owners {', '.join(owners)}")
        elif action == "processEvent":
            signer = _signer(step.get("signer", 0), owners)
            event_path = _resolve(base, step["event"])
            event = read_json(event_path, "event")
            if not isinstance(event, dict) or not isinstance(event.get("eventName"), str):
                raise DefinitionError(f"{event_path}: $.eventName: required (the event's name)")
            payload = _fill({**event.get("payload", {}), **step.get("eventData", {})}, owners, signer, tag)
            before = copy.deepcopy(ledger.fibers)
            seq = step.get("sequence", ledger.fibers[fiber]["sequence"])
            out = ledger.process(fiber, event["eventName"], payload, [signer], seq, {"timestamp": i})
            state = ledger.fibers[fiber]["state"]
            line = f"{where} {event['eventName']} signed by {signer}: {out.text()}"
            expected_rej = step.get("expectRejected")
            if expected_rej is not None:
                good = (
                    not out.accepted
                    and str(expected_rej).lower() in (out.reason + " " + out.detail).lower()
                    and ledger.fibers == before
                )
                line += "" if good else f"  <- FAIL: expected rejection {expected_rej!r}, state unchanged"
            else:
                good = out.accepted and step.get("expectedState", state) == state
                if not good:
                    line += f"  <- FAIL: expected state {step.get('expectedState', '(accepted)')}"
            say(line)
            ok &= good
        else:
            say(
                f"{where}: unknown action {action!r} (create, createScript, createStateMachine, processEvent)"
            )
            ok = False
    for sid in scripts:
        say(f"  script {sid}: {_brief(ledger.fibers[sid]['data'])}")
    return ok


def _signer(spec: Any, owners: list[str]) -> str:
    if isinstance(spec, int) and not isinstance(spec, bool):
        if not 0 <= spec < len(owners):
            raise DefinitionError(f"signer {spec}: no owner with that index (owners: {', '.join(owners)})")
        return owners[spec]
    return str(spec)


def _brief(data: Any) -> str:
    if isinstance(data, dict):
        keys = ("status", "winner", "moveCount")
        return ", ".join(f"{k}={data[k]}" for k in keys if k in data)
    return str(data)[:60]
