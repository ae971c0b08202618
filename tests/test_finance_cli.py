"""Configs, example scenarios, the finance CLI commands, and one-line errors on bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from simulator.engine import chain_of_file
from simulator.finance import ConfigError, SimulationRuntime, load_config, load_market, parse_config
from simulator.finance.cli import main, register_cli
from simulator.store import Store

from .test_finance_support import FAULTY, make_config

ROOT = Path(__file__).resolve().parent.parent
SHORT = ["--start", "2009-03-02", "--end", "2009-04-30"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("finance_*.yaml")), ids=lambda p: p.name)
def test_example_scenarios_validate_and_load(path):
    config = load_config(path)
    market = load_market(config)
    assert market.days > 100 and config.market.symbols == market.symbols


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"initial_capital": -5}, "initial_capital: Input should be greater than or equal to 1 (got -5)"),
        (
            {"market": {"symbols": ["sp500", "FOO"]}},
            "market.symbols[1]: unknown symbol 'FOO'; allowed: arch series nasdaq, sp500, vix, wti, "
            "or a name defined under market.csv or market.synthetic",
        ),
        (
            {"services": {"payments": {"failure_rate": 1.5}}},
            "services.payments.failure_rate: Input should be less than or equal to 1 (got 1.5)",
        ),
        (
            {"services": {"exchange": {"slipage_bps": 3}}},
            "services.exchange.slipage_bps: Extra inputs are not permitted (got 3)",
        ),
        (
            {"strategy": {"name": "momentum", "params": {"lookback": 0}}},
            "strategy.params.lookback: Input should be greater than or equal to 2 (got 0)",
        ),
        (
            {"strategy": {"risk_profile": "yolo"}},
            "strategy.risk_profile: unknown risk profile 'yolo'; allowed: conservative, moderate, aggressive",
        ),
        (
            {"market": {"start": "2010-05-01", "end": "2010-01-01"}},
            "market: start 2010-05-01 is after end 2010-01-01",
        ),
        (
            {"executor": {"checkpoint_batch": 0}},
            "executor.checkpoint_batch: Input should be greater than or equal to 1 (got 0)",
        ),
    ],
)
def test_config_errors_are_one_line_and_name_the_path(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert str(err.value) == message


def test_yaml_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\nmarket: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: invalid YAML"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping at the top level, got list"):
        load_config(bad)
    bad.write_text("initial_capital: -1\n")
    with pytest.raises(ConfigError, match=r"^.*bad.yaml: initial_capital: Input should be greater than"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_csv_paths_resolve_against_the_config_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text(
        "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,1,2,0\n2020-01-03,2,3,1,2,0\n"
    )
    (tmp_path / "c.yaml").write_text("market:\n  symbols: [X]\n  csv: {X: data/x.csv}\n")
    market = load_market(load_config(tmp_path / "c.yaml"))
    assert market.days == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--strategy", "momentum", "--capital", "-5"],
            "error: initial_capital: Input should be greater than or equal to 1 (got -5.0)",
        ),
        (["--strategy", "momentum", "--symbol", "FOO"], "error: market.symbols[0]: unknown symbol 'FOO'"),
        (
            ["--strategy", "momentum", "--start", "1990-01-02", "--end", "1990-12-31"],
            "error: market.start 1990-01-02 is outside the data (1999-01-04 .. 2018-12-31 for sp500)",
        ),
        (["--strategy", "nope"], "error: strategy.name: unknown strategy 'nope'"),
        (["--strategy", "momentum", "--param", "lookback"], "error: --param 'lookback': expected NAME=VALUE"),
        ([], "error: finance-run: give a config file or --strategy NAME"),
    ],
)
def test_cli_bad_input_is_one_line_on_stderr_with_exit_2(capsys, tmp_path, args, message):
    code, out, err = run_cli(capsys, "finance-run", *args, "--db", tmp_path / "f.sqlite")
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_cli_malformed_csv(capsys, tmp_path):
    csv = tmp_path / "broken.csv"
    csv.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,1,2,0\n2020-01-03,1,2,1,oops,0\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"market:\n  symbols: [B]\n  csv: {{B: {csv}}}\n")
    code, _, err = run_cli(capsys, "finance-run", cfg, "--db", tmp_path / "f.sqlite")
    assert code == 2 and err == f"error: {csv}:3: column Close: cannot parse 'oops' as a number\n"


def test_cli_run_out_folder_and_replay(capsys, tmp_path):
    db, out = tmp_path / "f.sqlite", tmp_path / "run"
    code, text, _ = run_cli(
        capsys,
        "finance-run",
        "--strategy",
        "ma_trend",
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        *SHORT,
        "--seed",
        3,
        "--set",
        "services.exchange.reject_rate=0.1",
        "--db",
        db,
        "--out",
        out,
    )
    assert code == 0 and text.startswith("sim-000001 completed: ma_trend on sp500, 43 days, 258 checkpoints")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["strategy"]["params"] == {"fast": 5, "slow": 20}
    assert summary["config"]["services"]["exchange"]["reject_rate"] == 0.1
    head, count = chain_of_file(out / "metrics.csv")  # the per-event record verifies the file
    assert head == summary["record_chain_head"] and count > 43 * 10
    code, text, _ = run_cli(capsys, "replay", "sim-000001", "--from", 100, "--db", db, "--json")
    report = json.loads(text)
    assert code == 0 and report["valid"] and report["original_count"] == 258 and report["from_index"] == 100
    with Store(db) as s:
        s.conn.execute(
            "UPDATE checkpoints SET data = replace(data, '\"cycle\":', '\"cycle\": ') WHERE phase_index = 30"
        )
    code, text, _ = run_cli(capsys, "replay", "sim-000001", "--db", db, "--read-only")
    assert code == 1 and json.loads(text)["first_mismatch"] == 30
    code, _, err = run_cli(capsys, "replay", "sim-999999", "--db", db)
    assert code == 2 and err.startswith("error: unknown simulation 'sim-999999'")
    code, _, err = run_cli(capsys, "replay", "sim-000001", "--from", 999, "--db", db)
    assert code == 2 and err == "error: simulation sim-000001 has no checkpoint '999'\n"


def test_cli_same_seed_same_chain_and_resume(capsys, tmp_path):
    db = tmp_path / "f.sqlite"
    for _ in range(2):
        code, text, _ = run_cli(
            capsys,
            "finance-run",
            "--strategy",
            "momentum",
            "--param",
            "lookback=10",
            *SHORT,
            "--db",
            db,
            "--json",
        )
        assert code == 0
    with Store(db) as s:
        assert s.get_checkpoint_chain("sim-000001") == s.get_checkpoint_chain("sim-000002")
        part = SimulationRuntime(s).run(make_config(FAULTY), stop_after=33)
    code, text, _ = run_cli(capsys, "finance-resume", part.simulation_id, "--db", db)
    assert code == 0 and f"{part.simulation_id} completed" in text
    code, text, _ = run_cli(capsys, "replay", part.simulation_id, "--from", 33, "--db", db)
    assert code == 0


def test_strategies_listing_and_registration_forms(capsys):
    code, text, _ = run_cli(capsys, "finance-strategies", "--json")
    listing = json.loads(text)
    assert code == 0 and {s["name"] for s in listing["strategies"]} >= {"momentum", "risk_parity"}
    parser = argparse.ArgumentParser()
    commands: dict = {}
    register_cli(parser.add_subparsers(dest="command"), commands)  # the `simulator` CLI's form
    assert {"finance-run", "replay", "finance-resume", "finance-strategies"} <= set(commands)
    args = parser.parse_args(["replay", "sim-000001", "--from", "5", "--db", "x.sqlite"])
    assert (args.simulation_id, args.from_checkpoint, args.db) == ("sim-000001", "5", "x.sqlite")
    assert args.handler.__name__ == "cmd_replay"


def test_progress_bar_only_on_a_terminal(capsys, tmp_path, monkeypatch):
    import io

    argv = ["finance-run", "--strategy", "momentum", *SHORT, "--db", tmp_path / "f.sqlite"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and err == ""  # stderr is not a terminal here: no bar

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert main([str(a) for a in argv]) == 0
    assert "43/43" in tty.getvalue() and "day" in tty.getvalue()  # one tick per trading day
    tty.truncate(0)
    assert main([str(a) for a in argv] + ["--quiet"]) == 0 and tty.getvalue() == ""
