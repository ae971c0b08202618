"""Batches of infra runs: identical per-replication outcomes on every backend."""

from __future__ import annotations

import math

from simulator.batch import replications, without_timing
from simulator.cli import main
from simulator.infra.replicate import run_outcomes
from simulator.infra.scenario import load_scenario

from .conftest import SCENARIOS


def comparable(results):
    rows = without_timing(results)
    for row in rows:
        row["outcomes"] = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row["outcomes"].items()
        }
    return rows


def test_serial_processes_and_dask_agree_on_infra_runs():
    base = load_scenario(str(SCENARIOS / "flood_overload.yaml")).model_dump(mode="json")
    serial = replications(run_outcomes, base, 6, master_seed=11, progress=False)
    procs = replications(
        run_outcomes, base, 6, master_seed=11, backend="processes", workers=2, progress=False
    )
    dask = replications(run_outcomes, base, 6, master_seed=11, backend="dask", workers=2, progress=False)
    assert all(r["status"] == "ok" for r in serial)
    assert comparable(serial) == comparable(procs) == comparable(dask)
    assert len({r["outcomes"]["events"] for r in serial}) > 1  # the seeds really differ


def test_batch_cli_sweep_writes_summary(tmp_path, capsys):
    out = tmp_path / "b"
    code = main(
        [
            "batch",
            str(SCENARIOS / "flood_overload.yaml"),
            "-n",
            "5",
            "--sweep",
            "policy.intervention_delay=0,8",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    summary = (out / "batch_summary.csv").read_text()
    assert "policy.intervention_delay" in summary and "wilson" in summary


def test_batch_cli_rejects_unknown_sweep_path(tmp_path, capsys):
    code = main(
        [
            "batch",
            str(SCENARIOS / "flood_overload.yaml"),
            "-n",
            "2",
            "--sweep",
            "polcy.delay=1,2",
            "--out",
            str(tmp_path / "b"),
            "--quiet",
        ]
    )
    assert code == 2
    assert "polcy" in capsys.readouterr().err


def test_population_model_agrees_on_every_backend():
    """One process per citizen group: the same per-replication outcomes on serial, processes
    and Dask, and the runs really differ between seeds."""
    base = load_scenario(str(SCENARIOS / "flood_town.yaml"), {"until": 40}).model_dump(mode="json")
    base["citizen_model"] = "population"
    serial = replications(run_outcomes, base, 4, master_seed=5, progress=False)
    procs = replications(run_outcomes, base, 4, master_seed=5, backend="processes", workers=2, progress=False)
    dask = replications(run_outcomes, base, 4, master_seed=5, backend="dask", workers=2, progress=False)
    assert all(r["status"] == "ok" for r in serial)
    assert comparable(serial) == comparable(procs) == comparable(dask)
    assert len({r["outcomes"]["served"] for r in serial}) > 1
