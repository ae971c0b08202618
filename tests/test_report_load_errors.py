"""A run folder the post-mortem cannot read is refused with one message naming the file and
what is wrong with it; a good one is read with every column in its real type."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from simulator.analysis.run_data import AnalysisError, load_run, payload, read_metrics
from simulator.cli import main
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("cascade_direct")
    assert main(["run", str(SCENARIOS / "cascade_direct.yaml"), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture
def copy(recorded, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(recorded, folder)
    return folder


def refused(folder) -> str:
    with pytest.raises(AnalysisError) as caught:
        load_run(folder)
    assert caught.value.exit_code == 2
    return str(caught.value)


def edit_summary(folder, change) -> None:
    path = folder / "summary.json"
    summary = json.loads(path.read_text())
    change(summary)
    path.write_text(json.dumps(summary))


def test_a_folder_that_is_not_there(tmp_path):
    assert refused(tmp_path / "nope") == f"{tmp_path / 'nope'}: no such run folder"


@pytest.mark.parametrize("name", ["summary.json", "metrics.csv"])
def test_a_folder_missing_one_of_its_files(copy, name):
    (copy / name).unlink()
    assert refused(copy) == f"{copy}: missing {name} (a run folder is written by `simulator run`)"


@pytest.mark.parametrize("key", ["config", "seed", "chain_head"])
def test_a_summary_missing_a_key(copy, key):
    edit_summary(copy, lambda s: s.pop(key))
    assert refused(copy) == f"{copy / 'summary.json'}: missing key {key!r}"


def test_a_summary_of_another_world(copy):
    edit_summary(copy, lambda s: s.update(world="finance"))
    assert refused(copy) == f"{copy}: reports are for infra runs, this is 'finance'"
    edit_summary(copy, lambda s: s.pop("world"))
    assert refused(copy) == f"{copy}: reports are for infra runs, this is None"


def test_an_empty_metrics_file(copy):
    (copy / "metrics.csv").write_bytes(b"")
    assert refused(copy) == f"{copy / 'metrics.csv'}: empty file (no header)"


def test_a_metrics_file_cut_in_the_middle_of_a_line(copy):
    data = (copy / "metrics.csv").read_bytes()
    cut = data[: data.rindex(b"\n") - 5]
    (copy / "metrics.csv").write_bytes(cut)
    last = cut.rsplit(b"\n", 1)[-1][:60].decode()
    assert refused(copy) == f"{copy / 'metrics.csv'}: truncated: the last line is incomplete ({last!r}...)"


def test_a_metrics_file_missing_its_last_records(copy):
    lines = (copy / "metrics.csv").read_bytes().splitlines(keepends=True)
    at = lines[0].decode().split(",").index("seq")
    last = lines[-1].split(b",")[at]
    kept = [line for line in lines if line.split(b",")[at] != last or line is lines[0]]
    summary = json.loads((copy / "summary.json").read_text())
    (copy / "metrics.csv").write_bytes(b"".join(kept))
    expected = summary["records"]
    assert refused(copy) == (
        f"{copy / 'metrics.csv'}: truncated or altered: "
        f"{expected - 1:,} records, summary.json says {expected:,}"
    )


def test_an_altered_metrics_file_names_both_heads(copy):
    edit_summary(copy, lambda s: s.pop("records", None))
    data = (copy / "metrics.csv").read_bytes()
    lines = data.splitlines(keepends=True)
    lines[3] = lines[3].replace(b",", b", ", 1)
    (copy / "metrics.csv").write_bytes(b"".join(lines))
    message = refused(copy)
    head = json.loads((copy / "summary.json").read_text())["chain_head"]
    assert message.startswith(f"{copy / 'metrics.csv'}: its hash chain (")
    tail = "the file was altered; `simulator verify` finds where"
    assert message.endswith(f"...) does not match summary.json ({head[:12]}...): {tail}")
    edit_summary(copy, lambda s: s.update(chain_head=""))  # no head recorded: nothing to compare
    assert load_run(copy).summary["chain_head"] == ""


def test_a_good_run_is_read_with_its_columns_typed(recorded):
    run = load_run(recorded)
    rows = read_metrics(recorded / "metrics.csv")
    assert rows["seq"].dtype == "int64" and str(rows["cause"].dtype) == "Int64"
    assert rows["time"].dtype == "float64" and all(isinstance(x, str) for x in rows["payload"])
    for column in ("event_type", "service_id", "status", "source", "target"):
        assert isinstance(rows[column].dtype, pd.CategoricalDtype)
        assert list(rows[column].cat.categories) == sorted(rows[column].cat.categories)
    assert run.events.index.is_unique and list(run.events.index) == sorted(set(rows["seq"]))
    assert len(run.events) == json.loads((recorded / "summary.json").read_text())["records"]
    states = run.states()
    assert (states["service_id"] != "").all() and states["service_id"].notna().all()
    assert set(states["service_id"]) <= set(run.services)
    assert run.services == [s["id"] for s in run.config["services"]]
    assert run.states() is states  # computed once
    some = run.events.index[run.events["payload"] != ""][0]
    assert payload(run.events, some) == json.loads(run.events.at[some, "payload"])
    empty = run.events.index[run.events["payload"] == ""]
    if len(empty):
        assert payload(run.events, empty[0]) == {}
    run.drop_records()
    assert len(run.rows) == 0 and len(run.events) == 0 and len(run.states()) == 0
    assert run.summary and run.config


def test_only_the_asked_columns_are_read(recorded):
    rows = read_metrics(recorded / "metrics.csv", ("time", "seq", "cause", "status"))
    assert list(rows.columns) == ["time", "status", "seq", "cause"]


def test_a_metrics_file_of_one_unfinished_line_quotes_it_from_its_first_byte(copy):
    (copy / "metrics.csv").write_bytes(b"time,event_type")
    expected = f"{copy / 'metrics.csv'}: truncated: the last line is incomplete ('time,event_type'...)"
    assert refused(copy) == expected


def test_what_ifs_without_a_rerun_are_refused_before_anything_is_read(tmp_path):
    from simulator.analysis.report import build_report

    with pytest.raises(AnalysisError) as caught:
        build_report(tmp_path / "nowhere", what_ifs=["policy.budget=1"])
    assert str(caught.value) == "what-if replays need a re-run function (the CLI passes one)"
    with pytest.raises(AnalysisError, match="no such run folder"):
        build_report(tmp_path / "nowhere")
