"""The lean post-mortem (issue 15): metrics.csv read with only the columns it uses and names as
categoricals, yet the very values plain pandas reads; the records dropped before the graph
attention without changing a figure; and the same report bytes whatever Python's hash seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulator.analysis.findings import compute_findings
from simulator.analysis.run_data import NAME_COLUMNS, REPORT_COLUMNS, load_run, read_metrics
from simulator.cli import main
from tests.conftest import ROOT, SCENARIOS

OUTPUTS = (
    "failure_analysis.md",
    "failure_analysis.json",
    "service_timelines.png",
    "status_timeline.png",
    "dependency_graph.png",
)


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("town") / "run"
    assert main(["run", str(SCENARIOS / "flood_town.yaml"), "--out", str(folder), "--quiet"]) == 0
    return folder


def test_lean_reading_holds_the_values_plain_pandas_reads(town):
    path = town / "metrics.csv"
    lean = read_metrics(path, REPORT_COLUMNS)
    assert list(lean.columns) == list(REPORT_COLUMNS)  # load, queue, busy, ... are left on disk
    numbers, text = pd.read_csv(path), pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(lean) == len(numbers) > 10_000
    for column in REPORT_COLUMNS:
        if column in NAME_COLUMNS:
            assert isinstance(lean[column].dtype, pd.CategoricalDtype), column
            categories = list(lean[column].cat.categories)
            assert categories == sorted(categories), column  # grouping orders as plain text would
            assert lean[column].astype(str).tolist() == text[column].tolist(), column
        elif column == "payload":
            assert lean[column].tolist() == text[column].tolist()
        else:  # the same float64 bits (or the same integers), NaN where the file is empty
            got, want = lean[column].astype("float64").to_numpy(), numbers[column].to_numpy("float64")
            assert ((got == want) | (pd.isna(got) & pd.isna(want))).all(), column
    plain = pd.read_csv(path, dtype={c: object for c in NAME_COLUMNS})  # names as Python strings
    assert lean.memory_usage(deep=True).sum() < 0.5 * plain.memory_usage(deep=True).sum()


def test_dropping_the_records_before_the_graph_attention_changes_no_figure(town):
    whole = compute_findings(load_run(town)).to_json()
    run = load_run(town)
    calls = []

    def records_done(findings, graph):
        calls.append(graph.number_of_nodes())
        run.drop_records()

    lean = compute_findings(run, records_done=records_done)
    assert calls == [len(run.services)] and len(run.rows) == len(run.events) == 0
    assert lean.to_json() == whole
    assert whole["gat"]["top_edges"] and whole["episodes"]


def test_the_report_is_the_same_bytes_whatever_the_hash_seed(tmp_path):
    """Sets of names iterate in a per-process hash order: nothing printed or drawn may follow it
    (the dependency graph's layers were sets: hash seeds 1 and 2 drew flood_overload differently)."""
    folder = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "flood_overload.yaml"), "--out", str(folder), "--quiet"]) == 0
    seen = {}
    for seed in ("1", "2"):
        env = os.environ | {"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "simulator.cli", "report", str(folder), "--quiet"]
        subprocess.run(command, check=True, env=env, cwd=ROOT, capture_output=True)
        seen[seed] = {name: (folder / name).read_bytes() for name in OUTPUTS}
    for name in OUTPUTS:
        assert seen["1"][name] == seen["2"][name], name
    assert json.loads(seen["1"]["failure_analysis.json"])["dependency_damage"]
