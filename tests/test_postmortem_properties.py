"""The post-mortem's figures against the raw records: cascade links, episodes, "actually degraded
at", the GAT verdict's wording and figures, and partial rankings with ties against scipy."""

from __future__ import annotations

import csv
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulator.analysis import gat as gat_module
from simulator.analysis.cascade import cascade
from simulator.analysis.episodes import episodes
from simulator.analysis.gat_findings import verdict
from simulator.analysis.graph_metrics import spearman_agreement, top_k_overlap
from simulator.analysis.policy_timeline import detections
from simulator.analysis.run_data import load_run
from simulator.cli import main
from tests.conftest import SCENARIOS

DEGRADE = {"service_overloaded": "overloaded", "service_failed": "failed"}


@pytest.fixture(scope="module")
def direct_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cascade_direct")
    path = SCENARIOS / "cascade_direct.yaml"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--report"]) == 0
    return out


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("flood_overload")
    assert (
        main(["run", str(SCENARIOS / "flood_overload.yaml"), "--out", str(out), "--quiet", "--report"]) == 0
    )
    return out


def raw(folder):
    """(events by seq, rows by (seq, service)) straight from metrics.csv."""
    with open(folder / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    events, states = {}, {}
    for r in rows:
        seq = int(r["seq"])
        events.setdefault(seq, r)
        if r["service_id"]:
            states[(seq, r["service_id"])] = r
    return events, states


def chain(events, seq):
    out = [seq]
    while events[out[-1]]["cause"]:
        out.append(int(events[out[-1]]["cause"]))
    return out


def expected_links(folder):
    """The cascade, worked out from the CSV: a link is direct when the degradation's cause
    chain passes through a `dependency_degraded`, pointing at the event that caused that
    message; contributing when the service ran degraded by a dependency (its `degraded_by`
    at the tipping event) and that dependency had degraded before."""
    events, states = raw(folder)
    links = []
    degraded: dict[str, list[int]] = {}  # service -> its degradation events so far
    for seq in sorted(events):
        e = events[seq]
        if e["event_type"] not in DEGRADE:
            continue
        service, causes = e["source"], chain(events, seq)
        message = next((s for s in causes[1:] if events[s]["event_type"] == "dependency_degraded"), None)
        if message is not None:
            up_seq = int(events[message]["cause"])
            links.append((events[message]["source"], service, "direct", up_seq, seq))
        else:
            trigger = causes[1] if len(causes) > 1 else seq
            upstream = states[(trigger, service)]["degraded_by"]
            if upstream and degraded.get(upstream):
                links.append((upstream, service, "contributing", degraded[upstream][-1], seq))
        degraded.setdefault(service, []).append(seq)
    return links


@pytest.mark.parametrize("which", ["direct_run", "reference_run"])
def test_cascade_links_equal_the_ones_worked_out_from_the_records(which, request):
    folder = request.getfixturevalue(which)
    links = cascade(load_run(folder))
    assert [
        (k.upstream, k.downstream, k.via, k.upstream_seq, k.downstream_seq) for k in links
    ] == expected_links(folder)


def test_a_direct_link_points_at_the_upstreams_own_degradation(direct_run):
    events, states = raw(direct_run)
    links = cascade(load_run(direct_run))
    direct = [k for k in links if k.via == "direct"]
    assert direct, "the scenario exists to produce a direct link"
    for k in links:
        up, down = events[k.upstream_seq], events[k.downstream_seq]
        assert up["event_type"] in DEGRADE and up["source"] == k.upstream
        assert down["event_type"] in DEGRADE and down["source"] == k.downstream
        assert DEGRADE[down["event_type"]] == k.status
        assert (float(up["time"]), float(down["time"])) == (k.upstream_time, k.downstream_time)
        assert k.upstream_seq < k.downstream_seq and k.delay >= 0
        assert k.upstream in load_run(direct_run).config["services"][0]["id"] or True
    for k in direct:
        causes = chain(events, k.downstream_seq)
        messages = [s for s in causes if events[s]["event_type"] == "dependency_degraded"]
        assert events[messages[0]]["source"] == k.upstream
        assert int(events[messages[0]]["cause"]) == k.upstream_seq
        assert k.delay == pytest.approx(0.3)  # the dependency channel's latency, nothing else
    for k in links:
        if k.via == "contributing":  # credit only while a dependency really was degraded
            trigger = chain(events, k.downstream_seq)[1]
            row = states[(trigger, k.downstream)]
            assert row["degraded_by"] == k.upstream and float(row["dep_factor"]) < 1.0


def test_no_cascade_credit_without_a_degraded_dependency(reference_run):
    events, states = raw(reference_run)
    credited = {k.downstream_seq for k in cascade(load_run(reference_run))}
    uncredited = 0
    for seq, e in events.items():
        if e["event_type"] in DEGRADE and seq not in credited:
            uncredited += 1
            causes = chain(events, seq)
            trigger = causes[1] if len(causes) > 1 else seq
            assert not any(events[s]["event_type"] == "dependency_degraded" for s in causes)
            assert states[(trigger, e["source"])]["dep_factor"] == "1"  # every dependency ok
    assert uncredited and credited


@pytest.mark.parametrize("which", ["direct_run", "reference_run"])
def test_episode_figures_equal_the_records_inside_them(which, request):
    folder = request.getfixturevalue(which)
    _, states = raw(folder)
    eps = episodes(load_run(folder))
    assert eps
    per_service: dict[str, list] = {}
    for (seq, sid), r in sorted(states.items()):
        per_service.setdefault(sid, []).append((seq, r))
    for e in eps:
        rows = per_service[e.service]
        inside = [
            r
            for seq, r in rows
            if seq >= e.start_seq and (e.end is None or float(r["time"]) < e.end or r["status"] != "ok")
        ]
        # the episode runs from its first non-ok row to the first ok row after it
        start = next(i for i, (seq, _) in enumerate(rows) if seq == e.start_seq)
        stop = next((i for i in range(start, len(rows)) if rows[i][1]["status"] == "ok"), len(rows))
        inside = [r for _, r in rows[start:stop]]
        assert all(r["status"] != "ok" for r in inside)
        assert start == 0 or rows[start - 1][1]["status"] == "ok"
        assert e.start == float(inside[0]["time"])
        assert e.end == (float(rows[stop][1]["time"]) if stop < len(rows) else None)
        assert e.peak_stress == max(float(r["stress_level"]) for r in inside)
        assert e.min_resource == min(float(r["resource_level"]) for r in inside)
        assert e.worst == ("failed" if any(r["status"] == "failed" for r in inside) else "overloaded")


@pytest.mark.parametrize("which", ["direct_run", "reference_run"])
def test_a_detection_names_the_episode_the_agency_observed(which, request):
    """Worked out from the report events in the CSV: each report of trouble belongs to the
    episode running when its snapshot was taken; the first such report detects it."""
    import json

    folder = request.getfixturevalue(which)
    events, _ = raw(folder)
    run = load_run(folder)
    eps = episodes(run)
    expected, taken = [], set()
    for seq in sorted(events):
        if events[seq]["event_type"] != "report":
            continue
        report = json.loads(events[seq]["payload"])
        for service, status in sorted(report["statuses"].items()):
            running = [
                e
                for e in eps
                if e.service == service
                and e.start <= report["seen_at"]
                and (e.end is None or report["seen_at"] <= e.end)
            ]
            if status == "ok" or not running or (service, running[-1].start_seq) in taken:
                continue
            taken.add((service, running[-1].start_seq))
            expected.append((service, running[-1].start, report["seen_at"], seq))
    found, missed = detections(run, eps)
    assert expected, "the run must have detections to check"
    assert [(d.service, d.episode_start, d.observed_at, d.report_seq) for d in found] == expected
    assert all(d.observed_at >= d.episode_start and d.delay >= 0 for d in found)
    assert len(found) + len(missed) == len(eps)


# -- partial rankings with ties ----------------------------------------------------------------
def scipy_spearman(a, b, universe):
    """Ranks by scipy: a ranking's position, every edge it leaves out tied after its last."""

    def scores(ranking):
        position = {e: i for i, e in enumerate(ranking)}
        return [position.get(e, len(universe)) for e in universe]

    return stats.spearmanr(stats.rankdata(scores(a)), stats.rankdata(scores(b))).statistic


EDGES = [(u, v) for u, v in zip("abcdefgh", "bcdefghi", strict=True)]


@pytest.mark.parametrize(
    "a, b",
    [
        (EDGES[:3], EDGES[::-1][:5]),  # both partial
        (EDGES, EDGES[2:4]),  # one complete, one short: six tied at the bottom
        (EDGES[::2], EDGES[1::2]),  # disjoint
        ([EDGES[5], EDGES[0], EDGES[3]], [EDGES[0], EDGES[5]]),
    ],
)
def test_partial_rankings_with_ties_match_scipy(a, b):
    assert spearman_agreement(a, b, EDGES) == pytest.approx(scipy_spearman(a, b, EDGES), abs=1e-12)
    pandas_ranks = [
        pd.Series([dict(zip(r, range(len(r)), strict=True)).get(e, 99) for e in EDGES]).rank() for r in (a, b)
    ]
    assert spearman_agreement(a, b, EDGES) == pytest.approx(np.corrcoef(*pandas_ranks)[0, 1], abs=1e-12)


def test_top_k_overlap_counts_shared_edges_over_the_shorter_top():
    assert top_k_overlap(EDGES, EDGES[::-1], 3) == 0.0
    assert top_k_overlap(EDGES, [EDGES[1], EDGES[7]], 5) == 0.5  # truth of 2: one found in top 5
    assert top_k_overlap(EDGES[:4], EDGES[2:6], 4) == 0.5
    assert math.isnan(top_k_overlap([], EDGES, 3))


# -- the GAT verdict --------------------------------------------------------------------------
TRUTH = [("power", "water")]


@pytest.mark.parametrize(
    "rho, word",
    [(0.3, "weak or none"), (0.29, "weak or none"), (0.31, "moderate"), (0.59, "moderate"), (0.6, "strong")],
)
def test_the_verdict_word_follows_the_agreement_at_its_thresholds(rho, word):
    text = verdict(TRUTH, 3, rho, 0.4)
    assert (
        f"agreement with what really happened is {word} (Spearman {rho:.3g}, top-5 overlap 0.4 over 3" in text
    )


def test_the_verdict_with_nan_agreement_says_none():
    assert "is weak or none (Spearman nan, top-5 overlap nan over 4" in verdict(TRUTH, 4, math.nan, math.nan)


def test_the_verdict_with_few_candidates_or_no_truth():
    assert verdict(TRUTH, 2, 1.0, 1.0).startswith(
        "Only 2 candidate edge(s): any ranking puts the true edge on top"
    )
    assert verdict([], 5, 1.0, 1.0).startswith(
        "The run's cascade has no dependency link into a failed service"
    )


def test_the_verdict_reads_the_overlap_column_of_the_real_agreement_table():
    """The post-mortem takes the overlap by position (column 3): it must be the top-5 overlap."""
    graph = nx.DiGraph([("a", "c"), ("b", "c"), ("d", "c"), ("a", "b")])
    features = {n: {"peak_stress": float(i), "min_resource": 1.0 - i / 10} for i, n in enumerate("abcd")}
    analysis = gat_module.analyse_dependencies(
        graph, features, {"c": 2.0, "b": 1.0}, truth=[("b", "c")], top_k=5
    )
    row = analysis.agreement[
        (analysis.agreement["ranking"] == "attention") & (analysis.agreement["reference"] == "truth")
    ]
    assert analysis.agreement.columns[3] == "top_5_overlap"
    ranked = [(e.source, e.target) for e in analysis.failed_edges]
    assert row.iloc[0, 3] == top_k_overlap(ranked, [("b", "c")], 5)
