"""`simulator batch` with bad options: refused before any run, one `error:` line, exit 2."""

from __future__ import annotations

import json

import pytest

from simulator.cli import main

from .conftest import SCENARIOS

FLOOD = str(SCENARIOS / "flood_overload.yaml")

CASES = {
    "no replications": (["-n", "0"], "-n/--replications: 0 (allowed: 1 or more runs per point)"),
    "negative replications": (["-n", "-3"], "-n/--replications: -3"),
    "no workers": (["--workers", "0"], "--workers: 0 (allowed: 1 or more"),
    "ten thousand workers": (["--workers", "10000"], "--workers: 10000 local processes (allowed: 1 to"),
    "a billion runs": (["-n", "1000000000"], "1,000,000,000 runs (allowed: up to 1,000,000 per batch"),
    "too many runs in a sweep": (
        ["-n", "500000", "--sweep", "policy.intervention_delay=1,2,3"],
        "1,500,000 runs (allowed: up to 1,000,000",
    ),
    "negative seed": (["--seed", "-1"], "--seed: -1 (allowed: 0 or more)"),
    "bad sweep value": (
        ["--sweep", "policy.intervention_delay=1,-2"],
        "at sweep point policy.intervention_delay=-2: policy.intervention_delay: "
        "Input should be greater than or equal to 0",
    ),
    "sweep point with inverted thresholds": (
        ["--sweep", "services.transport.overload_at=2,9"],
        "at sweep point services.transport.overload_at=9: services[0].overload_at: 9 is above fail_at 3 "
        "(allowed: overload_at <= fail_at)",
    ),
    "sweep of an unknown key": (["--sweep", "policy.nope=1,2"], "no key 'nope' under policy"),
    "sweep point that cannot finish": (
        ["--sweep", "policy.review_every=0.0000001"],
        "more than max_events",
    ),
    "unknown outcome to show": (
        ["--show", "cascade,nope"],
        "--show: unknown outcome 'nope' (allowed: events,",
    ),
    "scheduler without dask": (["--scheduler", "tcp://127.0.0.1:1"], "applies to --backend dask only"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_batch_option(case, tmp_path, capsys):
    extra, expected = CASES[case]
    out = tmp_path / "batch"
    assert main(["batch", FLOOD, "-n", "2", *extra, "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], captured.err
    assert not out.exists()


def test_a_previous_batch_is_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "batch"
    argv = ["batch", FLOOD, "-n", "2", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    before = (out / "batch_results.json").read_bytes()
    assert main([*argv[:3], "3", *argv[4:]]) == 2
    err = capsys.readouterr().err
    assert "already holds a batch (batch_results.json" in err and "--force" in err
    assert (out / "batch_results.json").read_bytes() == before
    assert main([*argv[:3], "3", *argv[4:], "--force"]) == 0
    assert len(json.loads((out / "batch_results.json").read_text())) == 3


def test_out_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["batch", FLOOD, "-n", "1", "--out", str(blocker), "--quiet"]) == 2
    assert "is a file" in capsys.readouterr().err


def test_failed_runs_are_reported_even_when_quiet(tmp_path, capsys, monkeypatch):
    """A run failing inside a worker (not a bad input: those are refused up front) is one line."""
    import simulator.infra.replicate as replicate

    def broken(config, seed):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(replicate, "run_outcomes", broken)
    out = tmp_path / "batch"
    assert main(["batch", FLOOD, "-n", "2", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: 2 of 2 runs failed (first: RuntimeError: disk on fire); "
        f"tracebacks in {out}/batch_results.json"
    ]
    results = json.loads((out / "batch_results.json").read_text(), parse_constant=pytest.fail)
    assert [r["status"] for r in results] == ["failed", "failed"]


def test_batch_results_are_strict_json(tmp_path):
    from simulator.batch import write_json

    result = {"index": 0, "outcomes": {"x": float("inf")}, "duration": float("nan")}
    write_json([result], tmp_path / "r.json")
    loaded = json.loads((tmp_path / "r.json").read_text(), parse_constant=pytest.fail)
    assert loaded == [{"index": 0, "outcomes": {"x": None}, "duration": None}]


def touch_and_wait(params, seed):
    """A batch task leaving a trace of having run (top level: worker processes import it)."""
    import time
    from pathlib import Path

    Path(params["marks"], f"{seed}").touch()
    time.sleep(0.2)
    return {"x": 1.0}


def test_an_interrupted_process_batch_drops_its_queued_runs(tmp_path):
    """Ctrl-C or SIGTERM (raised in the parent) ends a batch after the runs in flight, not
    after every queued run."""
    from simulator.batch import replication_tasks, run_batch

    tasks = replication_tasks({"marks": str(tmp_path)}, 24, master_seed=1)

    def interrupt(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(touch_and_wait, tasks, backend="processes", workers=2, progress=False, on_result=interrupt)
    ran = len(list(tmp_path.iterdir()))
    assert 1 <= ran <= 8, ran  # the first result, those in flight and a few already handed over
