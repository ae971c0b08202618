"""`simulator batch SPEC` runs every world: the world from the spec, sweeps checked against
that world's own schema, identical results on serial, processes and Dask."""

from __future__ import annotations

import json

import pytest
import yaml

from simulator.batch import get_world, read_json, without_timing
from simulator.batch.worlds import detect_world, spec_worlds
from simulator.cli import main

from .conftest import SCENARIOS


def spec(world: str) -> dict:
    """A tiny spec of `world` (runs in well under a second)."""
    if world == "infra":
        data = yaml.safe_load((SCENARIOS / "flood_town.yaml").read_text())
        data["until"] = 20
        return data
    if world == "finance":
        data = yaml.safe_load((SCENARIOS / "finance_momentum.yaml").read_text())
        data["market"].update(start="2006-01-03", end="2006-01-31")
        data["strategy"]["params"].update(lookback=3, threshold=0.0)
        data["team"] = {"fault_rate": 0.2}
        return data
    if world == "orchestration":
        data = yaml.safe_load((SCENARIOS / "orchestration_desk.yaml").read_text())
        data["tasks"]["count"] = 6
        return data
    return {"population": 6, "generations": 2, "episode": 150.0, "bridge": {"error_rate": 0.05}}


SWEEPS = {
    "infra": "until=10,20",
    "finance": "team.fault_rate=0,0.6",
    "orchestration": "faults.failure=0,0.3",
    "ottochain_traffic": "bridge.error_rate=0,0.3",
}


def write(tmp_path, data, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def batch(*argv) -> int:
    return main(["batch", *map(str, argv), "--quiet"])


def test_the_registry_detects_each_world_from_its_keys():
    assert spec_worlds() == ["finance", "infra", "orchestration", "ottochain_traffic"]
    for world in spec_worlds():
        assert detect_world(spec(world)) == world
    assert detect_world({"name": "x"}) is None
    assert detect_world({"strategy": {}, "patterns": {}}) is None  # two worlds' keys: ambiguous


@pytest.mark.parametrize("world", sorted(SWEEPS))
def test_every_world_runs_a_sweep_from_the_cli(world, tmp_path):
    out = tmp_path / "out"
    assert batch(write(tmp_path, spec(world)), "-n", 2, "--sweep", SWEEPS[world], "--out", out) == 0
    results = read_json(out / "batch_results.json")
    path = SWEEPS[world].split("=")[0]
    assert [r["status"] for r in results] == ["ok"] * 4
    values = SWEEPS[world].split("=")[1].split(",")
    assert [str(r["overrides"][path]) for r in results] == [values[0]] * 2 + [values[1]] * 2
    entry = get_world(world)
    names = set(entry.outcome_names())
    assert all(set(r["outcomes"]) <= names for r in results)
    if world != "infra":  # infra leaves first_failure_at out of runs without a failure
        assert set(results[0]["outcomes"]) == names  # the declared names are what runs return
    # replicate r has the same seed at every point (common random numbers), and the swept value
    # reaches the run: the points differ
    assert results[0]["seed"] == results[2]["seed"] != results[1]["seed"]
    assert results[0]["outcomes"] != results[2]["outcomes"]
    summary = (out / "batch_summary.csv").read_text()
    assert path in summary.splitlines()[0]


def test_a_finance_team_sweep_changes_what_the_desk_trades(tmp_path):
    out = tmp_path / "out"
    data = spec("finance")
    data["team"] = {"agents": {"researcher": {"failure_rate": 0.0}}}
    assert batch(write(tmp_path, data), "-n", 1, "--sweep", "team.agents.researcher.failure_rate=0,1",
                 "--out", out) == 0
    trades = [r["outcomes"]["total_trades"] for r in read_json(out / "batch_results.json")]
    assert trades[0] > 0 and trades[1] == 0  # a plan pipeline whose researcher always fails


@pytest.mark.parametrize("world", ["finance", "orchestration", "ottochain_traffic"])
def test_same_results_on_serial_processes_and_dask(world, tmp_path):
    path = write(tmp_path, spec(world))
    found = {}
    for backend in ("serial", "processes", "dask"):
        out = tmp_path / backend
        argv = ["-n", 2, "--sweep", SWEEPS[world], "--backend", backend, "--out", out]
        assert batch(path, *argv, *(["--workers", 2] if backend != "serial" else [])) == 0
        results = read_json(out / "batch_results.json")
        csv = (out / "batch_results.csv").read_text().splitlines()
        found[backend] = (
            json.dumps(without_timing(results), sort_keys=True),
            [line.rsplit(",", 1)[0] for line in csv],  # the last column is the wall-clock duration
            (out / "batch_summary.csv").read_bytes(),
        )
    assert found["serial"] == found["processes"] == found["dask"]
    results = read_json(tmp_path / "serial" / "batch_results.json")
    key = {"ottochain_traffic": "head48", "orchestration": "events", "finance": "total_trades"}[world]
    assert len({r["outcomes"][key] for r in results}) > 1  # the runs really differ


def test_the_world_key_or_flag_names_the_world(tmp_path):
    data = {**spec("orchestration"), "world": "orchestration"}
    assert batch(write(tmp_path, data), "-n", 1, "--out", tmp_path / "a") == 0
    plain = write(tmp_path, spec("orchestration"), "plain.yaml")
    assert batch(plain, "-n", 1, "--world", "orchestration", "--out", tmp_path / "b") == 0
    assert read_json(tmp_path / "a" / "batch_results.json")[0]["outcomes"] == read_json(
        tmp_path / "b" / "batch_results.json"
    )[0]["outcomes"]


BAD = {
    "unknown top-level key": (
        "ottochain_traffic", ["--sweep", "bridges.error_rate=0.1"],
        "sweep: bridges.error_rate: unknown ottochain_traffic key 'bridges' (allowed: name, mode, population",
    ),
    "unknown nested key": (
        "orchestration", ["--sweep", "faults.fail=0.1"],
        "no key 'fail' under faults (known: exception, failure, timeout)",
    ),
    "value out of range": (
        "ottochain_traffic", ["--sweep", "bridge.error_rate=0.1,2"],
        "at sweep point bridge.error_rate=2: bridge.error_rate: Input should be less than or equal to 1",
    ),
    "seed": ("orchestration", ["--sweep", "seed=1,2"], "sweep: seed: has no effect (each run's seed comes"),
    "finance team agent": (
        "finance", ["--sweep", "team.agents=1"],
        "team.agents: Input should be a valid dictionary",
    ),
    "finance unknown key": (
        "finance", ["--sweep", "executor.pol=1"],
        "no key 'pol' under executor (known: checkpoint_batch, limit_offset_bps, order_type",
    ),
    "outcome to show": (
        "orchestration", ["--show", "nope"], "--show: unknown outcome 'nope' (allowed: tasks,"
    ),
    "world flag": ("orchestration", ["--world", "finance"], "world: 'orchestration' but --world finance"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweeps_are_one_error_line_and_nothing_is_written(case, tmp_path, capsys):
    world, extra, message = BAD[case]
    data = {**spec(world), "world": world}
    out = tmp_path / "out"
    assert batch(write(tmp_path, data), "-n", 2, *extra, "--out", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not out.exists()


def test_a_spec_of_no_known_world_is_refused(tmp_path, capsys):
    assert batch(write(tmp_path, {"name": "x", "agents": 3}), "--out", tmp_path / "o") == 2
    assert "cannot tell its world from its keys (allowed: a top-level `world:` key or --world, one of " \
        "finance, infra, orchestration, ottochain_traffic)" in capsys.readouterr().err
    assert batch(write(tmp_path, {"world": "mars"}), "--out", tmp_path / "o") == 2
    assert "world: unknown world 'mars' (allowed: finance, infra" in capsys.readouterr().err


def test_a_swept_key_named_like_an_outcome_gets_its_own_column():
    from simulator.batch import results_frame

    rows = [
        {"index": i, "point": i, "replication": 0, "seed": 1, "status": "ok", "params": {},
         "overrides": {"generations": g}, "outcomes": {"generations": float(g - 1)}, "error": None,
         "traceback": None, "duration": 0.0}
        for i, g in enumerate((2, 3))
    ]
    frame = results_frame(rows)
    assert list(frame["sweep:generations"]) == [2, 3] and list(frame["generations"]) == [1.0, 2.0]


def test_the_world_key_is_accepted_by_the_worlds_own_commands(tmp_path, capsys):
    from simulator.finance import ConfigError, parse_config

    assert parse_config({"world": "finance"}) == parse_config({})
    with pytest.raises(ConfigError, match="world: 'infra' is not the finance world"):
        parse_config({"world": "infra"})
    path = write(tmp_path, {**spec("orchestration"), "world": "orchestration"})
    assert main(["orchestrate", path, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    bad = write(tmp_path, {**spec("orchestration"), "world": "infra"}, "bad.yaml")
    assert main(["orchestrate", bad, "--out", str(tmp_path / "bad"), "--quiet"]) == 2
    assert "world: 'infra' is not the orchestration world" in capsys.readouterr().err


def test_orchestrate_replications_take_the_batch_checks(tmp_path, capsys):
    path = write(tmp_path, spec("orchestration"))
    out = tmp_path / "out"
    argv = ["orchestrate", path, "-n", "2", "--out", str(out), "--quiet"]
    assert main([*argv, "--workers", "0", "--backend", "processes"]) == 2
    assert "--workers: 0 (allowed: 1 or more" in capsys.readouterr().err
    assert main([*argv, "--sweep", "faults.flure=0.1"]) == 2
    assert "no key 'flure' under faults (known: exception, failure, timeout)" in capsys.readouterr().err
    assert not out.exists()
