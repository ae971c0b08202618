"""The post-mortem: generated from the run, every checked figure traceable to the records."""

from __future__ import annotations

import csv
import json

import pytest

from simulator.cli import main


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    from tests.conftest import SCENARIOS

    out = tmp_path_factory.mktemp("ref")
    assert (
        main(["run", str(SCENARIOS / "flood_overload.yaml"), "--out", str(out), "--quiet", "--report"]) == 0
    )
    return out


def records(folder):
    with open(folder / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_reference_run_writes_report_and_plots(reference_run):
    for name in (
        "failure_analysis.md",
        "failure_analysis.json",
        "service_timelines.png",
        "status_timeline.png",
        "dependency_graph.png",
    ):
        assert (reference_run / name).is_file() and (reference_run / name).stat().st_size > 0
    text = (reference_run / "failure_analysis.md").read_text()
    for section in (
        "## Scenario",
        "## Timeline",
        "## Service-level effects",
        "## Policy dynamics",
        "## Causal cascade",
        "## What to do, from evidence",
        "## Graph reasoning",
        "## Characterisation",
        "## Limitations",
    ):
        assert section in text
    assert "](service_timelines.png)" in text and "](dependency_graph.png)" in text
    assert (reference_run / "service_timelines.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_figures_match_the_records(reference_run):
    rows = records(reference_run)
    figures = json.loads((reference_run / "failure_analysis.json").read_text())
    text = (reference_run / "failure_analysis.md").read_text()
    events = {int(r["seq"]): r for r in rows}
    assert figures["events"] == len(events)
    for svc in figures["services"]:
        mine = [r for r in rows if r["service_id"] == svc["service"]]
        assert svc["peak_stress"] == pytest.approx(max(float(r["stress_level"]) for r in mine))
        assert svc["min_resource"] == pytest.approx(min(float(r["resource_level"]) for r in mine))
        failed = [float(r["time"]) for r in mine if r["status"] == "failed"]
        assert svc["first_failure"] == (pytest.approx(failed[0]) if failed else None)
    decisions = [r for r in events.values() if r["event_type"] == "policy_decision"]
    assert [d["decided_at"] for d in figures["decisions"]] == [float(r["time"]) for r in decisions]
    assert f"{float(decisions[0]['time']):.3f}" in text
    for link in figures["cascade"]:
        up, down = events[link["upstream_seq"]], events[link["downstream_seq"]]
        assert up["source"] == link["upstream"] and down["source"] == link["downstream"]
        assert up["event_type"] in ("service_overloaded", "service_failed")
        assert link["delay"] == pytest.approx(float(down["time"]) - float(up["time"]))
    budget = [r for r in events.values() if r["event_type"] == "budget_release"]
    assert figures["decisions"][0]["applied"] == {r["target"]: float(r["time"]) for r in budget}


def test_report_is_reproducible(reference_run, tmp_path):
    first = (reference_run / "failure_analysis.json").read_text()
    assert main(["report", str(reference_run), "--quiet"]) == 0
    assert (reference_run / "failure_analysis.json").read_text() == first


@pytest.mark.parametrize("damage", ["missing_csv", "missing_summary", "truncated", "altered"])
def test_report_on_a_broken_folder_is_a_clear_error(reference_run, tmp_path, capsys, damage):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(reference_run, folder)
    csv_path = folder / "metrics.csv"
    if damage == "missing_csv":
        csv_path.unlink()
        expected = "missing metrics.csv"
    elif damage == "missing_summary":
        (folder / "summary.json").unlink()
        expected = "missing summary.json"
    elif damage == "truncated":
        data = csv_path.read_bytes()
        csv_path.write_bytes(data[: len(data) // 2])
        expected = "truncated"
    else:
        csv_path.write_text(csv_path.read_text().replace(",ok,", ",failed,", 1))
        expected = "does not match summary.json"
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err
