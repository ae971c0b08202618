"""`simulator report RUN --what-if KEY=VALUE`: re-runs with the same seed, tabled beside the run."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from simulator.cli import main
from tests.conftest import SCENARIOS

SCENARIO = str(SCENARIOS / "flood_overload.yaml")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded")
    assert main(["run", SCENARIO, "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def what_if(recorded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("whatif") / "run"
    shutil.copytree(recorded, folder)
    args = ["report", str(folder), "--quiet"]
    args += ["--what-if", "policy.intervention_delay=0", "--what-if", "services.transport.capacity=8"]
    assert main(args) == 0
    return folder


def cleared_from_csv(folder) -> float | None:
    """When the last service left `failed`, from metrics.csv (None: none failed, or still is)."""
    rows = pd.read_csv(folder / "metrics.csv")
    rows = rows[rows["service_id"].notna()]
    times, still = [], False
    for _, mine in rows.groupby("service_id"):
        status = mine["status"].tolist()
        times += [t for t, a, b in zip(mine["time"].iloc[1:], status, status[1:], strict=False)
                  if a == "failed" and b != "failed"]  # fmt: skip
        still |= status[-1] == "failed"
    return None if still or not times else max(times)


def approx(value):
    return pytest.approx(value, rel=1e-9) if isinstance(value, float) else value


def outcomes_of_run(tmp_path, *sets: str) -> dict:
    """The independent check: an ordinary `simulator run` with the same change."""
    args = ["run", SCENARIO, "--out", str(tmp_path), "--quiet"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    outcomes = json.loads((tmp_path / "summary.json").read_text())["outcomes"]
    return outcomes | {"last_failure_cleared_at": cleared_from_csv(tmp_path)}


def test_what_if_rows_equal_ordinary_runs_with_the_change(what_if, tmp_path):
    from simulator.analysis.whatif import COMPARED

    rows = {r["label"]: r for r in json.loads((what_if / "failure_analysis.json").read_text())["what_if"]}
    recorded = json.loads((what_if / "summary.json").read_text())["outcomes"]
    recorded["last_failure_cleared_at"] = cleared_from_csv(what_if)
    assert recorded["last_failure_cleared_at"] is not None
    assert list(rows) == [
        "recorded run",
        "replay, no change",
        "policy.intervention_delay=0",
        "services.transport.capacity=8",
        "policy.intervention_delay=0 + services.transport.capacity=8",
    ]
    for key in COMPARED:
        assert rows["recorded run"][key] == approx(rows["replay, no change"][key]), key
        assert rows["recorded run"][key] == approx(recorded[key]), key
    faster = outcomes_of_run(tmp_path / "a", "policy.intervention_delay=0")
    bigger = outcomes_of_run(tmp_path / "b", "services.0.capacity=8")
    both = outcomes_of_run(tmp_path / "c", "policy.intervention_delay=0", "services.0.capacity=8")
    for key in COMPARED:
        assert rows["policy.intervention_delay=0"][key] == approx(faster[key]), key
        assert rows["services.transport.capacity=8"][key] == approx(bigger[key]), key
        combined = rows["policy.intervention_delay=0 + services.transport.capacity=8"]
        assert combined[key] == approx(both[key]), key
    assert faster["first_intervention_at"] < recorded["first_intervention_at"]  # the change did something


def test_what_if_table_and_batch_commands_in_the_report(what_if):
    text = (what_if / "failure_analysis.md").read_text()
    section = text.split("## What to do, from evidence")[1].split("\n## ")[0]
    assert "| outcome | recorded run | replay, no change | policy.intervention_delay=0 |" in section
    assert "reproduces every recorded outcome" in section
    assert "--sweep policy.intervention_delay=3,0" in section  # recorded value, then the what-if's
    assert "--sweep services.transport.capacity=5,8" in section


def test_the_suggested_batch_sweeps_a_service_by_id(tmp_path):
    out = tmp_path / "batch"
    args = ["batch", SCENARIO, "-n", "2", "--sweep", "services.transport.capacity=5,8"]
    args += ["--out", str(out), "--quiet"]
    assert main(args) == 0
    rows = json.loads((out / "batch_results.json").read_text())
    assert {r["overrides"]["services.transport.capacity"] for r in rows} == {5, 8}
    from simulator.batch import apply_overrides, get_path

    base = {"services": [{"id": "a", "capacity": 1.0}, {"id": "b", "capacity": 2.0}]}
    changed = apply_overrides(base, {"services.b.capacity": 9.0})
    assert get_path(changed, "services.b.capacity") == 9.0 and base["services"][1]["capacity"] == 2.0
    with pytest.raises(KeyError, match="no item with id 'c'"):
        apply_overrides(base, {"services.c.capacity": 1.0})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("services.nope.capacity=1", "has no item 'nope'"),
        ("policy.delay=1", "has no key 'delay'"),
        ("policy.intervention_delay", "expected KEY=VALUE"),
        ("services.transport.capacity=-1", "capacity"),
    ],
)
def test_a_bad_what_if_is_one_error_line_and_nothing_written(recorded, tmp_path, capsys, spec, expected):
    folder = tmp_path / "run"
    shutil.copytree(recorded, folder)
    assert main(["report", str(folder), "--quiet", "--what-if", spec]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expected in err and len(err.strip().splitlines()) == 1, err
    assert not (folder / "failure_analysis.md").exists() and not (folder / "failure_analysis.json").exists()
    assert not list(folder.glob("*.png")) and not list(folder.glob("*.partial"))


class Terminal:
    """A stderr that says it is a terminal, keeping what is written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_report_shows_progress_unless_quiet(recorded, tmp_path, monkeypatch, quiet):
    import sys

    from simulator.analysis.report import build_report

    folder = tmp_path / "run"
    shutil.copytree(recorded, folder)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    build_report(folder, quiet=quiet)
    if quiet:
        assert terminal.text == ""
    else:
        assert "report" in terminal.text and "graph attention" in terminal.text, terminal.text
