"""The benchmarks refuse bad arguments with one error line (exit 2), before any run."""

from __future__ import annotations

import pytest

from .refusals import ROOT, refused

BAD = [
    ("flood_city_throughput", ["--until", "0"], "--until must be a finite number > 0"),
    ("flood_city_throughput", ["--until", "nan"], "--until must be a finite number > 0"),
    ("flood_city_throughput", ["--repeats", "0"], "--repeats must be >= 1"),
    ("flood_city_throughput", ["--events", "-1"], "--events must be >= 0"),
    ("flood_city_throughput", ["--one", "fastest"], "invalid choice: 'fastest'"),
    ("simpy_floor", ["--until", "-1"], "--until must be a finite number > 0"),
    ("simpy_floor", ["--citizens", "0"], "--citizens must be >= 1"),
    ("simpy_floor", ["--repeats", "0"], "--repeats must be >= 1"),
    ("simpy_floor", ["--processes", "20000"], "--processes must be 0 (one per citizen) to --citizens"),
    ("ottochain_traffic", ["--rounds", "0"], "--rounds must be >= 1"),
    ("ottochain_traffic", ["--upstream", "-1"], "--upstream must be >= 0"),
    ("ottochain_traffic", ["--generations", "0"], "generations: Input should be greater than or equal to 1"),
    ("ottochain_traffic", ["--population", "2"], "population: Input should be greater than or equal to 4"),
    ("ottochain_traffic", ["--episode", "nan"], "episode: Input should be a finite number"),
    ("ottochain_traffic", ["--episode", "1e12"], "episode: Input should be less than or equal to 86400"),
    ("finance_20y", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("finance_20y", ["--batch", "0"], "--batch must be >= 1, got 0"),
    ("finance_20y", ["--strategy", "nope"], "argument --strategy: invalid choice: 'nope'"),
    ("tournament_trading", ["--year", "1800"], "--year 1800: market.start 1800-01-01 is outside the data"),
    ("tournament_trading", ["--year", "2030"], "--year 2030: market.start 2030-01-01 is outside the data"),
    ("tournament_trading", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("tournament_trading", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("tournament_trading", ["--players", "1"], "--players must be 2 to 66, got 1"),
    ("tournament_trading", ["--players", "100"], "--players must be 2 to 66, got 100"),
    ("orchestration_nested", ["--customers", "-1"], "--customers must be >= 1, got -1"),
    ("orchestration_nested", ["--tasks", "0"], "--tasks must be >= 1, got 0"),
    ("orchestration_nested", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("gat_10k", ["--layers", "0"], "--layers must be >= 2, got 0"),
    ("gat_10k", ["--nodes", "5"], "--nodes must be >= 10 x --layers (100), got 5"),
    ("gat_10k", ["--nodes", "20", "--layers", "2", "--seed", "1"], "no failure spread; use more nodes"),
    ("gat_10k", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("gat_10k", ["--betweenness-k", "0"], "--betweenness-k must be >= 1, got 0"),
    ("gat_10k", ["--max-hops", "0"], "--max-hops must be >= 1, got 0"),
    ("gat_10k", ["--seed", "-1"], "--seed must be >= 0, got -1"),
    ("batch_speedup", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("batch_speedup", ["-n", "0"], "--replications must be >= 1, got 0"),
    ("batch_speedup", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("batch_speedup", ["--seed", "-1"], "--seed must be >= 0, got -1"),
    ("batch_speedup", ["--fn", "nope"], "--fn 'nope': must look like 'package.module:function'"),
    ("batch_speedup", ["--fn", "os:nope"], "--fn 'os:nope': module 'os' has no attribute 'nope'"),
    ("batch_speedup", ["--fn", "nosuchmodule:f"], "--fn 'nosuchmodule:f': No module named 'nosuchmodule'"),
    ("batch_speedup", ["--fn", "os:sep"], "--fn 'os:sep': sep in os is not a function"),
    ("batch_speedup", ["--params", "[1"], "--params is not valid JSON/YAML"),
    ("batch_speedup", ["--params", "[1]"], "--params must be a mapping"),
    ("batch_speedup", ["--set", "hours"], "--set expects PATH=VALUE, got 'hours'"),
    ("batch_speedup", ["--set", "a b=1"], "--set 'a b=1': bad parameter path 'a b'"),
    ("batch_speedup", ["--scenario", "/nonexist.yaml"], "--scenario: /nonexist.yaml: no such scenario file"),
    (
        "batch_speedup",
        ["--scenario", "scenarios/flood_town.yaml", "--set", "until=-5"],
        "until: Input should be greater than 0 (got -5)",
    ),
    (
        "batch_speedup",
        ["--set", "customers=abc"],
        "fails with these parameters: ValueError: invalid literal for int() with base 10: 'abc'",
    ),
    (
        "batch_speedup",
        ["--fn", "simulator.batch.examples:noisy_mean"],
        "noisy_mean fails with these parameters: KeyError: 'mu'",
    ),
    ("metropolis", ["--until", "0"], "--until must be a finite number > 0, got 0"),
    ("metropolis", ["--until", "nan"], "--until must be a finite number > 0, got nan"),
    ("metropolis", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("metropolis", ["--scenario", "/nonexist.yaml"], "--scenario: /nonexist.yaml: no such scenario file"),
    ("metropolis", ["--scenario", "scenarios/finance_momentum.yaml"], "this is a finance config"),
    ("metropolis", ["--keep", "pyproject.toml"], "--keep pyproject.toml: is a file, not a folder"),
    ("kernel_overhead", ["--customers", "0"], "--customers must be >= 1, got 0"),
    ("kernel_overhead", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("tournament_ipd", ["--repetitions", "0"], "--repetitions must be >= 1, got 0"),
    ("tournament_ipd", ["--repeats", "0"], "--repeats must be >= 1, got 0"),
    ("tournament_ipd", ["--workers", "0"], "--workers must be >= 1, got 0"),
    ("mutation_score", ["--sample", "-1"], "--sample must be >= 0, got -1"),
    ("mutation_score", ["--skip", "-1"], "--skip must be >= 0, got -1"),
    ("mutation_score", ["--children", "0"], "--children must be >= 1, got 0"),
    ("mutation_score", ["--packages", "engine,nope"], "--packages: unknown 'nope'; allowed: engine, infra"),
    ("mutation_score", ["--in-order", "/nonexist"], "--in-order /nonexist: no such file"),
]


@pytest.mark.parametrize(("module", "argv", "message"), BAD, ids=[" ".join([m, *a]) for m, a, _ in BAD])
def test_a_bad_benchmark_argument_is_one_error_line(module, argv, message):
    refused(f"benchmarks.{module}", argv, message)


def test_a_failing_inner_run_shows_its_own_error_line(capsys):
    """metropolis runs `simulator run` in a child: its error line and exit code come through,
    not a FileNotFoundError about the summary the failed run never wrote."""
    from benchmarks.metropolis import measured

    with pytest.raises(SystemExit) as exit:
        measured(["run", "scenarios/flood_town.yaml", "--out", "unused", "--until", "-1", "--quiet"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "error: scenarios/flood_town.yaml: until: Input should be greater than 0" in err
    assert not (ROOT / "unused").exists()
