"""Properties that the surviving mutants of the re-runs on main showed no test checked
(docs/mutation.md, "Latest figures"): each test names what a user would see go wrong."""

from __future__ import annotations

import dataclasses
import io
import math
import re
import warnings

import numpy as np
import pytest

from simulator.infra.run import run_scenario
from simulator.infra.scenario import load_scenario
from tests.conftest import SCENARIOS


# -- engine: record lines, sinks, latency, entities ------------------------------------------------
@pytest.mark.parametrize("values", [(), (7,), (0.25, 3, "b", None)])
def test_a_compiled_line_has_exactly_the_layouts_columns(values):
    """One cell per column of the layout, each as `fmt` writes it, also for a layout with no
    state columns at all."""
    from simulator.engine import RecordLayout
    from simulator.engine.recording import fmt, line_formatter

    layout = RecordLayout(kinds=("box",), fields=tuple(f"f{i}" for i in range(len(values))))
    line = line_formatter(values)(1.5, "tick", "clock", "", values, 3, "world", "", "")
    expected = ["1.5", "tick", "clock", "", *[fmt(v) for v in values], "3", "world", "", ""]
    assert line == ",".join(expected) + "\n"
    assert len(line.split(",")) == len(layout.columns)


def test_values_that_fit_the_sample_never_take_the_cell_by_cell_path(monkeypatch):
    """The compiled line is the recording's fast path: values shaped like the sample are
    written by it alone; only a misfit (None in an int column) falls back to the slow path."""
    from simulator.engine import recording

    slow = []
    monkeypatch.setattr(recording, "_slow_line", lambda *args: slow.append(args) or "slow\n")
    for sample, values in [((), ()), ((1.5, 2, "a", None), (0.25, 3, "b", True))]:
        line = recording.line_formatter(sample)
        assert line(1.0, "ev", "src", "e", values, 7, "tgt", "", "") != "slow\n"
    assert slow == []
    assert line(1.0, "ev", "src", "e", (0.25, None, "b", True), 7, "tgt", "", "") == "slow\n"  # a misfit
    assert len(slow) == 1


def test_a_csv_whose_partial_file_vanished_reports_where_it_was_going(tmp_path):
    """The `.partial` file removed under a running sink (a cleaned-up folder): closing it
    raises the error of putting it in place, naming both paths, not one of the clean-up."""
    from simulator.engine import CsvSink

    path = tmp_path / "metrics.csv"
    sink = CsvSink(path)
    sink.open(b"h\n")
    sink.write(None, b"1\n")
    (tmp_path / "metrics.csv.partial").unlink()
    with pytest.raises(FileNotFoundError) as caught:
        sink.close(True)
    assert (caught.value.filename, caught.value.filename2) == (str(path) + ".partial", str(path))
    assert list(tmp_path.iterdir()) == []


def test_registering_an_entity_twice_says_which():
    from simulator.engine import World

    w = World(seed=1)
    w.register("pump", "service", {})
    with pytest.raises(ValueError, match="^entity 'pump' is already registered$"):
        w.register("pump", "service", {})


@pytest.mark.parametrize("dist", ["fixed", "exponential", "uniform", "normal", "lognormal"])
def test_each_latency_distribution_draws_as_documented(dist):
    """delay = base + congestion x in flight + a draw: none (fixed), scale x Exp(1), [0, scale)
    uniform, |N(0, scale)|, |exp(N(0, scale)) - 1|; checked draw by draw on a twin generator."""
    from simulator.engine.latency import Channel

    channel = Channel(base=0.5, dist=dist, scale=0.2, congestion=0.1)
    rng, twin = np.random.default_rng(8), np.random.default_rng(8)
    draw = {
        "fixed": lambda: 0.0,
        "exponential": lambda: 0.2 * twin.standard_exponential(),
        "uniform": lambda: twin.random() * 0.2,
        "normal": lambda: abs(twin.normal(0.0, 0.2)),
        "lognormal": lambda: abs(float(np.expm1(twin.normal(0.0, 0.2)))),
    }[dist]
    for in_flight in (0, 3, 0, 7):
        assert channel.sample(rng, in_flight) == 0.5 + 0.1 * in_flight + draw()


def test_a_broken_summary_is_named_by_its_path(tmp_path):
    from simulator.analysis.run_data import AnalysisError, load_run

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    (tmp_path / "summary.json").write_text('{"config": ')
    where = re.escape(str(tmp_path / "summary.json"))
    with pytest.raises(AnalysisError, match=rf"^{where}: not valid JSON \("):
        load_run(tmp_path)


def test_an_observation_restricted_to_fields_sees_only_those():
    """`ctx.observe(ids, fields)`: partial information, the other fields are not seen."""
    from simulator.engine import World

    w = World(seed=1)
    w.register("box", "box", {"level": 3, "secret": "x"})
    w.register("watcher", "agent", {})
    seen = []

    def watch(ctx):
        seen.append((yield ctx.observe(["box"], fields=["level"])))
        seen.append((yield ctx.observe(["box"])))

    w.spawn("watcher", watch)
    w.run(until=1.0)
    assert [dict(s) for s in seen] == [{"box": {"level": 3}}, {"box": {"level": 3, "secret": "x"}}]


# -- infra: which services ended failed -----------------------------------------------------------
@pytest.mark.parametrize(
    "statuses",
    [
        {"power": "failed", "water": "overloaded", "hospital": "ok"},
        {"power": "failed", "water": "failed", "hospital": "failed"},
        {"power": "ok", "water": "ok", "hospital": "ok"},
        {"power": "overloaded", "water": "ok", "hospital": "ok"},
    ],
)
def test_the_services_left_failed_are_the_ones_whose_status_is_failed(statuses):
    from simulator.infra.build import build_world
    from simulator.infra.outcomes import outcomes

    w = build_world(load_scenario(SCENARIOS / "cascade_direct.yaml"), [])
    for sid, status in statuses.items():
        w.entities[sid]["status"] = status
    o = outcomes(w)
    assert o["final_failed"] == sorted(s for s, v in statuses.items() if v == "failed")
    assert o["recovered"] == all(v == "ok" for v in statuses.values())
    assert {s: v["status"] for s, v in o["services"].items()} == statuses


def test_a_run_that_ends_with_a_failed_service_names_it(tmp_path):
    """cascade_direct stopped while power is still failed (t=2.5 .. 8): the summary says so,
    as the last record of each service does."""
    import csv
    import json

    scenario = load_scenario(SCENARIOS / "cascade_direct.yaml")
    scenario.until = 5.0
    run_scenario(scenario, tmp_path, quiet=True)
    last = {}
    with open(tmp_path / "metrics.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["service_id"]:
                last[row["service_id"]] = row["status"]
    outcomes = json.loads((tmp_path / "summary.json").read_text())["outcomes"]
    assert outcomes["final_failed"] == sorted(s for s, v in last.items() if v == "failed") == ["power"]


def test_a_replay_against_a_changed_header_is_invalid_at_the_header(tmp_path):
    """`simulator verify`: a metrics.csv whose header was edited is invalid (False, not None)
    at record 0, column `<header>`, showing both headers."""
    from simulator.infra.run import validate_run

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    path = tmp_path / "metrics.csv"
    header, rest = path.read_bytes().split(b"\n", 1)
    path.write_bytes(header.replace(b",queue,", b",queued,") + b"\n" + rest)
    report = validate_run(tmp_path)
    assert report["valid"] is False
    assert report["first_mismatch"] == {
        "seq": 0,
        "column": "<header>",
        "expected": header.replace(b",queue,", b",queued,").decode() + "\n",
        "actual": header.decode() + "\n",
    }


def test_a_line_cut_right_after_its_seq_column_fails_the_shape_check(tmp_path):
    """A metrics line that stops at `seq` (target, cause and payload gone) is not a record:
    `check_metrics` names its line number instead of trusting it."""
    from simulator.infra.run import check_metrics
    from simulator.scenario import ScenarioError

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    path = tmp_path / "metrics.csv"
    lines = path.read_bytes().split(b"\n")
    at = lines[0].split(b",").index(b"seq")
    assert check_metrics(path) == len(lines) - 1
    lines[9] = b",".join(lines[9].split(b",")[: at + 1])  # ends with its seq, then a newline
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ScenarioError, match=f"^{path}:10: column 'seq' holds"):
        check_metrics(path)


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        (b"1.5,tick,src,pump\n", b"1.5,tick,src,pumq\n", ("service_id", "pump")),  # cut after the id
        (b"1.5,tick,src\n", b"1.5,tock,src\n", ("event_type", "")),  # no id column at all
        (b"1.5,tick,src,pump,0.2\n", b"1.5,tick,src,pump,0.3\n", ("stress_level", "pump")),
        (b"1.5,tick,src,pump\n", b"1.5,tick,src,pump,0.3\n", ("<number of columns>", "pump")),
        (b"1.5,tick,src,pump\n", b"1.5,tick,src,pump\n1.5,tick,src,well\n", ("<rows carried>", "")),
        (b"1.5,tick,src,pump\n", b"1.5,tick,src,pump\n", ("", "")),
    ],
)
def test_the_differing_column_names_the_entity_of_even_a_short_line(expected, actual, found):
    """`simulator verify` on damaged records: the entity is the line's 4th cell whenever it has
    one, however short the line."""
    from simulator.infra.run import differing_column

    header = b"time,event_type,source,service_id,stress_level,seq\n"
    assert differing_column(header, expected, actual) == found


@pytest.mark.parametrize(("work", "refused"), [(99.0, False), (100.0, False), (100.5, True)])
def test_the_up_front_budget_refuses_only_an_estimate_above_max_events(monkeypatch, work, refused):
    from simulator.infra import scenario as scenario_module
    from simulator.scenario import ScenarioError

    scenario = load_scenario(SCENARIOS / "cascade_direct.yaml")
    scenario.max_events = 100
    monkeypatch.setattr(scenario_module, "expected_work", lambda s: work)
    if refused:
        with pytest.raises(ScenarioError, match="more than max_events 100 "):
            scenario_module.check_budget(scenario, "city.yaml")
    else:
        scenario_module.check_budget(scenario, "city.yaml")


def test_a_run_past_max_events_says_what_is_allowed(tmp_path):
    """cascade_direct applies 161 events; its up-front estimate is about 101. A budget between
    the two passes the estimate and stops the kernel: one error naming the way out."""
    from simulator.infra.scenario import expected_work
    from simulator.scenario import ScenarioError

    scenario = load_scenario(SCENARIOS / "cascade_direct.yaml")
    scenario.max_events = int(expected_work(scenario)) + 1
    with pytest.raises(ScenarioError) as caught:
        run_scenario(scenario, tmp_path, quiet=True)
    message = str(caught.value)
    limit = scenario.max_events
    assert message.startswith(f"cascade_direct: the run needs more than max_events={limit} events")
    assert message.endswith(
        ", before until=12; nothing was written "
        "(allowed: a larger max_events, a shorter until or lower demand)"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_replay_report_carries_the_head_recorded_in_the_summary(tmp_path):
    import json

    from simulator.infra.run import validate_run

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    recorded = json.loads((tmp_path / "summary.json").read_text())["chain_head"]
    report = validate_run(tmp_path)
    assert report["recorded_chain_head"] == recorded == report["chain_head"]


@pytest.mark.parametrize("count", [3, 12, 13, 20])
def test_an_unknown_dependency_lists_the_services_allowed_up_to_twelve(count):
    import yaml

    from simulator.infra.scenario import parse_scenario
    from simulator.scenario import ScenarioError

    data = yaml.safe_load((SCENARIOS / "cascade_direct.yaml").read_text())
    names = [f"s{i:02d}" for i in range(count)]
    data["services"] = [{"id": n, "capacity": 6.0} for n in names]
    data["services"][-1]["depends_on"] = ["nowhere"]
    data["citizens"][0]["uses"] = [names[0]]
    data["agencies"][0]["services"] = [names[0]]
    data["stressors"][0]["services"] = [names[0]]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "city.yaml")
    allowed = ", ".join(names) if count <= 12 else ", ".join(names[:12]) + ", ..."
    assert str(caught.value) == (
        f"city.yaml: services[{count - 1}].depends_on[0]: unknown service 'nowhere' (allowed: {allowed})"
    )


# -- analysis: the post-mortem's wording --------------------------------------------------------
@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    from simulator.analysis.findings import compute_findings
    from simulator.analysis.run_data import load_run

    folder = tmp_path_factory.mktemp("cd")
    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), folder, quiet=True)
    return compute_findings(load_run(folder))


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (0.0, "at the moment of the first failure"),
        (0.5, "0.5 time units after the first failure"),
        (-0.5, "0.5 time units before the first failure"),
        (2.0, "2 time units after the first failure"),
    ],
)
def test_the_first_decision_is_placed_before_at_or_after_the_first_failure(findings, offset, words):
    from simulator.analysis.markdown import first_decision_sentence

    first_fail = findings.outcomes["first_failure_at"]
    decision = dataclasses.replace(findings.decisions[0], decided_at=first_fail + offset)
    text = first_decision_sentence(dataclasses.replace(findings, decisions=[decision]))
    assert f"{words} (t={first_fail:.3f})" in text
    assert ("before" in text) == (offset < 0) and ("after" in text) == (offset > 0)


@pytest.mark.parametrize(
    ("worst", "window"),
    [(("failed", "overloaded"), (9.5, 20.5)), (("overloaded", "overloaded"), None), ((), (11.85, 15.15))],
)
def test_the_status_plot_zooms_on_the_failed_episodes(findings, worst, window):
    """The timeline's zoom: the failed episodes (all of them if none failed), the flood and
    the interventions, padded by 5%; none when that is half the run or more. Run of t=100,
    flood 12-15, episodes 10-20 and 60-70."""
    from simulator.analysis.plots import trouble_window

    base = findings.episodes[0]
    spans = [(10, 20), (60, 70)][: len(worst)]
    eps = [dataclasses.replace(base, start=a, end=b, worst=w) for (a, b), w in zip(spans, worst, strict=True)]
    f = dataclasses.replace(findings, episodes=eps, end_time=100.0, flood=(12.0, 15.0), decisions=[])
    assert trouble_window(f) == (pytest.approx(window) if window else None)


def test_with_no_damage_there_is_nothing_to_rank(findings):
    from simulator.analysis.markdown import evidence

    text = evidence(dataclasses.replace(findings, service_damage=[]))
    assert "No service left ok or rejected a request: nothing to rank." in text
    assert not any(line.startswith("| service |") for line in text)


@pytest.mark.parametrize("count", [3, 15, 16, 22])
def test_the_damage_table_says_how_many_services_it_leaves_out(findings, count):
    from simulator.analysis.markdown import evidence

    base = dataclasses.replace(findings.service_damage[0], downstream_episodes=0)  # no batch advice
    damage = [dataclasses.replace(base, service=f"svc-{i:02d}") for i in range(count)]
    text = "\n".join(evidence(dataclasses.replace(findings, service_damage=damage)))
    shown = re.findall(r"^\| svc-\d\d \|", text, flags=re.M)
    assert len(shown) == min(count, 15)
    note = f"({count - 15} more services in failure_analysis.json.)"
    assert (note in text) == (count > 15)
    assert ("more services" in text) == (count > 15)


@pytest.mark.parametrize("count", [2, 10, 11, 14])
def test_the_dependency_table_says_how_many_edges_it_leaves_out(findings, count):
    from simulator.analysis.markdown import evidence

    base = findings.dependency_damage[0]
    edges = [dataclasses.replace(base, downstream=f"svc-{i:02d}") for i in range(count)]
    text = "\n".join(evidence(dataclasses.replace(findings, dependency_damage=edges)))
    assert len(re.findall(rf"^\| {base.upstream} -> svc-\d\d \|", text, flags=re.M)) == min(count, 10)
    assert (f"({count - 10} more dependencies in failure_analysis.json.)" in text) == (count > 10)
    assert ("more dependencies" in text) == (count > 10)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "quiet", "drawn"),
    [(_Terminal, False, True), (_Terminal, True, False), (io.StringIO, False, False)],
)
def test_the_report_progress_bar_is_drawn_on_a_terminal_only_and_cleared_after(
    monkeypatch, stream, quiet, drawn
):
    """`simulator report`'s stage bar: on a terminal it is drawn and wiped at the end (no stale
    bar above the next prompt); when quiet or not on a terminal nothing is written."""
    from simulator.analysis.report import Progress

    out = stream()
    monkeypatch.setattr("sys.stderr", out)
    progress = Progress(3, quiet=quiet)
    for stage in ("records", "findings", "figures"):
        progress(stage)
    progress.close()
    text = out.getvalue()
    assert bool(text) == drawn
    if drawn:
        assert "report:" in text and "figures" in text and "2/3" in text  # the stages of a total
        assert text.endswith("\r") and not text.rsplit("\r", 2)[-2].strip() and "\n" not in text


def test_a_service_seen_only_at_the_horizon_has_its_stress_as_its_mean():
    """A node whose only row is at the horizon has held no state for any time: its mean stress
    is the stress it shows (not 0/0 = NaN fed to the GAT), and nothing is above threshold."""
    import pandas as pd

    from simulator.analysis.graph_metrics import node_features_from_metrics

    frame = pd.DataFrame(
        {
            "time": [0.0, 2.0, 4.0, 4.0],
            "service_id": ["a", "a", "a", "late"],
            "stress_level": [0.5, 1.5, 0.2, 1.7],
            "resource_level": [1.0, 0.8, 0.9, 0.4],
            "status": ["ok", "overloaded", "ok", "overloaded"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features, failed = node_features_from_metrics(frame, horizon=4.0)
    assert features["late"] == {
        "peak_stress": 1.7,
        "mean_stress": 1.7,
        "min_resource": 0.4,
        "time_above_threshold": 0.0,
        "time_to_first_failure": 4.0,
    }
    assert features["a"]["mean_stress"] == pytest.approx((0.5 * 2 + 1.5 * 2) / 4)
    assert features["a"]["time_above_threshold"] == 2.0 and failed == {}


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234, "1,234"), (7, "7"), (1234567, "1,234,567"), (0.123456, "0.123"), (2.0, "2"), ("n/a", "n/a")],
)
def test_report_numbers_are_counts_with_separators_and_measures_to_three_digits(value, text):
    """Counts are exact with thousands separators; measures have three significant digits."""
    from simulator.analysis.markdown import num

    assert num(value) == text


def _gat_case():
    """Six services, four edges into the two that failed, two of them in the cascade."""
    import networkx as nx

    from simulator.analysis.cascade import CascadeLink
    from simulator.analysis.gat_findings import GatInput

    graph = nx.DiGraph([("a", "d"), ("b", "d"), ("c", "d"), ("c", "e"), ("f", "e"), ("a", "f")])
    features = {
        n: {
            "peak_stress": 0.3 * i,
            "mean_stress": 0.1 * (5 - i),
            "min_resource": 1.0 - 0.15 * i,
            "time_above_threshold": float(i % 3),
            "time_to_first_failure": 10.0 - i,
        }
        for i, n in enumerate("abcdef")
    }
    links = [
        CascadeLink(u, v, "direct", 1, 2, 1.0, 2.0, "failed", "flood_damage from flood")
        for u, v in (("c", "e"), ("a", "d"))
    ]
    return graph, links, GatInput(features, {"d": 3.0, "e": 4.0}, "failed", 5)


def test_the_gat_verdict_quotes_the_attention_against_the_real_cascade():
    """The verdict's Spearman and top-5 overlap are those of the attention ranking against
    the cascade, worked out from the ranked edges, not those of a baseline."""
    from simulator.analysis.gat_findings import gat_findings
    from simulator.analysis.graph_metrics import spearman_agreement, top_k_overlap

    graph, links, given = _gat_case()
    found, _ = gat_findings(graph, links, given)
    ranked = [(e["source"], e["target"]) for e in found.top_edges]
    truth = [("c", "e"), ("a", "d")]
    universe = [(u, v) for u, v in graph.edges if v in given.failed]
    assert found.candidates == len(universe) == len(ranked) == 5
    rho = spearman_agreement(ranked, truth, universe)
    overlap = top_k_overlap(ranked, truth, 5)
    assert f"(Spearman {rho:.3g}, top-5 overlap {overlap:.3g} over 5 candidate edges)" in found.verdict
    baseline = next(r for r in found.agreement if r["ranking"] == "betweenness" and r["reference"] == "truth")
    assert f"Spearman {baseline['spearman']:.3g}," not in found.verdict  # the case tells them apart


@pytest.mark.parametrize(
    ("a", "b"),
    [([], [("x", "y"), ("y", "z"), ("z", "w")]), ([("x", "y"), ("y", "z"), ("z", "w")], [])],
)
def test_agreement_with_a_ranking_that_ranks_nothing_is_nan_without_a_warning(a, b):
    """A ranking constant over the universe has no rank correlation: NaN, and no scipy
    ConstantInputWarning printed on the user's terminal."""
    from simulator.analysis.graph_metrics import spearman_agreement

    universe = [("x", "y"), ("y", "z"), ("z", "w")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(spearman_agreement(a, b, universe))


# -- finance: market data -----------------------------------------------------------------------
def test_without_regime_switches_only_the_first_regime_shapes_the_prices():
    """switch_prob 0: the second regime is never entered, so changing it changes nothing;
    with switches, it does."""
    from simulator.finance.synthetic import Regime, synthetic_bars

    calm, wild, other = Regime(0.08, 0.15), Regime(-0.25, 0.45), Regime(0.5, 0.9)
    a = synthetic_bars("X", 4, days=300, regimes=(calm, wild), switch_prob=0.0)
    b = synthetic_bars("X", 4, days=300, regimes=(calm, other), switch_prob=0.0)
    one = synthetic_bars("X", 4, days=300, regimes=(calm, calm), switch_prob=0.0)
    assert np.array_equal(a.close, b.close) and np.array_equal(a.close, one.close)
    c = synthetic_bars("X", 4, days=300, regimes=(calm, wild), switch_prob=0.05)
    d = synthetic_bars("X", 4, days=300, regimes=(calm, other), switch_prob=0.05)
    assert not np.array_equal(c.close, d.close)


@pytest.mark.parametrize(
    ("series", "module", "column"), [("wti", "wti", "DCOILWTICO"), ("vix", "vix", "vix")]
)
def test_a_close_only_arch_series_is_its_closes_with_no_volume(series, module, column):
    import importlib

    from simulator.finance.market import _arch_close, load_arch

    dates, (*prices, volume) = _arch_close(module, column)()  # the loader, built here (not at import)
    assert len(dates) == len(volume) and not volume.any()
    bars = load_arch(series)
    raw = importlib.import_module(f"arch.data.{module}").load()[column].dropna()
    assert len(bars.close) == len(raw) > 1000
    assert np.array_equal(bars.close, raw.to_numpy())
    for prices in (bars.open, bars.high, bars.low):
        assert np.array_equal(prices, bars.close)
    assert np.array_equal(bars.volume, np.zeros(len(raw)))


def test_a_csv_round_trip_keeps_the_volume(tmp_path):
    from simulator.finance.market import load_csv, write_csv
    from simulator.finance.synthetic import synthetic_bars

    bars = synthetic_bars("ACME", 9, days=40)
    write_csv(bars, tmp_path / "ACME.csv")
    back = load_csv(tmp_path / "ACME.csv")
    assert np.array_equal(back.volume, np.round(bars.volume)) and back.volume.sum() > 0
    assert np.array_equal(back.close, bars.close)
    lines = (tmp_path / "ACME.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",null"  # a missing volume reads as none traded
    (tmp_path / "ACME.csv").write_text("\n".join(lines) + "\n")
    assert load_csv(tmp_path / "ACME.csv").volume[2] == 0.0


class _HistoryView:
    """One symbol whose closes are given; today's open is the last close."""

    symbols = ("X",)

    def __init__(self, closes):
        self.closes = np.asarray(closes, dtype=float)

    def history(self, symbol, n=None):
        return self.closes if n is None else self.closes[-n:]

    def open(self, symbol):
        return float(self.closes[-1])


@pytest.mark.parametrize(("noise", "capped_by"), [(0.03, "target"), (0.0005, "weight")])
def test_vol_target_trend_sizes_the_position_to_its_target_volatility(noise, capped_by):
    """In an up-trend the weight is target_vol / realised vol (annualised from the last
    vol_window daily log returns), never above the strategy's weight."""
    import pandas as pd

    from simulator.finance.strategies import VolTargetTrend

    rng = np.random.default_rng(5)
    closes = 100 * np.exp(np.cumsum(0.01 + noise * rng.standard_normal(120)))
    assert closes[-5:].mean() > closes[-50:].mean()  # an up-trend
    strategy = VolTargetTrend(fast=5, slow=50, vol_window=20, target_vol=0.15, weight=1.0)
    returns = pd.Series(np.log(closes[-21:])).diff().dropna()
    vol = returns.std() * math.sqrt(252)
    expected = min(1.0, 0.15 / vol)
    assert (expected < 1.0) == (capped_by == "target")
    assert strategy.weights(_HistoryView(closes), {})["X"] == pytest.approx(expected, rel=1e-12)


# -- finance: the executor's sizing and its skipped orders ----------------------------------------
@pytest.mark.parametrize("side", ["buy", "sell"])
@pytest.mark.parametrize("order_type", ["market", "limit"])
def test_the_executors_worst_price_is_the_exchanges_fill_at_the_largest_slippage(side, order_type):
    """The executor sizes an order to the cash it takes at its worst fill: that price must be
    the exchange's fill price at the largest slippage it can draw, limit orders included (a
    limit inside the slippage band fills at the limit, so the worst case is better)."""
    from simulator.finance.executor import PhaseExecutor

    ctx, market = _service_world_for_sizing()
    executor = PhaseExecutor(ctx, None, lambda cp: None)
    exchange = ctx.services.exchange
    assert executor.worst_slip == pytest.approx(12 / 1e4)
    for day in range(market.days):
        open_ = market.open_price("sp500", day)
        for offset in (-0.0005, 0.0005, 0.003):  # inside and outside the slippage band
            limit = round(open_ * (1 + offset if side == "buy" else 1 - offset), 6)
            order = {"symbol": "sp500", "side": side, "qty": 3, "type": order_type, "limit": limit}
            fill, why = exchange.fill_price(order, day, executor.worst_slip)
            if fill is None:  # a limit the day never reached: nothing to size
                assert order_type == "limit" and why
                continue
            worst = executor._buy_price(order, open_) if side == "buy" else executor._sell_price(order, open_)
            assert worst == pytest.approx(fill, rel=1e-12), (day, offset)


def _service_world_for_sizing():
    from .test_finance_support import service_world

    return service_world(
        **{
            "services.exchange.allow_short": True,
            "services.exchange.slippage_bps": 7,
            "services.exchange.slippage_jitter_bps": 5,
            "executor.order_type": "limit",
        }
    )


def test_an_entry_after_an_exit_that_did_not_fill_is_skipped_by_its_id():
    """Flipping sides when the venue rejects the exit: the entry is not sent (it would double
    the position) and the execute result names that entry's id, the position still held, and
    nothing else; every skipped order is one planned that day, skipped once."""
    import json

    from simulator.finance import SimulationRuntime

    from .test_finance_support import make_config

    cfg = make_config(
        {
            "seed": 0,
            "market": {"symbols": ["nasdaq"], "start": "2015-01-02", "end": "2016-12-30"},
            "strategy": {"name": "momentum", "params": {"short": True}},
            "services": {"exchange": {"allow_short": True, "reject_rate": 0.5}},
        }
    )
    outcome = SimulationRuntime().run(cfg, keep=True)
    seen = 0
    for cp in outcome.checkpoints:
        if cp.phase != "execute":
            continue
        state = json.loads(cp.text)["state"]["trader"]
        planned = {o["id"]: o for o in state["work"]["plan"]["orders"]}
        skipped = state["work"]["execute"]["skipped"]
        ids = [s["id"] for s in skipped]
        assert len(ids) == len(set(ids)) and set(ids) <= set(planned), cp.cycle
        for s in skipped:
            if not s["reason"].startswith("the exit did not fill"):
                assert s["reason"] == "not enough cash"
                continue
            seen += 1
            entry = planned[s["id"]]
            held = state["book"][entry["symbol"]]["qty"]
            assert s["reason"] == f"the exit did not fill: still holding {held}"
            assert held != 0 and (held > 0) == (entry["side"] == "sell"), "the entry would have flipped"
            exit_ = next(o for o in planned.values() if o["id"] != s["id"] and o["side"] == entry["side"])
            assert exit_["qty"] == abs(held)
    assert seen >= 5


@pytest.mark.parametrize(("start", "end"), [("2015-01-02", "2016-12-30"), ("2008-01-02", "2009-12-31")])
def test_without_faults_the_exchange_never_rejects_an_order_the_executor_sized(start, end):
    """The executor cuts each order to the cash the exchange will see when it checks it, so a
    run without injected faults has no order rejected for cash: not when two shorts are
    covered in one phase (the first cover's lock is held until it settles), nor for the group
    after them (sized from the cash once the covers have settled)."""
    import json

    from simulator.finance import SimulationRuntime

    from .test_finance_support import make_config

    cfg = make_config(
        {
            "seed": 0,
            "market": {"symbols": ["sp500", "nasdaq"], "start": start, "end": end},
            "strategy": {"name": "momentum", "params": {"short": True}},
            "services": {"exchange": {"allow_short": True}},
        }
    )
    outcome = SimulationRuntime().run(cfg, keep=True)
    rejected, covered_twice, after_cover = [], 0, 0
    for cp in outcome.checkpoints:
        if cp.phase != "execute":
            continue
        state = json.loads(cp.text)["state"]["trader"]
        rejected += state["work"]["execute"]["rejected"]
        before = json.loads(outcome.checkpoints[cp.index - 1].text)["state"]["trader"]["book"]
        orders = state["work"]["plan"]["orders"]
        covers = {o["symbol"] for o in orders if o["side"] == "buy" and before[o["symbol"]]["qty"] < 0}
        covered_twice += len(covers) == 2
        after_cover += bool(covers) and len(orders) > len(covers)
    assert covered_twice >= 1 and after_cover >= 3  # the cases are there
    assert rejected == [] and outcome.result.orders_rejected == 0


def test_a_valid_replay_gives_no_reason(tmp_path):
    """`finance-replay` of an untouched run: valid, no mismatch, and no reason (JSON null, not
    an empty string a script would read as a reason given)."""
    from simulator.finance import SimulationRuntime, replay_simulation
    from simulator.finance.runtime import verify_stored
    from simulator.store import Store

    from .test_finance_support import FAULTY, make_config

    with Store(tmp_path / "r.sqlite") as store:
        out = SimulationRuntime(store).run(make_config(FAULTY, **{"market.end": "2008-07-15"}))
        hashes, bad, why = verify_stored(store.iter_checkpoints(out.simulation_id))
        assert (hashes, bad, why) == (out.hashes, None, None)
        report = replay_simulation(store, out.simulation_id)
    assert (report.valid, report.first_mismatch, report.reason) == (True, None, None)
    assert report.as_dict()["reason"] is None


def _parsers():
    """The finance and report commands' parsers, built fresh."""
    import argparse

    from simulator.analysis.cli import register_cli as analysis_cli
    from simulator.finance.cli import register_cli as finance_cli

    sub = argparse.ArgumentParser(prog="simulator").add_subparsers(dest="command")
    finance_cli(sub)
    analysis_cli(sub, {})
    return sub.choices


SHOUTED = re.compile(r"\b[A-Z]{2,}[,.]?(?:\s+[A-Z]{2,}[,.]?){2,}")  # three capitalised words in a row


@pytest.mark.parametrize("name", sorted(_parsers()))
def test_every_finance_and_report_command_and_option_says_what_it_does(name):
    """`simulator finance-* --help`, `simulator report --help`: a description of the command
    and a help line for every argument, in sentence case (not shouted, as the rest of the
    CLI). The parsers are built inside the test, so that mutmut ties `register_cli` to it."""
    import argparse

    parser = _parsers()[name]
    assert parser.description and parser.description[0].isupper(), name
    assert not SHOUTED.search(parser.description), name
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and not SHOUTED.search(action.help), (name, action.dest, action.help)


def test_an_order_that_names_no_type_is_a_market_order():
    """`exchange.order` without `type` (as a hand-written client may send it) fills exactly as
    the same order sent with `type: market`."""
    from simulator.finance.services import BROKERAGE, EXCHANGE

    from .test_finance_services import _fund, _open, ask
    from .test_finance_support import service_world

    fills = []
    for extra in ({}, {"type": "market"}):
        ctx, market = service_world()
        _open(ctx, market)
        _fund(ctx, 500_000)
        body = {"account": BROKERAGE, "symbol": "sp500", "side": "buy", "qty": 3, **extra}
        fills.append(ask(ctx, "exchange.order", EXCHANGE, body))
    assert fills[0]["status"] == "filled"
    assert {**fills[0], "request_id": None} == {**fills[1], "request_id": None}


@pytest.mark.parametrize("column", ["Open", "High", "Low", "Close"])
def test_a_price_that_is_not_positive_is_named_by_its_column(tmp_path, column):
    from simulator.finance.market import MarketDataError, load_csv

    prices = {"Open": "10", "High": "11", "Low": "9", "Close": "10"} | {column: "0"}
    bad = ",".join(prices[c] for c in ("Open", "High", "Low", "Close"))
    path = tmp_path / "X.csv"
    path.write_text(f"Date,Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10,100\n2020-01-03,{bad},100\n")
    why = f"^{re.escape(str(path))}:3: column {column}: price must be > 0, got 0$"
    with pytest.raises(MarketDataError, match=why):
        load_csv(path)


def test_a_store_file_with_a_sqlite_header_but_no_database_says_why(tmp_path):
    """The SQLite header is there, the rest is not a database: one line with SQLite's reason."""
    from simulator.store import Store
    from simulator.store.sqlite import StoreError

    path = tmp_path / "x.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 2000)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(caught.value) == f"{path}: cannot open it as a SQLite store: file is not a database"


def test_a_replay_of_a_run_whose_checkpoints_were_all_deleted_says_so(tmp_path):
    """Every checkpoint row deleted: no stored head at all, and the report says the stored
    chain (none) is not the one recorded for the run."""
    from simulator.finance import SimulationRuntime, replay_simulation
    from simulator.store import Store

    from .test_finance_support import FAULTY, make_config

    with Store(tmp_path / "r.sqlite") as store:
        out = SimulationRuntime(store).run(make_config(FAULTY, **{"market.end": "2008-07-15"}))
        store.conn.execute("DELETE FROM checkpoints")
        report = replay_simulation(store, out.simulation_id)
    assert (report.valid, report.original_count, report.first_mismatch) == (False, 0, 0)
    assert report.reason.startswith(
        f"the stored chain head none is not the head recorded for the run {out.hashes[-1][:16]}: "
        "the checkpoints were rewritten"
    )


def test_a_report_on_altered_records_names_both_chain_heads(tmp_path):
    """`simulator report` on a metrics.csv changed in place: refused, quoting the file's chain
    head and the recorded one (12 hex digits each) and pointing at `simulator verify`."""
    import json

    from simulator.analysis.run_data import AnalysisError, load_run
    from simulator.engine import chain_of_file

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    path = tmp_path / "metrics.csv"
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",ok,", b",failed,", 1)
    path.write_bytes(b"\n".join(lines))
    head, _ = chain_of_file(path)
    recorded = json.loads((tmp_path / "summary.json").read_text())["chain_head"]
    with pytest.raises(AnalysisError) as caught:
        load_run(tmp_path)
    assert str(caught.value) == (
        f"{path}: its hash chain ({head[:12]}...) does not match summary.json ({recorded[:12]}...): "
        "the file was altered; `simulator verify` finds where"
    )
