"""Backends give identical results; failures are recorded, never lost."""

from __future__ import annotations

import json

import pytest

from simulator.batch import (
    Task,
    read_json,
    replication_tasks,
    replications,
    results_frame,
    run_batch,
    sweep,
    without_timing,
    write_csv,
    write_json,
)
from simulator.batch.examples import noisy_mean

BASE = {"mu": 0.0, "sigma": 1.0, "samples": 64, "fail": False}


@pytest.fixture(scope="module")
def serial_sweep():
    grid = {"mu": [0.0, 2.0], "fail": [False, True]}
    return sweep(noisy_mean, BASE, grid, replications=4, master_seed=7, progress=False)


def test_processes_and_dask_match_serial(serial_sweep):
    grid = {"mu": [0.0, 2.0], "fail": [False, True]}
    expected = without_timing(serial_sweep)
    processes = sweep(noisy_mean, BASE, grid, 4, 7, backend="processes", workers=2,
                      progress=False)
    dask = sweep(noisy_mean, BASE, grid, 4, 7, backend="dask", workers=2, progress=False)
    assert without_timing(processes) == expected
    assert without_timing(dask) == expected


def test_results_do_not_depend_on_worker_count():
    one = replications(noisy_mean, BASE, 6, 3, backend="processes", workers=1, progress=False)
    two = replications(noisy_mean, BASE, 6, 3, backend="processes", workers=2, progress=False)
    assert without_timing(one) == without_timing(two)
    assert len({r["outcomes"]["mean"] for r in one}) == 6  # seeds differ per replication


def test_master_seed_changes_results():
    a = replications(noisy_mean, BASE, 3, 1, progress=False)
    b = replications(noisy_mean, BASE, 3, 2, progress=False)
    assert [r["outcomes"] for r in a] != [r["outcomes"] for r in b]


def test_failed_tasks_are_recorded_and_others_complete(serial_sweep):
    failed = [r for r in serial_sweep if r["status"] == "failed"]
    ok = [r for r in serial_sweep if r["status"] == "ok"]
    assert len(failed) == len(ok) == 8
    for r in failed:
        assert r["params"]["fail"] is True
        assert r["outcomes"] == {}
        assert r["error"].startswith("RuntimeError: asked to fail")
        assert "Traceback (most recent call last)" in r["traceback"]
        assert "noisy_mean" in r["traceback"]
    for r in ok:
        assert r["error"] is None and r["traceback"] is None
        assert set(r["outcomes"]) == {"mean", "max", "exceeded"}


def test_failures_survive_process_boundary():
    tasks = replication_tasks({**BASE, "fail": True}, 2, 0)
    results = run_batch(noisy_mean, tasks, "processes", workers=2, progress=False)
    assert [r["status"] for r in results] == ["failed", "failed"]
    assert all("noisy_mean" in r["traceback"] for r in results)


def test_results_sorted_by_index_and_carry_full_params(serial_sweep):
    assert [r["index"] for r in serial_sweep] == list(range(16))
    r = serial_sweep[9]
    assert (r["point"], r["replication"]) == (2, 1)
    assert r["overrides"] == {"mu": 2.0, "fail": False}
    assert r["params"] == {**BASE, "mu": 2.0}


def test_bad_outcomes_fail_the_task():
    tasks = [Task(0, {}, 1)]
    result = run_batch(_returns_list, tasks, progress=False)[0]
    assert result["status"] == "failed"
    assert "mapping of outcomes" in result["error"]


def _returns_list(params, seed):
    return [1.0]


def test_unpicklable_function_is_refused_for_processes():
    with pytest.raises(TypeError, match="top-level function"):
        run_batch(lambda p, s: {}, [Task(0, {}, 1)], "processes", progress=False)


def test_unknown_backend_and_duplicate_indices():
    with pytest.raises(ValueError, match="unknown backend 'threads'"):
        run_batch(noisy_mean, [Task(0, BASE, 1)], "threads", progress=False)
    with pytest.raises(ValueError, match="unique"):
        run_batch(noisy_mean, [Task(0, BASE, 1), Task(0, BASE, 2)], progress=False)


def test_on_result_hook_sees_every_result():
    seen = []
    replications(noisy_mean, BASE, 5, 0, progress=False, on_result=seen.append)
    assert sorted(r["index"] for r in seen) == list(range(5))


def test_csv_and_json_round_trip(serial_sweep, tmp_path):
    write_json(serial_sweep, tmp_path / "out" / "results.json")
    assert read_json(tmp_path / "out" / "results.json") == json.loads(json.dumps(serial_sweep))
    path = write_csv(serial_sweep, tmp_path / "results.csv")
    frame = results_frame(serial_sweep)
    assert list(frame.columns) == ["index", "point", "replication", "seed", "status", "mu",
                                   "fail", "mean", "max", "exceeded", "error", "duration"]
    assert path.read_text().splitlines()[0].startswith("index,point,replication,seed,status")
    assert frame.loc[4, "status"] == "failed" and frame["mean"].isna().sum() == 8
