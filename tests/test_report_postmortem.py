"""The post-mortem at scale (issue 8): typed figures in both recording modes, reports matched to
the episode they saw, aggregated causes, damage rankings, one set of findings. Every figure is
checked against a plain pandas computation on metrics.csv."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import main
from tests.conftest import SCENARIOS

# flood_overload pushed far past the default thresholds: transport's backlog climbs above 10,
# where an alphabetical maximum of text ("9.8" > "32.0") differs from the numeric one.
PUSHED = [
    "--set", "services.0.fail_at=50", "--set", "services.0.max_queue=1000", "--set", "citizens.0.demand=6",
]  # fmt: skip


def _run(folder: Path, scenario: str, *extra: str) -> Path:
    assert main(["run", str(SCENARIOS / scenario), "--out", str(folder), "--quiet", "--report", *extra]) == 0
    return folder


@pytest.fixture(scope="module")
def changed_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("changed")
    return _run(folder, "flood_overload.yaml", *PUSHED, "--set", "recording.mode=changed")


@pytest.fixture(scope="module")
def all_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("all"), "flood_overload.yaml", *PUSHED, "--set", "recording.mode=all")


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("town"), "flood_town.yaml")


@pytest.fixture(scope="module")
def town_findings(town):
    from simulator.analysis.findings import compute_findings
    from simulator.analysis.run_data import load_run

    return compute_findings(load_run(town))


def figures(folder: Path) -> dict:
    return json.loads((folder / "failure_analysis.json").read_text())


def plain_states(folder: Path) -> pd.DataFrame:
    """metrics.csv as pandas reads it by default, service rows only."""
    rows = pd.read_csv(folder / "metrics.csv")
    return rows[rows["service_id"].notna()]


def plain_episodes(folder: Path) -> pd.DataFrame:
    """Runs of non-ok status per service: start, end (NaN if never back), worst."""
    out = []
    for service, rows in plain_states(folder).groupby("service_id"):
        start, worst = None, None
        for time, status in zip(rows["time"], rows["status"], strict=True):
            if status != "ok" and start is None:
                start, worst = time, status
            elif status != "ok":
                worst = "failed" if "failed" in (worst, status) else worst
            elif start is not None:
                out.append((service, start, time, worst))
                start = None
        if start is not None:
            out.append((service, start, float("nan"), worst))
    return pd.DataFrame(out, columns=["service", "start", "end", "worst"]).sort_values(["start", "service"])


# -- item 1: real types in both recording modes -------------------------------------------------------
def test_changed_mode_figures_are_numbers_equal_to_pandas(changed_run):
    states = plain_states(changed_run)
    as_text = pd.read_csv(changed_run / "metrics.csv", keep_default_na=False, dtype=str)
    text_peak = as_text[as_text["service_id"] == "transport"]["stress_level"].max()
    true_peak = states[states["service_id"] == "transport"]["stress_level"].max()
    assert true_peak > 10 and float(text_peak) < true_peak  # the case where text reading went wrong
    end = float(json.loads((changed_run / "summary.json").read_text())["outcomes"]["end_time"])
    eps = plain_episodes(changed_run)
    for svc in figures(changed_run)["services"]:
        mine = states[states["service_id"] == svc["service"]]
        for key in ("peak_stress", "min_resource", "time_not_ok"):
            assert isinstance(svc[key], float), (key, svc[key])
        assert svc["peak_stress"] == pytest.approx(mine["stress_level"].max())
        assert svc["min_resource"] == pytest.approx(mine["resource_level"].min())
        failed = mine.loc[mine["status"] == "failed", "time"]
        assert svc["first_failure"] == (pytest.approx(failed.iloc[0]) if len(failed) else None)
        own = eps[eps["service"] == svc["service"]]
        assert svc["episodes"] == len(own)
        assert svc["time_not_ok"] == pytest.approx((own["end"].fillna(end) - own["start"]).sum())
    text = (changed_run / "failure_analysis.md").read_text()
    assert f"| transport | {true_peak:.3g} |" in text


def test_changed_and_all_modes_give_the_same_findings(changed_run, all_run):
    a, b = figures(changed_run), figures(all_run)
    assert a["recording_mode"] == "changed" and b["recording_mode"] == "all"
    keys = ("services", "episodes", "cascade", "decisions", "detections", "root_causes", "service_damage")
    for key in keys:
        assert a[key] == b[key], key


def test_episodes_match_pandas(town):
    eps = plain_episodes(town)
    got = pd.DataFrame(figures(town)["episodes"]).sort_values(["start", "service"], kind="stable")
    assert list(got["service"]) == list(eps["service"])
    assert got["start"].to_numpy() == pytest.approx(eps["start"].to_numpy())
    assert list(got["worst"]) == list(eps["worst"])


# -- item 2: a report is matched to the episode it saw -------------------------------------------------
def test_detections_are_the_episode_the_agency_saw(town):
    rows = pd.read_csv(town / "metrics.csv")
    reports = rows.drop_duplicates("seq").set_index("seq")
    eps = plain_episodes(town)
    later_episodes = 0
    for d in figures(town)["detections"]:
        payload = json.loads(reports.at[d["report_seq"], "payload"])
        assert payload["seen_at"] == pytest.approx(d["observed_at"])
        assert payload["statuses"][d["service"]] == d["status_seen"] != "ok"
        mine = eps[eps["service"] == d["service"]]
        running = mine[(mine["start"] <= d["observed_at"]) & ~(mine["end"] < d["observed_at"])]
        assert d["episode_start"] == pytest.approx(running["start"].max())
        assert d["detection_delay"] == pytest.approx(d["observed_at"] - d["episode_start"])
        later_episodes += d["episode_start"] > mine["start"].min()
    assert later_episodes > 0  # reports of a service's second or later episode exist and are matched to it


def test_the_first_decision_reads_as_what_it_means(town, town_findings):
    from dataclasses import replace

    from simulator.analysis.markdown import first_decision_sentence

    f = replace(town_findings)
    decided = f.decisions[0].decided_at
    f.outcomes = {**f.outcomes, "first_failure_at": decided + 3.47}
    assert "3.47 time units before the first failure" in first_decision_sentence(f)
    f.outcomes = {**f.outcomes, "first_failure_at": decided - 2.0}
    assert "2 time units after the first failure" in first_decision_sentence(f)
    for folder in (town,):
        assert not re.search(r"-\d[\d.]* time units", (folder / "failure_analysis.md").read_text())


# -- item 3: readable at scale -----------------------------------------------------------------------
def test_root_causes_are_aggregated_and_complete(town):
    events = pd.read_csv(town / "metrics.csv").drop_duplicates("seq")
    degradations = events[events["event_type"].isin(["service_overloaded", "service_failed"])]
    causes = figures(town)["root_causes"]
    assert sum(r["overloaded"] + r["failed"] for r in causes) == len(degradations)
    assert sum(r["failed"] for r in causes) == (degradations["event_type"] == "service_failed").sum()
    assert not any(re.search(r"_\d+$", r["root"]) for r in causes)  # no per-citizen lines
    assert len(causes) < 20


def test_paths_are_sorted_and_the_timeline_is_complete_or_says_so(town):
    f = figures(town)
    scores = [p["score"] for p in f["gat"]["paths"]]
    assert scores == sorted(scores, reverse=True)
    events = pd.read_csv(town / "metrics.csv").drop_duplicates("seq")
    degradations = events["event_type"].isin(["service_overloaded", "service_failed"]).sum()
    assert sum(t["kind"] == "degraded" for t in f["timeline"]) == degradations
    text = (town / "failure_analysis.md").read_text()
    timeline = text.split("## Timeline")[1].split("##")[0]
    shown = timeline.count("\n| ") - 1
    if shown < len(f["timeline"]):
        assert f"The run has {len(f['timeline'])} timeline entries" in timeline
    for name in ("service_timelines.png", "status_timeline.png", "dependency_graph.png"):
        assert (town / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in text


# -- item 4: damage ranking -------------------------------------------------------------------------
def test_damage_ranking_matches_the_records(town):
    f = figures(town)
    states = plain_states(town)
    eps = plain_episodes(town)
    end = f["end_time"]

    def rejected(service, start, stop):
        mine = states[states["service_id"] == service]
        before = mine.loc[mine["time"] < start, "rejected"]
        after = mine.loc[mine["time"] <= stop, "rejected"]
        return int(after.iloc[-1] - (before.iloc[-1] if len(before) else 0))

    def episode(service, time):
        mine = eps[(eps["service"] == service) & (eps["start"] <= time) & ~(eps["end"] < time)]
        return mine.iloc[-1]

    per_edge: dict[tuple[str, str], set] = {}
    for link in f["cascade"]:
        e = episode(link["downstream"], link["downstream_time"])
        per_edge.setdefault((link["upstream"], link["downstream"]), set()).add((e["service"], e["start"]))
    assert {(d["upstream"], d["downstream"]) for d in f["dependency_damage"]} == set(per_edge)
    for d in f["dependency_damage"]:
        downs = per_edge[(d["upstream"], d["downstream"])]
        assert d["episodes"] == len(downs)
        total = 0
        for service, start in downs:
            e = eps[(eps["service"] == service) & (eps["start"] == start)].iloc[0]
            total += rejected(service, start, end if pd.isna(e["end"]) else e["end"])
        assert d["rejected"] == total
    ranks = [(d["downstream_rejected"], d["downstream_failed"]) for d in f["service_damage"]]
    assert ranks == sorted(ranks, key=lambda r: (-r[0], -r[1]))
    summary = json.loads((town / "summary.json").read_text())["outcomes"]["services"]
    for s in f["service_damage"]:
        assert s["own_rejected"] == summary[s["service"]]["rejected"]
        assert s["downstream_episodes"] >= s["direct_episodes"]
    text = (town / "failure_analysis.md").read_text()
    assert "## What to do, from evidence" in text and "simulator batch " in text


# -- item 5: one set of findings --------------------------------------------------------------------
def test_the_json_is_the_findings_object(town, town_findings):
    assert json.loads(json.dumps(town_findings.to_json())) == figures(town)


def test_analysis_imports_no_world():
    worlds = {"infra", "finance", "tournament", "ottochain", "orchestration"}
    for path in (Path(__file__).resolve().parent.parent / "simulator" / "analysis").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                assert not worlds & set(parts), f"{path} imports {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not worlds & set(alias.name.split(".")), f"{path} imports {alias.name}"


def test_a_run_where_nothing_happened_still_gets_a_report(tmp_path):
    folder = _run(tmp_path / "quiet", "flood_overload.yaml", "--until", "0.5")
    f = figures(folder)
    assert f["events"] == 0 and f["episodes"] == [] and f["timeline"][0]["kind"] == "flood"
    text = (folder / "failure_analysis.md").read_text()
    assert "No agency report ever showed" in text and "never decided" in text
