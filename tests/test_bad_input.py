"""Bad input: one clear line naming the path and what is allowed, exit code 2, nothing written."""

from __future__ import annotations

import pytest
import yaml

from simulator.cli import main

from .conftest import SCENARIOS


def write(tmp_path, mutate):
    data = yaml.safe_load((SCENARIOS / "flood_overload.yaml").read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


CASES = {
    "unknown key": (
        lambda d: d["services"][0].update(capcity=5),
        "services[0].capcity: unknown key (allowed: id,",
    ),
    "wrong type": (lambda d: d["services"][1].update(capacity="lots"), "services[1].capacity:"),
    "missing dependency": (
        lambda d: d["services"][1].update(depends_on=["trnsport"]),
        "services[1].depends_on[0]: unknown service 'trnsport' (allowed: transport, emergency, power)",
    ),
    "negative delay": (lambda d: d["policy"].update(intervention_delay=-1), "policy.intervention_delay:"),
    "negative latency": (
        lambda d: d["latency"]["channels"][0].update(base=-0.5),
        "latency.channels[0].base:",
    ),
    "bad literal": (
        lambda d: d["recording"].update(mode="sometimes"),
        "recording.mode: Input should be 'all', 'changed' or 'off'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_is_one_clear_line_and_writes_nothing(case, tmp_path, capsys):
    mutate, expected = CASES[case]
    path = write(tmp_path, mutate)
    out = tmp_path / "results"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(path) in err and expected in err, err
    assert not out.exists()


def test_missing_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "nope.yaml: no such scenario file" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_failed_run_keeps_the_previous_complete_output(tmp_path, flood_overload_path):
    out = tmp_path / "results"
    assert main(["run", str(flood_overload_path), "--out", str(out), "--quiet"]) == 0
    before = (out / "metrics.csv").read_bytes()
    bad = write(tmp_path, lambda d: d["services"][0].update(capacity=-1))
    assert main(["run", str(bad), "--out", str(out), "--quiet"]) == 2
    assert (out / "metrics.csv").read_bytes() == before
    assert not any(p.name.endswith(".partial") for p in out.iterdir())


def test_a_finance_config_given_to_run_points_to_finance_run(tmp_path, capsys):
    assert main(["run", str(SCENARIOS / "finance_momentum.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "simulator finance-run" in capsys.readouterr().err


@pytest.mark.parametrize("background", ["false", "true"])
def test_an_output_folder_that_cannot_be_made_is_one_clear_line(background, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    town = SCENARIOS / "flood_town.yaml"
    argv = ["run", str(town), "--out", str(blocker / "run"), "--quiet", "--set", "until=20"]
    assert main([*argv, "--set", f"recording.background={background}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Not a directory" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
