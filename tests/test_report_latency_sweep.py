"""experiments.latency_sweep measures collapse on the system (a service still failed a fixed
time after the flood) and time to recover, checked against a recorded run's metrics.csv."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from experiments import latency_sweep as study
from simulator.cli import main as cli
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def base() -> dict:
    from simulator.infra.scenario import load_scenario

    return load_scenario(str(SCENARIOS / "flood_overload.yaml")).model_dump(mode="json")


def from_records(folder, flood_end: float, grace: float) -> dict:
    """The same outcomes, computed from metrics.csv with plain pandas."""
    rows = pd.read_csv(folder / "metrics.csv")
    states = rows[rows["service_id"].notna()]
    failed_intervals = []
    for _, mine in states.groupby("service_id"):
        start = None
        for time, status in zip(mine["time"], mine["status"], strict=True):
            if status == "failed" and start is None:
                start = time
            elif status != "failed" and start is not None:
                failed_intervals.append((start, time))
                start = None
        if start is not None:
            failed_intervals.append((start, float("inf")))
    ends = [min(e, flood_end + 2 * grace) for s, e in failed_intervals if e > flood_end]  # censored
    collapse = any(s <= flood_end + grace < e for s, e in failed_intervals)
    last = states.groupby("service_id").last()
    at_flood_end = states[states["time"] <= flood_end].groupby("service_id").last()
    return {
        "collapse": float(collapse),
        "time_to_recover": (max(ends) - flood_end) if ends else 0.0,
        "unmet_demand": float(last["rejected"].sum()),
        "unmet_after_flood": float(last["rejected"].sum() - at_flood_end["rejected"].sum()),
    }


@pytest.mark.parametrize(("delay", "seed"), [(0, 11), (16, 11), (8, 5)])
def test_recovery_outcomes_match_the_records(base, tmp_path, delay, seed):
    grace = 10.0
    end = study.flood_end(base)
    config = copy.deepcopy(base)
    config["policy"]["intervention_delay"] = delay
    got = study.run_recovery(config, seed, grace=grace)
    args = ["run", str(SCENARIOS / "flood_overload.yaml"), "--out", str(tmp_path), "--quiet"]
    args += ["--seed", str(seed), "--until", str(end + 2 * grace)]
    args += ["--set", f"policy.intervention_delay={delay}"]
    assert cli(args) == 0
    expected = from_records(tmp_path, end, grace)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
    outcomes = json.loads((tmp_path / "summary.json").read_text())["outcomes"]
    assert got["unmet_demand"] == outcomes["unmet_demand"]


def test_collapse_is_seen_when_nothing_repairs_the_city(base):
    broken = copy.deepcopy(base)
    broken["policy"]["intervention_delay"] = study.NEVER
    broken["agencies"][0]["repair_amount"] = 0.0
    got = study.run_recovery(broken, 5, grace=10.0)
    assert got["collapse"] == got["still_failed_at_horizon"] == 1.0
    assert got["time_to_recover"] == 20.0  # censored at the horizon, flood end + 2 x grace
    helped = study.run_recovery(copy.deepcopy(base), 5, grace=10.0)
    assert helped["collapse"] == 0.0 and helped["time_to_recover"] < 10.0


def test_the_study_writes_its_table_and_a_conclusion_from_the_data(tmp_path):
    out = tmp_path / "sweep"
    args = ["--replications", "4", "--delays", "0,8", "--grace", "10", "--out", str(out), "--quiet"]
    assert study.main(args) == 0
    table = pd.read_csv(out / "summary.csv")
    assert set(table[study.PATH]) == {0.0, 8.0, study.NEVER}
    assert {"collapse", "time_to_recover", "unmet_after_flood"} <= set(table["outcome"])
    text = (out / "latency_sweep.md").read_text()
    t0 = table[(table[study.PATH] == 0) & (table["outcome"] == "time_to_recover")].iloc[0]
    assert "| 0 | " in text and f"{t0['mean']:.2f} [{t0['ci_low']:.2f}, {t0['ci_high']:.2f}]" in text
    assert "never (no help)" in text and "Time to recover after the flood" in text
    assert (out / "latency_sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_every_option_of_the_study_and_of_report_has_help(capsys):
    from simulator.cli import build_parser

    parser = study.build_parser()
    report = build_parser()._subparsers._group_actions[0].choices["report"]
    for p in (parser, report):
        for action in p._actions:
            assert action.help, f"{p.prog}: {action.option_strings or action.dest} has no help"
    with pytest.raises(SystemExit):
        study.main(["--help"])
    text = capsys.readouterr().out
    assert "usage: python -m experiments.latency_sweep" in text and "--grace" in text
    with pytest.raises(SystemExit):
        cli(["report", "--help"])
    text = capsys.readouterr().out
    assert "--quiet" in text and "no progress bar" in text and "--what-if" in text
