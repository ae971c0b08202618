"""Bad scenarios and overrides, tried as a user would: one `error:` line naming what is wrong
and what is allowed, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json

import pytest
import yaml

from simulator.cli import main
from simulator.infra.scenario import expected_work, load_scenario

from .conftest import SCENARIOS

FLOOD = SCENARIOS / "flood_overload.yaml"


def scenario_text(mutate=None) -> str:
    data = yaml.safe_load(FLOOD.read_text())
    if mutate:
        mutate(data)
    return yaml.safe_dump(data, sort_keys=False)


def refused(tmp_path, capsys, argv: list[str], *expected: str) -> str:
    """Run the CLI; it must exit 2 with one `error:` line holding `expected`, writing nothing."""
    out = tmp_path / "results"
    assert main([*argv, "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    for part in expected:
        assert part in err[0], err[0]
    assert not out.exists()
    return err[0]


def service(data: dict, sid: str) -> dict:
    return next(s for s in data["services"] if s["id"] == sid)


FILE_CASES = {
    "negative seed": (lambda d: d.update(seed=-1), ["seed: Input should be greater than or equal to 0"]),
    "infinite until": (lambda d: d.update(until=float("inf")), ["until:", "inf and nan are not allowed"]),
    "until 1e300": (lambda d: d.update(until=1e300), ["until: 1e+300", "max_events 10,000,000"]),
    "missing until": (lambda d: d.pop("until"), ["until: required key is missing"]),
    "demand too high": (
        lambda d: d["citizens"][0].update(demand=1e8),
        ["need at least 2e+09 events", "allowed: a shorter until, lower demand, or a larger max_events"],
    ),
    "dependency cycle": (
        lambda d: service(d, "transport").update(depends_on=["emergency"]),
        ["services[1].depends_on: dependency cycle: emergency depends on transport depends on emergency"],
    ),
    "duplicate service id": (  # a second 'transport' depending on the first: not "itself"
        lambda d: d["services"].append({"id": "transport", "capacity": 1, "depends_on": ["transport"]}),
        ["ids must be unique", "repeated: transport"],
    ),
    "self dependency": (
        lambda d: service(d, "power").update(depends_on=["power"]),
        ["services[2].depends_on[0]: a service cannot depend on itself"],
    ),
    "id with a comma": (
        lambda d: service(d, "power").update(id="po,wer"),
        ["services[2].id: an id must be non-empty, without commas, quotes or line breaks"],
    ),
    "citizen names colliding with an id": (
        lambda d: (
            d["citizens"][0].update(count=3),
            d["services"].append({"id": "citizen_1_1", "capacity": 1}),
        ),
        ["citizens[0]: its 3 citizens are named citizen_1_0..citizen_1_2, and 'citizen_1_1' is already"],
    ),
    "overload_at above fail_at": (
        lambda d: service(d, "power").update(overload_at=5),
        ["services[2].overload_at: 5 is above fail_at 3 (allowed: overload_at <= fail_at)"],
    ),
    "recover_below above overload_at": (
        lambda d: service(d, "power").update(recover_below=2),
        ["services[2].recover_below: 2 is above overload_at 1 (allowed: recover_below <= overload_at)"],
    ),
    "fail_resource above recover_resource": (
        lambda d: service(d, "emergency").update(fail_resource=0.9),
        ["services[1].fail_resource: 0.9 is above recover_resource 0.5"],
    ),
    "flood tick longer than the flood": (
        lambda d: d["stressors"][0].update(tick=1e300),
        ["stressors[0].tick: 1e+300 is longer than the flood's duration 3 (allowed: tick <= duration)"],
    ),
    "flood surge too high": (
        lambda d: d["stressors"][0].update(intensity=1e300),
        ["need at least 2.4e+301 events", "more than max_events"],  # 12 ticks x 2 services x 1e300 x 4 x 0.25
    ),
    "capacity true": (
        lambda d: service(d, "power").update(capacity=True),
        ["services[2].capacity: expected a number or text, not true/false"],
    ),
    "infinite threshold": (
        lambda d: service(d, "power").update(fail_at=float("inf")),
        ["services[2].fail_at:", "inf and nan are not allowed"],
    ),
    "nan capacity": (lambda d: service(d, "power").update(capacity=float("nan")), ["services[2].capacity:"]),
    "negative max_queue": (lambda d: service(d, "power").update(max_queue=-1), ["services[2].max_queue:"]),
    "zero max_events": (lambda d: d.update(max_events=0), ["max_events: Input should be greater than 0"]),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_scenario_file(case, tmp_path, capsys):
    mutate, expected = FILE_CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(scenario_text(mutate))
    refused(tmp_path, capsys, ["run", str(path)], str(path), *expected)


def test_a_binary_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"name: x\n\x00\x01\x02\xff")
    refused(tmp_path, capsys, ["run", str(path)], "is not a UTF-8 text file (binary data; a scenario is")


def test_a_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_bytes(scenario_text().replace("name:", "# caf\xe9\nname:").encode("latin-1"))
    expected = "is not a UTF-8 text file (byte 0xe9 at offset 5)"
    refused(tmp_path, capsys, ["run", str(path)], expected, "as UTF-8")


def test_a_key_given_twice(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    lines = scenario_text().splitlines()
    path.write_text("\n".join([*lines[:2], "seed: 1", *lines[2:], "seed: 2"]) + "\n")
    refused(tmp_path, capsys, ["run", str(path)], f"{path}:{len(lines) + 2}:", "duplicate key 'seed'")


def test_a_key_given_twice_inside_a_flow_mapping(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    text = FLOOD.read_text()
    assert "{id: power," in text
    path.write_text(text.replace("{id: power,", "{id: power, capacity: 9,"))
    refused(tmp_path, capsys, ["run", str(path)], "duplicate key 'capacity'")


OVERRIDE_CASES = {
    "negative --seed": (["--seed", "-3"], ["seed: Input should be greater than or equal to 0 (got -3)"]),
    "list index out of range": (
        ["--set", "services.9.capacity=1"],
        ["--set services.9.capacity: services has 3 items, no item '9' (allowed: index 0 to 2"],
    ),
    "unknown service id": (["--set", "services.metro.capacity=1"], ["or an id: transport, emergency, power"]),
    "into a scalar": (
        ["--set", "seed.x=1"],
        ["--set seed.x: seed is a single value (42), it has no key 'x'"],
    ),
    "empty path part": (["--set", "policy..budget=1"], ["empty part in the dotted path"]),
    "value that is not YAML": (["--set", "policy.budget=[1"], ["the value is not valid YAML"]),
    "no equals sign": (["--set", "policy.budget"], ["expected KEY=VALUE"]),
    "infinite --until": (["--until", "inf"], ["until:", "inf and nan are not allowed"]),
    "nan --until": (["--until", "nan"], ["until:", "inf and nan are not allowed"]),
    "zero --until": (["--until", "0"], ["until: Input should be greater than 0"]),
    "boolean capacity": (["--set", "services.0.capacity=true"], ["not true/false"]),
}


@pytest.mark.parametrize("case", sorted(OVERRIDE_CASES))
def test_bad_override(case, tmp_path, capsys):
    extra, expected = OVERRIDE_CASES[case]
    refused(tmp_path, capsys, ["run", str(FLOOD), *extra], *expected)


def test_a_list_item_can_be_named_by_its_id(tmp_path):
    by_id = load_scenario(str(FLOOD), {"services.power.capacity": 7.5})
    by_index = load_scenario(str(FLOOD), {"services.2.capacity": 7.5})
    assert by_id == by_index and by_id.services[2].capacity == 7.5


def test_a_run_that_outgrows_max_events_is_stopped_and_writes_nothing(tmp_path, capsys):
    """The up-front estimate lets it through (panic and follow-ups add events); the kernel
    stops it at max_events, and the previous complete output stays as it was."""
    out = tmp_path / "results"
    assert main(["run", str(FLOOD), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    events = json.loads((out / "summary.json").read_text())["outcomes"]["events"]
    work = expected_work(load_scenario(str(FLOOD)))
    limit = int(work) + 1
    assert work < limit < events  # so the refusal can only come from the running kernel
    capsys.readouterr()
    assert main(["run", str(FLOOD), "--out", str(out), "--quiet", "--set", f"max_events={limit}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"needs more than max_events={limit} events" in err[0], err
    assert "nothing was written" in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_run_within_max_events_is_unchanged(tmp_path):
    """The budget is a bound, not a change: a run of exactly max_events is the same run."""
    plain, bounded = tmp_path / "plain", tmp_path / "bounded"
    assert main(["run", str(FLOOD), "--out", str(plain), "--quiet"]) == 0
    events = json.loads((plain / "summary.json").read_text())["outcomes"]["events"]
    argv = ["run", str(FLOOD), "--out", str(bounded), "--quiet", "--set", f"max_events={events}"]
    assert main(argv) == 0
    assert (plain / "metrics.csv").read_bytes() == (bounded / "metrics.csv").read_bytes()


def test_summary_json_is_strict_json(tmp_path):
    out = tmp_path / "results"
    assert main(["run", str(FLOOD), "--out", str(out), "--quiet"]) == 0

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    json.loads((out / "summary.json").read_text(), parse_constant=no_constants)


def test_write_json_turns_non_finite_numbers_into_null(tmp_path):
    from simulator.runs import write_json

    write_json(tmp_path / "x.json", {"a": float("inf"), "b": [float("nan"), 1.5], "c": {"d": -float("inf")}})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": [None, 1.5], "c": {"d": None}}


@pytest.mark.parametrize("background", ["false", "true"])
@pytest.mark.parametrize("blocked", ["metrics.csv", "summary.json"])
def test_an_output_name_taken_by_a_folder_leaves_no_partial_file(blocked, background, tmp_path, capsys):
    out = tmp_path / "results"
    (out / blocked).mkdir(parents=True)
    argv = ["run", str(FLOOD), "--out", str(out), "--quiet", "--set", f"recording.background={background}"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Is a directory" in err[0], err
    assert not [p.name for p in out.iterdir() if p.name.endswith(".partial")]
