"""The experiments refuse bad arguments with one error line (exit 2), before any run."""

from __future__ import annotations

import pytest

from .refusals import refused

A_FILE = "pyproject.toml"  # exists, and is not a folder

BAD = [
    ("citizen_equivalence", ["--replications", "1"], "--replications must be >= 2, got 1"),
    ("citizen_equivalence", ["--master-seed", "-1"], "--master-seed must be >= 0, got -1"),
    ("citizen_equivalence", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("citizen_equivalence", ["--backend", "nope"], "argument --backend: invalid choice: 'nope'"),
    ("citizen_equivalence", ["--alpha", "0"], "--alpha must be strictly between 0 and 1, got 0"),
    ("citizen_equivalence", ["--alpha", "nan"], "--alpha must be strictly between 0 and 1, got nan"),
    ("citizen_equivalence", ["--scenarios", "flood_town", "nope"], "--scenarios nope:"),
    ("citizen_equivalence", ["--scenarios", "finance_momentum"], "this is a finance config"),
    ("citizen_equivalence", ["--out", A_FILE], f"--out {A_FILE}: is a file, not a folder"),
    ("flood_overload", ["--out", A_FILE], f"--out {A_FILE}: is a file, not a folder"),
    ("flood_overload", ["--seed", "-1"], "seed: Input should be greater than or equal to 0 (got -1)"),
    ("flood_overload", ["--set", "nope=1"], "nope: unknown key"),
    ("latency_sweep", ["--replications", "0"], "--replications must be >= 1, got 0"),
    ("latency_sweep", ["--delays", "1,x"], "--delays: 'x' is not a number"),
    ("latency_sweep", ["--delays=-1"], "--delays: each must be a finite number >= 0, got -1"),
    ("latency_sweep", ["--delays", "nan"], "--delays: each must be a finite number >= 0, got nan"),
    ("latency_sweep", ["--delays", "4,4"], "--delays: each delay once, got 4,4"),
    ("latency_sweep", ["--grace", "0"], "--grace must be a finite number > 0, got 0"),
    ("latency_sweep", ["--grace", "inf"], "--grace must be a finite number > 0, got inf"),
    ("latency_sweep", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("latency_sweep", ["--seed", "-1"], "--seed must be >= 0, got -1"),
    ("latency_sweep", ["--out", A_FILE], f"--out {A_FILE}: is a file, not a folder"),
    ("orchestration_finance", ["--days", "0"], "--days must be >= 1, got 0"),
    ("orchestration_finance", ["--show", "-1"], "--show must be >= 0, got -1"),
    ("orchestration_finance", ["--fault-rate", "1.5"], "--fault-rate must be a number from 0 to 1, got 1.5"),
    ("orchestration_finance", ["--fault-rate", "nan"], "--fault-rate must be a number from 0 to 1, got nan"),
    (
        "orchestration_finance",
        ["--researcher-failure", "-0.1"],
        "--researcher-failure must be a number from 0 to 1, got -0.1",
    ),
    ("orchestration_stress", ["--replications", "0"], "--replications must be >= 1, got 0"),
    ("orchestration_stress", ["--tasks", "0"], "--tasks must be >= 1, got 0"),
    ("orchestration_stress", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("orchestration_stress", ["--out", A_FILE], f"--out {A_FILE}: is a file, not a folder"),
    ("ottochain_traffic", ["--population", "2"], "--population: population: Input should be greater than"),
    ("ottochain_traffic", ["--population", "100000000"], "--population: population: Input should be less"),
    ("ottochain_traffic", ["--generations", "0"], "--generations: generations: Input should be greater"),
    (
        "ottochain_traffic",
        ["--outage-population", "-1"],
        "--outage-population: population: Input should be greater than or equal to 4 (got -1)",
    ),
    (
        "ottochain_traffic",
        ["--outage-generations", "0"],
        "--outage-generations: generations: Input should be greater than or equal to 1 (got 0)",
    ),
    ("ottochain_traffic", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("ottochain_traffic", ["--out", A_FILE], f"--out {A_FILE}: is a file, not a folder"),
    ("tournament", ["--evolve", "0"], "--evolve must be >= 1, got 0"),
    ("tournament", ["--evolve", "-1"], "--evolve must be >= 1, got -1"),
    ("tournament", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("tournament", ["--spec", "/nonexist.yaml"], "/nonexist.yaml: no such tournament spec file"),
    ("tournament", ["--spec", "scenarios/flood_town.yaml"], "game: required key is missing"),
    ("tournament", ["--db", A_FILE, "--out", "results/never-written"], "is not a SQLite database"),
    ("tournament", ["--db", "scenarios", "--out", "results/never-written"], "scenarios: is a directory"),
]


@pytest.mark.parametrize(("module", "argv", "message"), BAD, ids=[" ".join([m, *a]) for m, a, _ in BAD])
def test_a_bad_experiment_argument_is_one_error_line(module, argv, message):
    stderr = refused(f"experiments.{module}", argv, message)
    assert [line for line in stderr.splitlines() if "error:" in line] == [
        next(line for line in stderr.splitlines() if message in line)
    ]
