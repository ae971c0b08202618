"""Bad input to every finance command: one `error:` line naming what is wrong, exit 2, no
traceback, and nothing written (no store created, an existing file left as it was)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.finance.cli import main
from simulator.finance.errors import MarketDataError
from simulator.finance.market import load_csv
from simulator.store import Store, StoreError

SHORT = ["--start", "2009-03-02", "--end", "2009-03-31"]
GOOD_ROW = "2020-01-02,10,11,9,10,100\n"
HEADER = "Date,Open,High,Low,Close,Volume\n"


def refused(capsys, *argv, says: str) -> str:
    """Run a finance command that must refuse: exit 2, one `error:` line containing `says`."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and says in err, err
    return err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- --db ----------------------------------------------------------------------------------
def test_db_that_is_a_directory(capsys, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    for argv in (
        ["finance-run", "--strategy", "momentum", *SHORT],
        ["replay", "sim-000001"],
        ["finance-resume", "sim-000001"],
        ["finance-list"],
    ):
        refused(capsys, *argv, "--db", folder, says=f"{folder}: is a directory; --db takes a SQLite file")
    assert leftovers(folder) == []


def test_db_that_is_not_sqlite_is_left_untouched(capsys, tmp_path):
    db = tmp_path / "notes.sqlite"
    db.write_text("my shopping list\n")
    for argv in (
        ["finance-run", "--strategy", "momentum", *SHORT],
        ["replay", "sim-000001"],
        ["replay", "sim-000001", "--read-only"],
        ["finance-resume", "sim-000001"],
        ["finance-list"],
    ):
        refused(capsys, *argv, "--db", db, says=f"{db}: is not a SQLite database (no SQLite header)")
    assert db.read_text() == "my shopping list\n" and leftovers(tmp_path) == ["notes.sqlite"]


def test_db_that_cannot_be_read(capsys, tmp_path, monkeypatch):
    db = tmp_path / "f.sqlite"
    with Store(db):
        pass
    before = db.read_bytes()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == db else real(p, mode, **kw))
    refused(capsys, "finance-run", "--strategy", "momentum", *SHORT, "--db", db, says="permission denied")
    refused(capsys, "replay", "sim-000001", "--db", db, "--read-only", says=f"{db}: permission denied")
    assert db.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_db_without_read_permission(capsys, tmp_path):
    db = tmp_path / "f.sqlite"
    with Store(db):
        pass
    db.chmod(0)
    try:
        refused(capsys, "finance-list", "--db", db, says="permission denied")
    finally:
        db.chmod(0o600)


def test_db_whose_folder_is_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    refused(
        capsys,
        "finance-run",
        "--strategy",
        "momentum",
        *SHORT,
        "--db",
        tmp_path / "file" / "f.sqlite",
        says="cannot open it as a SQLite store",
    )


@pytest.mark.parametrize(
    "command", [["replay", "sim-000001"], ["finance-resume", "sim-000001"], ["finance-list"]]
)
def test_commands_that_read_a_store_never_create_one(capsys, tmp_path, command):
    db = tmp_path / "missing.sqlite"
    refused(capsys, *command, "--db", db, says=f"{db}: no such store (finance-run --db {db} creates one)")
    assert leftovers(tmp_path) == []


def test_store_api_refuses_the_same(tmp_path):
    with pytest.raises(StoreError, match="no such store"):
        Store.existing(tmp_path / "nope.sqlite")
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)
    assert leftovers(tmp_path) == []


# -- market CSVs -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2020-01-03,10,11,9,12,100\n", ":3: column Close: 12 lies outside the day's Low..High (9 .. 11)"),
        ("2020-01-03,10,11,9,8.5,100\n", ":3: column Close: 8.5 lies outside the day's Low..High (9 .. 11)"),
        ("2020-01-03,12,11,9,10,100\n", ":3: column Open: 12 lies outside the day's Low..High (9 .. 11)"),
    ],
)
def test_csv_with_a_price_outside_low_high(capsys, tmp_path, row, message):
    csv = tmp_path / "x.csv"
    csv.write_text(HEADER + GOOD_ROW + row)
    with pytest.raises(MarketDataError, match="lies outside"):
        load_csv(csv)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"market:\n  symbols: [X]\n  csv: {{X: {csv}}}\n")
    refused(capsys, "finance-run", cfg, "--db", tmp_path / "f.sqlite", says=f"{csv}{message}")
    assert "f.sqlite" not in leftovers(tmp_path)


def test_csv_that_is_binary_or_a_folder(capsys, tmp_path):
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(128, 256)) * 3)
    refused(
        capsys,
        "finance-run",
        "--strategy",
        "momentum",
        "--symbol",
        "B",
        "--set",
        f"market.csv.B={binary}",
        "--db",
        tmp_path / "f.sqlite",
        says=f"{binary}: is not a UTF-8 text file",
    )
    refused(
        capsys,
        "finance-run",
        "--strategy",
        "momentum",
        "--symbol",
        "D",
        "--set",
        f"market.csv.D={tmp_path}",
        "--db",
        tmp_path / "f.sqlite",
        says=f"{tmp_path}: is a directory, not a CSV file",
    )
    assert "f.sqlite" not in leftovers(tmp_path)


# -- finance-run's other inputs ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--strategy", "nope"], "strategy.name: unknown strategy 'nope'; allowed: buy_and_hold"),
        (["--strategy", "momentum", "--param", "lookback=1"], "strategy.params.lookback: Input should be"),
        (
            ["--strategy", "momentum", "--param", "nope=1"],
            "strategy.params.nope: Extra inputs are not permitted",
        ),
        (["--strategy", "momentum", "--param", "lookback=abc"], "strategy.params.lookback: Input should be"),
        (
            ["--strategy", "momentum", "--param", "weight=.nan"],
            "strategy.params.weight: Input should be a finite",
        ),
        (["--strategy", "mean_reversion", "--param", "exit_z=3"], "exit_z (3.0) must be below entry_z"),
        (
            ["--strategy", "momentum", "--seed", "-1"],
            "seed: Input should be greater than or equal to 0 (got -1)",
        ),
        (["--strategy", "momentum", "--capital", "nan"], "initial_capital: Input should be a finite number"),
        (
            ["--strategy", "momentum", "--capital", "0.001"],
            "initial_capital: Input should be greater than or",
        ),
        (["--strategy", "momentum", "--start", "2015-13-01"], "market.start: Input should be a valid date"),
        (["--strategy", "momentum", "--start", "yesterday"], "market.start: Input should be a valid date"),
        (["--strategy", "momentum", "--start", "2030-01-02"], "market.start 2030-01-02 is outside the data"),
        (["--strategy", "momentum", "--end", "1980-01-02"], "market.end 1980-01-02 is outside the data"),
        (
            ["--strategy", "momentum", "--start", "2012-01-02", "--end", "2011-01-03"],
            "market: start 2012-01-02 is after end 2011-01-03",
        ),
        (["--strategy", "momentum", "--start", "2018-12-31"], "holds 1 trading day(s); needs at least 2"),
        (["--strategy", "momentum", "--symbol", "sp500", "--symbol", "sp500"], "market.symbols: duplicates"),
        (["--strategy", "momentum", "--set", "seed.x=1"], "seed: Input should be a valid integer"),
        (["--strategy", "momentum", "--set", "nope=1"], "nope: Extra inputs are not permitted"),
        (["--strategy", "momentum", "--set", "strategy.risk_profile=wild"], "unknown risk profile 'wild'"),
        (["--strategy", "momentum", "--set", "services"], "--set 'services': expected KEY=VALUE"),
    ],
)
def test_finance_run_bad_input(capsys, tmp_path, args, says):
    refused(capsys, "finance-run", *args, "--db", tmp_path / "f.sqlite", says=says)
    assert leftovers(tmp_path) == []


def test_finance_run_bad_config_files_and_out(capsys, tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00seed: 1\n\xc0")
    refused(
        capsys, "finance-run", binary, "--db", tmp_path / "f.sqlite", says=f"{binary}: is not a UTF-8 text"
    )
    refused(
        capsys, "finance-run", tmp_path / "none.yaml", "--db", tmp_path / "f.sqlite", says="no such config"
    )
    refused(
        capsys,
        "finance-run",
        "--strategy",
        "momentum",
        *SHORT,
        "--db",
        tmp_path / "f.sqlite",
        "--out",
        binary / "run",
        says=f"--out {binary / 'run'}: cannot make the folder: {binary} is a file",
    )
    assert leftovers(tmp_path) == ["bin.yaml"]


# -- replay and finance-resume on a real store ------------------------------------------------
def test_replay_and_resume_bad_references(capsys, tmp_path):
    db = tmp_path / "f.sqlite"
    assert main(["finance-run", "--strategy", "momentum", *SHORT, "--db", str(db), "--quiet"]) == 0
    capsys.readouterr()
    refused(capsys, "replay", "sim-000009", "--db", db, says="unknown simulation 'sim-000009'")
    refused(capsys, "replay", "sim-000001", "--from", "abc", "--db", db, says="has no checkpoint 'abc'")
    refused(capsys, "replay", "sim-000001", "--from", "-9999", "--db", db, says="has no checkpoint '-9999'")
    refused(
        capsys, "replay", "sim-000001", "--head", "abc", "--db", db, says="--head 'abc': expected a chain"
    )
    refused(capsys, "finance-resume", "sim-000009", "--db", db, says="unknown simulation 'sim-000009'")
    refused(capsys, "finance-resume", "sim-000001", "--db", db, says="is completed: nothing to resume")
    with Store.reader(db) as s:
        assert s.get_simulation("sim-000001")["status"] == "completed"


# -- help ----------------------------------------------------------------------------------
def test_every_option_of_every_finance_command_has_help():
    import argparse

    from simulator.finance.cli import register_cli

    parser = argparse.ArgumentParser()
    commands: dict = {}
    sub = parser.add_subparsers(dest="command")
    register_cli(sub, commands)
    assert set(commands) == {"finance-run", "replay", "finance-resume", "finance-list", "finance-strategies"}
    for name in commands:
        command = sub.choices[name]
        assert command.description, name
        for action in command._actions:
            assert action.help and len(action.help) > 10, (name, action.dest)


def test_db_of_another_program_or_empty_is_not_written(capsys, tmp_path):
    import sqlite3

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.close()
    before = other.read_bytes()
    refused(
        capsys,
        "finance-run",
        "--strategy",
        "momentum",
        *SHORT,
        "--db",
        other,
        says=f"{other}: is a SQLite database of something else (tables: recipes)",
    )
    refused(capsys, "finance-list", "--db", other, says="is a SQLite database of something else")
    assert other.read_bytes() == before and leftovers(tmp_path) == ["other.sqlite"]
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    refused(capsys, "replay", "sim-000001", "--db", empty, says=f"{empty}: is an empty database, not a store")
    refused(capsys, "finance-resume", "sim-000001", "--db", empty, says="is an empty database, not a store")
    assert empty.read_bytes() == b"" and leftovers(tmp_path) == ["empty.sqlite", "other.sqlite"]
