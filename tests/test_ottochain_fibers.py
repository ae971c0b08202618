"""The fiber engine against OttoChain's own examples and definitions (read from ../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.ottochain.definition import DefinitionError, load_definition
from simulator.ottochain.engine import GUARD_FAILED, NO_TRANSITION, NOT_OWNER, STALE, Ledger
from simulator.ottochain.testflow import run_example

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "ottochain"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"{SHARED} is absent (OttoChain's published definitions live beside the repo)"
)
EXAMPLES = sorted(SHARED.glob("examples/*/example.json"))
LOADABLE = sorted(
    [
        *SHARED.glob("sdk/*.json"),
        *SHARED.glob("domains/dao-*.json"),
        *SHARED.glob("domains/governance-*.json"),
    ]
)


@needs_shared
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_flow_passes_through_the_cli(example, capsys):
    assert main(["fiber", "test", str(example)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    flows = json.loads(example.read_text())["testFlows"]
    assert out.count("PASS") == len(flows)


@needs_shared
def test_tictactoe_games_reach_their_outcomes():
    lines: list[str] = []
    assert run_example(SHARED / "examples/tictactoe/example.json", lines.append)
    scripts = [line for line in lines if "script 1111" in line and "status=" in line]
    assert [s.split(": ", 1)[1] for s in scripts] == [
        "status=Won, winner=X, moveCount=5",
        "status=Won, winner=O, moveCount=6",
        "status=Draw, winner=None, moveCount=9",
    ]


@needs_shared
@pytest.mark.parametrize("path", LOADABLE, ids=lambda p: p.name)
def test_sdk_dao_and_governance_definitions_load(path):
    d = load_definition(path)
    assert d.states and d.initial in d.states and d.transitions


@needs_shared
@pytest.mark.parametrize("path", sorted(SHARED.glob("domains/corporate-*.json")), ids=lambda p: p.name)
def test_corporate_files_are_one_clear_error(path, capsys):
    assert main(["fiber", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {path}: $: not an OttoChain state-machine definition")
    assert "expected the plain machine schema" in err


@needs_shared
def test_sdk_extensions_off_reports_the_gap():
    with pytest.raises(
        DefinitionError, match=r"contract-agreement.json: .*transitions\[0\]\.effect.*'\$timestamp'"
    ):
        load_definition(SHARED / "sdk/contract-agreement.json", extensions=False)


ORDER = {
    "states": {
        "pending": {"id": "pending", "isFinal": False},
        "paid": {"id": {"value": "paid"}, "isFinal": False},
        "done": {"id": "done", "isFinal": True},
    },
    "initialState": "pending",
    "transitions": [
        {
            "from": "pending",
            "to": "paid",
            "eventName": "pay",
            "guard": {">=": [{"var": "event.amount"}, 100]},
            "effect": {"paidBy": {"var": "event.agent"}},
        },
        {
            "from": "pending",
            "to": "done",
            "eventName": "pay",
            "guard": {"==": [1, 1]},
            "effect": {"note": "second guard"},
        },
        {
            "from": "paid",
            "to": "done",
            "eventName": "ship",
            "guard": {"==": [1, 1]},
            "effect": {"_emit": [{"name": "shipped", "data": {"id": {"var": "machineId"}}}], "shipped": True},
        },
    ],
}


def _ledger(tmp_path: Path) -> Ledger:
    p = tmp_path / "order.json"
    p.write_text(json.dumps(ORDER))
    ledger = Ledger()
    ledger.define("order", load_definition(p))
    assert ledger.create("f1", "order", {"item": "x"}, ["alice", "bob"]).accepted
    return ledger


def test_owners_are_the_create_signers_and_others_are_refused(tmp_path):
    ledger = _ledger(tmp_path)
    assert ledger.fibers["f1"]["owners"] == ["alice", "bob"]
    before = json.dumps(ledger.fibers, sort_keys=True)
    out = ledger.process("f1", "pay", {"amount": 500}, ["mallory"], 0)
    assert (out.accepted, out.reason) == (False, NOT_OWNER)
    assert json.dumps(ledger.fibers, sort_keys=True) == before
    assert ledger.process("f1", "pay", {"amount": 500, "agent": "bob"}, ["bob"], 0).accepted


def test_first_passing_guard_wins_and_effect_is_shallow_merged(tmp_path):
    ledger = _ledger(tmp_path)
    out = ledger.process("f1", "pay", {"amount": 5}, ["alice"], 0)
    assert out.state == "done"  # the first guard failed, the second passed
    assert ledger.fibers["f1"]["data"] == {"item": "x", "note": "second guard"}
    ledger = _ledger(tmp_path)
    assert ledger.process("f1", "pay", {"amount": 150, "agent": "alice"}, ["alice"], 0).state == "paid"
    out = ledger.process("f1", "ship", {}, ["alice"], 1)
    assert out.emitted == [{"source": "f1", "name": "shipped", "data": {"id": "f1"}}]
    assert ledger.fibers["f1"]["data"] == {"item": "x", "paidBy": "alice", "shipped": True}
    assert ledger.fibers["f1"]["final"] and ledger.fibers["f1"]["sequence"] == 2


def test_rejection_reasons(tmp_path):
    ledger = _ledger(tmp_path)
    assert ledger.process("f1", "ship", {}, ["alice"], 0).reason == NO_TRANSITION
    assert ledger.process("f1", "pay", {"amount": 150}, ["alice"], 0).accepted
    assert ledger.process("f1", "ship", {}, ["alice"], 0).reason == STALE
    ORDER2 = json.loads(json.dumps(ORDER))
    ORDER2["transitions"] = ORDER2["transitions"][:1]
    p = tmp_path / "one.json"
    p.write_text(json.dumps(ORDER2))
    ledger.define("one", load_definition(p))
    ledger.create("f2", "one", {}, ["alice"])
    assert ledger.process("f2", "pay", {"amount": 1}, ["alice"], 0).reason == GUARD_FAILED


def test_signer_and_expect_rejected_step_fields(tmp_path):
    (tmp_path / "def.json").write_text(json.dumps(ORDER))
    (tmp_path / "init.json").write_text("{}")
    (tmp_path / "event-pay.json").write_text(json.dumps({"eventName": "pay", "payload": {"amount": 200}}))
    flow = {
        "testFlows": [
            {
                "name": "co-signed",
                "steps": [
                    {
                        "action": "create",
                        "definition": "def.json",
                        "initialData": "init.json",
                        "signers": ["alice", "bob"],
                    },
                    {
                        "action": "processEvent",
                        "event": "event-pay.json",
                        "signer": "mallory",
                        "expectRejected": "not signed by owner",
                    },
                    {
                        "action": "processEvent",
                        "event": "event-pay.json",
                        "signer": 1,
                        "expectedState": "paid",
                    },
                    {
                        "action": "processEvent",
                        "event": "event-pay.json",
                        "signer": 1,
                        "expectRejected": "no transition",
                    },
                ],
            }
        ]
    }
    (tmp_path / "example.json").write_text(json.dumps(flow))
    assert main(["fiber", "test", str(tmp_path / "example.json")]) == 0
    flow["testFlows"][0]["steps"][1]["signer"] = 0  # an owner: accepted, so the expectation fails
    (tmp_path / "example.json").write_text(json.dumps(flow))
    assert main(["fiber", "test", str(tmp_path / "example.json")]) == 1


def _bad(tmp_path: Path, text: str, capsys) -> str:
    p = tmp_path / "bad.json"
    p.write_text(text)
    assert main(["fiber", "check", str(p)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(p) in err
    return err


def test_bad_definitions_are_one_line_errors_with_file_and_json_path(tmp_path, capsys):
    broken = json.loads(json.dumps(ORDER))
    broken["transitions"][2]["to"] = "shipped"
    assert "$.transitions[2].to: unknown state 'shipped'" in _bad(tmp_path, json.dumps(broken), capsys)
    broken = json.loads(json.dumps(ORDER))
    broken["transitions"][1]["guard"] = "amount > 100"
    assert "$.transitions[1].guard: not JSON Logic" in _bad(tmp_path, json.dumps(broken), capsys)
    broken = json.loads(json.dumps(ORDER))
    broken["transitions"][0]["guard"] = {"and": [True, {"log": [1]}]}
    assert "$.transitions[0].guard.and[1]: operator 'log'" in _bad(tmp_path, json.dumps(broken), capsys)
    broken = json.loads(json.dumps(ORDER))
    del broken["initialState"]
    assert "$.initialState: required key is missing" in _bad(tmp_path, json.dumps(broken), capsys)
    broken["initialState"] = "nowhere"
    assert "$.initialState: unknown state 'nowhere'" in _bad(tmp_path, json.dumps(broken), capsys)
    assert "$: malformed JSON at line 1 column" in _bad(tmp_path, '{"states": ', capsys)


LAMP = {
    "states": {"off": {"id": "off", "isFinal": False}, "on": {"id": "on", "isFinal": False}},
    "initialState": "off",
    "transitions": [
        {
            "from": "off",
            "to": "on",
            "eventName": "toggle",
            "guard": {"!!": [{"var": "event.power"}]},
            "effect": {"switchedBy": {"var": "event.by"}},
        },
    ],
}
PANEL = {
    "states": {"idle": {"id": "idle", "isFinal": False}, "ready": {"id": "ready", "isFinal": False}},
    "initialState": "idle",
    "transitions": [
        {
            "from": "idle",
            "to": "ready",
            "eventName": "install",
            "guard": True,
            "effect": {
                "_spawn": [{"childId": "lamp-1", "definition": "lamp", "initialData": {"watts": 9}}],
                "installed": True,
            },
        },
        {
            "from": "ready",
            "to": "ready",
            "eventName": "press",
            "guard": True,
            "effect": {
                "_triggers": [
                    {
                        "targetMachineId": "lamp-1",
                        "eventName": "toggle",
                        "payload": {"power": {"var": "event.power"}, "by": "panel"},
                    }
                ],
                "presses": {"+": [{"var": "state.presses"}, 1]},
            },
        },
    ],
}


def test_spawn_and_triggers_are_atomic(tmp_path):
    ledger = Ledger()
    for name, body in (("lamp", LAMP), ("panel", PANEL)):
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(body))
        ledger.define(name, load_definition(p))
    ledger.create("panel-1", "panel", {"presses": 0}, ["alice"])
    out = ledger.process("panel-1", "install", {}, ["alice"], 0)
    assert out.accepted and ledger.fibers["lamp-1"]["parent"] == "panel-1"
    assert ledger.fibers["lamp-1"]["owners"] == ["alice"] and ledger.fibers["lamp-1"]["data"] == {"watts": 9}
    before = json.dumps(ledger.fibers, sort_keys=True)
    out = ledger.process("panel-1", "press", {"power": False}, ["alice"], 1)  # the lamp's guard fails
    assert (out.accepted, out.reason) == (False, GUARD_FAILED)
    assert json.dumps(ledger.fibers, sort_keys=True) == before  # the panel's own change rolled back
    out = ledger.process("panel-1", "press", {"power": True}, ["alice"], 1)
    assert out.accepted and ledger.fibers["lamp-1"]["state"] == "on"
    assert (
        ledger.fibers["lamp-1"]["data"]["switchedBy"] == "panel"
        and ledger.fibers["panel-1"]["data"]["presses"] == 1
    )


def test_a_transition_never_changes_what_an_earlier_look_holds(tmp_path):
    """Staging copies a record one level deep: a view taken before a transition (the world's
    observations are such shallow copies) keeps its data, children and tally."""
    ledger = Ledger()
    for name, body in (("lamp", LAMP), ("panel", PANEL)):
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(body))
        ledger.define(name, load_definition(p))
    ledger.create("panel-1", "panel", {"presses": 0}, ["alice"])
    ledger.fibers["panel-1"]["tally"] = {}
    views, accepted = [], []
    steps = (("install", {}, 0), ("press", {"power": True}, 1), ("press", {"power": True}, 2))
    for event, payload, seq in steps:
        panel = ledger.fibers["panel-1"]
        views.append((dict(panel), json.dumps(panel, sort_keys=True)))
        accepted.append(ledger.process("panel-1", event, payload, ["alice"], seq).accepted)
        if accepted[-1]:  # as the world counts an applied event, on the record in place
            tally = ledger.fibers["panel-1"]["tally"]
            tally[event] = tally.get(event, 0) + 1
    assert accepted == [True, True, False]  # the lamp is on: a second toggle is refused
    panel = ledger.fibers["panel-1"]
    assert panel["children"] == ["lamp-1"] and panel["data"]["presses"] == 1
    for view, text in views:
        assert json.dumps(view, sort_keys=True) == text


def test_malformed_example_steps_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "example.json").write_text(
        json.dumps({"testFlows": [{"steps": [{"action": "processEvent"}]}]})
    )
    assert main(["fiber", "test", str(tmp_path / "example.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'example.json'}: $.testFlows[0].steps[0].event: required (a file name)"
