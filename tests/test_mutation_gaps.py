"""Properties that surviving (or unreached) mutants showed no test checked (docs/mutation.md):
the trace's figures, a run owner's liveness, CSV cell text, and the strategies' parameter types."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time

import psutil
import pytest

from simulator.engine.recording import fmt, line_formatter
from simulator.finance.strategies import STRATEGIES
from simulator.infra.run import run_scenario
from simulator.infra.scenario import load_scenario
from simulator.store.sqlite import effective_status, owner_alive
from tests.conftest import SCENARIOS


# -- the trace ---------------------------------------------------------------------------------
def test_each_trace_line_shows_the_state_the_record_carries(tmp_path):
    """`--trace`: one line per applied event, whose service figures are the ones metrics.csv
    holds for that event (recording mode `all`: every service in every record)."""
    out = io.StringIO()
    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, trace=True, stream=out)
    with open(tmp_path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_seq: dict[int, list[dict]] = {}
    for r in rows:
        by_seq.setdefault(int(r["seq"]), []).append(r)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(by_seq) > 100
    for line, seq in zip(lines, sorted(by_seq), strict=True):
        parts = line.split(" | ")
        first = by_seq[seq][0]
        head = f"t={float(first['time']):8.3f} #{seq:<5} {first['event_type']:<21} "
        assert parts[0] == head + f"{first['source']:>14} -> {first['target']:<14}"
        expected = [
            f"{r['service_id']} {r['status']:<10} stress={float(r['stress_level']):.2f} "
            f"res={float(r['resource_level']):.2f} q={r['queue']}"
            for r in by_seq[seq]
        ]
        assert parts[1 : 1 + len(expected)] == expected
        assert [p.split(" panic=")[0] for p in parts[4:10]] == [f"patients_{i}" for i in range(6)]
        assert parts[-1].startswith("central_policy budget=") and " known_bad=" in parts[-1]
    failed = [ln for ln in lines if "power failed" in ln]
    assert failed and all("known_bad=" in ln for ln in failed)
    assert any(not ln.endswith("known_bad=0") for ln in lines), "the policy learns of the failure"


def test_a_trace_of_a_big_world_says_how_many_entities_it_hides(tmp_path, monkeypatch):
    from simulator.infra import run as run_module

    class Narrow(run_module.Trace):
        def __init__(self, world, stream):
            super().__init__(world, stream, max_shown=2)

    monkeypatch.setattr(run_module, "Trace", Narrow)
    out = io.StringIO()
    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, trace=True, stream=out)
    parts = out.getvalue().splitlines()[0].split(" | ")
    # 3 services, 2 shown; 6 citizens, more than 2, so none shown: 1 + 6 hidden
    assert [p.split()[0] for p in parts[1:]] == ["power", "hospital", "central_policy", "(+7"]
    assert parts[-1] == "(+7 entities not shown)"


# -- who owns a run ----------------------------------------------------------------------------
def me() -> dict:
    return {"pid": os.getpid(), "started": psutil.Process().create_time(), "host": socket.gethostname()}


def test_a_live_owner_is_alive_and_a_recycled_pid_is_not():
    assert owner_alive(me())
    assert not owner_alive({**me(), "started": me()["started"] - 5})  # same pid, another process
    assert not owner_alive(None) and not owner_alive({"host": socket.gethostname()})
    assert effective_status("running", json.dumps(me())) == "running"
    assert effective_status("running", None) == "interrupted"


def test_an_owner_on_another_host_is_assumed_alive():
    other = {"pid": 1, "started": 0.0, "host": socket.gethostname() + "-elsewhere"}
    assert owner_alive(other)
    assert effective_status("running", json.dumps(other)) == "running"


def test_an_owner_that_exited_but_was_not_reaped_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    started = psutil.Process(child.pid).create_time()
    owner = {"pid": child.pid, "started": started, "host": socket.gethostname()}
    deadline = time.monotonic() + 30
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:  # exited, not yet waited for
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    try:
        assert not owner_alive(owner)
        assert effective_status("running", json.dumps(owner)) == "interrupted"
    finally:
        child.wait()


# -- CSV cells ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (0.1 + 0.2, "0.3"), (1 / 3, "0.3333333333"), (2.0, "2"), (True, "1"), (False, "0"),
     (7, "7"), ("ok", "ok"), (1e-12, "1e-12")],
)
def test_a_cell_is_written_as_documented(value, text):
    assert fmt(value) == text


def test_a_line_formatter_fits_its_sample_and_falls_back_cell_by_cell():
    line = line_formatter((1.5, 2, "a", True, None))

    def cells(values):
        return line(2.5, "ev", "src", "e", values, 7, "tgt", "", "")

    assert cells((0.1 + 0.2, 3, "b", False, None)) == "2.5,ev,src,e,0.3,3,b,0,,7,tgt,,\n"
    assert cells((None, 3, "b", True, 2.5)) == "2.5,ev,src,e,,3,b,1,2.5,7,tgt,,\n"  # None where a float was
    assert cells(("x", 3, "b", True, None)) == "2.5,ev,src,e,x,3,b,1,,7,tgt,,\n"  # text where a float was


# -- strategy parameters -----------------------------------------------------------------------
def test_each_strategy_describes_its_parameters_with_their_json_types():
    json_type = {int: "integer", float: "number", bool: "boolean", str: "string"}
    for name, cls in STRATEGIES.items():
        described = cls.describe()["parameters"]
        fields = cls.Params.model_fields
        assert sorted(described) == sorted(fields), name
        for key, field in fields.items():
            assert described[key]["default"] == field.default, (name, key)
            if field.annotation in json_type:
                assert described[key]["type"] == json_type[field.annotation], (name, key)


# -- the CSV sink and the background recorder ------------------------------------------------
def test_a_csv_sink_writes_to_its_partial_file_as_its_buffer_fills(tmp_path):
    """Memory stays bounded: past `buffer_bytes` the records go to `<path>.partial` on disk;
    the file takes its name only on a successful close, and a failed close removes it."""
    from simulator.engine import CsvSink

    for ok in (True, False):
        path = tmp_path / f"{ok}.csv"
        sink = CsvSink(path, buffer_bytes=20_000)
        sink.open(b"h\n")
        partial = tmp_path / f"{ok}.csv.partial"
        record = b"x" * 9_999 + b"\n"
        for i in range(1, 11):
            sink.write(None, record)
            if i % 2 == 0:  # 20,000 bytes held: written out (the file's own buffer is smaller)
                assert partial.stat().st_size == 2 + 10_000 * i
        assert not path.exists()
        sink.close(ok)
        assert path.exists() == ok and not partial.exists()
        if ok:
            assert path.read_bytes() == b"h\n" + record * 10


def test_a_program_that_never_closes_its_background_recorder_still_exits(tmp_path):
    """The recorder's child is a daemon: a simulation process that ends without closing the
    recorder (a crash past every handler) neither hangs at exit nor leaves the file behind."""
    from simulator.engine.recorder import background_available

    if not background_available():
        pytest.skip("needs the fork start method")
    code = (
        "from simulator.engine import CsvSink, Event, HashChain\n"
        "from simulator.engine.recorder import BackgroundRecorder\n"
        "from tests.test_recorder import LAYOUT\n"
        f"sink = CsvSink({str(tmp_path / 'm.csv')!r})\n"
        "rec = BackgroundRecorder(LAYOUT, [sink], HashChain(LAYOUT.header), batch=4)\n"
        "rec.open()\n"
        "for seq in range(1, 10):\n"
        "    rec.write(seq, float(seq), Event('noop', 'b0', 'b0'), [])\n"
        "print('left without closing', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)  # noqa: S603
    assert done.returncode == 0, done.stderr
    assert done.stdout == "left without closing\n"
    assert not (tmp_path / "m.csv").exists()


# -- claiming a stored run ---------------------------------------------------------------------
def test_a_completed_run_cannot_be_claimed_and_a_live_owners_run_cannot_be_taken(tmp_path):
    from simulator.store import Store
    from simulator.store.sqlite import StoreError

    with Store(tmp_path / "s.sqlite") as store:
        done = store.create_simulation({}, 100.0)
        store.update_simulation(done, status="completed")
        with pytest.raises(StoreError, match=f"^simulation {done} is completed: nothing to resume$"):
            store.claim_simulation(done)
        assert store.get_simulation(done)["status"] == "completed"  # rolled back, not claimed
        live = store.create_simulation({}, 100.0)  # running, owned by this process
        with pytest.raises(StoreError, match=f"^simulation {live} is running in process {os.getpid()} on "):
            store.claim_simulation(live)
        stale = store.create_simulation({}, 100.0)
        store.update_simulation(stale, status="failed")
        store.claim_simulation(stale)  # a failed run may be resumed
        assert store.get_simulation(stale)["status"] == "running"


# -- outcomes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("served", "rejected"), [(0, 0), (3, 3), (1, 3), (4, 0), (0, 2)])
def test_the_unmet_share_is_rejected_over_all_requests(served, rejected):
    from simulator.infra.build import build_world
    from simulator.infra.outcomes import outcomes

    w = build_world(load_scenario(SCENARIOS / "cascade_direct.yaml"), [])
    services = [e for e, k in w.kinds.items() if k == "service"]
    for i, sid in enumerate(services):  # the totals split unevenly over the services
        w.entities[sid]["served"] = served if i == 0 else 0
        w.entities[sid]["rejected"] = rejected - rejected // 2 if i == 0 else rejected // 2 if i == 1 else 0
    o = outcomes(w)
    assert (o["served"], o["unmet_demand"]) == (served, rejected)
    assert o["unmet_share"] == (rejected / (served + rejected) if served + rejected else 0.0)


def test_a_store_that_cannot_be_read_says_why_in_one_line(tmp_path, monkeypatch):
    """A read error (a failing disk, say) is reported by its reason, not as a traceback."""
    import errno
    import pathlib

    from simulator.store import Store
    from simulator.store.sqlite import StoreError

    path = tmp_path / "s.sqlite"
    Store(path).close()
    real_open = pathlib.Path.open

    def failing(self, *args, **kwargs):
        if self == path:
            raise OSError(errno.EIO, "Input/output error")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", failing)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(caught.value) == f"{path}: cannot read it: Input/output error"


# -- recording off, an odd store path, undecodable records, the timeline's cut note ------------
def test_a_run_with_recording_off_writes_no_metrics_file(tmp_path):
    scenario = load_scenario(SCENARIOS / "cascade_direct.yaml")
    scenario.recording.mode = "off"
    summary = run_scenario(scenario, tmp_path, quiet=True)
    assert summary["outcomes"]["events"] > 100
    assert not (tmp_path / "metrics.csv").exists() and (tmp_path / "summary.json").is_file()


def test_a_store_path_that_is_not_a_regular_file_is_one_clear_error(tmp_path):
    from simulator.store import Store
    from simulator.store.sqlite import StoreError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(StoreError) as caught:
        Store(fifo)
    assert str(caught.value) == f"{fifo}: is not a regular file; --db takes a SQLite file"


def test_the_differing_column_is_found_in_records_that_are_not_valid_utf8():
    from simulator.infra.run import differing_column

    header = b"time,event_type,source,service_id,queue\n"
    ours = b"1.5,request,a,water,3\n"
    theirs = b"1.5,request,a,water,\xff3\n"  # a damaged byte in the queue column
    assert differing_column(header, ours, theirs) == ("queue", "water")
    assert differing_column(header, b"1.5,req\xfeuest,a,water,3\n", ours) == ("event_type", "water")


@pytest.mark.parametrize("entries", [3, 150, 151, 400])
def test_the_timeline_says_it_was_cut_only_when_it_was(entries, tmp_path_factory):
    import dataclasses

    from simulator.analysis import markdown
    from simulator.analysis.findings import compute_findings
    from simulator.analysis.run_data import load_run

    folder = tmp_path_factory.mktemp("tl")
    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), folder, quiet=True)
    f = compute_findings(load_run(folder))
    base = f.timeline[0]
    timeline = [dataclasses.replace(base, seq=i + 1, text=f"entry {i}") for i in range(entries)]
    text = "\n".join(markdown.timeline(dataclasses.replace(f, timeline=timeline)))
    shown = timeline if entries <= markdown.TIMELINE_FULL else markdown._condensed(timeline)[0]
    hidden = max(len(shown) - markdown.TIMELINE_MAX, 0)
    assert ("more are in failure_analysis.json" in text) == (hidden > 0)
    if hidden:
        assert f"cut at {markdown.TIMELINE_MAX} rows; {hidden} more are in failure_analysis.json" in text


def test_a_summary_without_a_recording_section_reads_as_recording_everything(tmp_path):
    """Older or hand-written summaries may lack `recording`; the default mode is `all`."""
    from simulator.analysis.findings import compute_findings
    from simulator.analysis.run_data import load_run

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    run = load_run(tmp_path)
    assert compute_findings(run).recording_mode == "all"
    del run.config["recording"]
    assert compute_findings(run).recording_mode == "all"


def test_a_changed_record_makes_the_replay_report_invalid_not_unknown(tmp_path):
    """`valid` is a boolean in the report (and so in `simulator verify --json`): False, not None."""
    from simulator.infra.run import validate_run

    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, quiet=True)
    assert validate_run(tmp_path)["valid"] is True
    path = tmp_path / "metrics.csv"
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",ok,", b",failed,", 1)
    path.write_bytes(b"\n".join(lines))
    report = validate_run(tmp_path)
    assert report["valid"] is False and report["first_mismatch"]["column"] == "status"


def test_a_trace_shows_citizens_up_to_exactly_its_limit(tmp_path, monkeypatch):
    from simulator.infra import run as run_module

    class Six(run_module.Trace):
        def __init__(self, world, stream):
            super().__init__(world, stream, max_shown=6)

    monkeypatch.setattr(run_module, "Trace", Six)
    out = io.StringIO()
    run_scenario(load_scenario(SCENARIOS / "cascade_direct.yaml"), tmp_path, trace=True, stream=out)
    parts = out.getvalue().splitlines()[0].split(" | ")
    assert [p.split()[0] for p in parts[1:]] == [
        "power", "hospital", "water", *[f"patients_{i}" for i in range(6)], "central_policy"
    ]
