"""What the finance commands print for a person: the run's one-line result with its figures,
the store listing, the strategy list, and each bad flag as one `error:` line naming it."""

from __future__ import annotations

import json
import os

import pytest

from simulator.finance.cli import RESUMABLE, main
from simulator.finance.strategies import STRATEGIES
from simulator.store import Store

SHORT = ["--start", "2009-03-02", "--end", "2009-04-30"]
RUN = ["finance-run", "--strategy", "momentum", "--param", "lookback=10", *SHORT, "--seed", "4"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_text_result_quotes_the_runs_figures(capsys, tmp_path):
    db = tmp_path / "f.sqlite"
    code, text, _ = run_cli(capsys, *RUN, "--db", db, "--json")
    summary = json.loads(text)
    o = summary["outcomes"]
    code, text, err = run_cli(capsys, *RUN, "--db", db)
    assert code == 0 and err == ""
    assert text.splitlines() == [
        f"sim-000002 completed: momentum on sp500, {o['cycles']} days, {o['checkpoints']} checkpoints; "
        f"capital {o['initial_capital']:,.2f} -> {o['final_capital']:,.2f} "
        f"(roi {o['roi']:+.2%}, sharpe {o['sharpe_ratio']:.2f}, max drawdown {o['max_drawdown']:.2%}, "
        f"{o['total_trades']} trades, win rate {o['win_rate']:.0%}, fees {o['fees']:,.2f})",
        f"chain head {o['chain_head']}  (db {db}; replay: simulator replay sim-000002)",
    ]
    assert summary["simulation_id"] == "sim-000001" and summary["status"] == "completed"
    assert summary["world"] == "finance" and summary["seed"] == 4 and summary["db"] == str(db)
    assert summary["chain_head"] == o["chain_head"] and "phase_returns" not in o
    assert set(summary["versions"]) >= {"numpy", "simpy"}
    code, text, _ = run_cli(capsys, *RUN, "--db", db, "--quiet")
    assert code == 0 and text == ""


def test_the_listing_shows_each_run_and_how_to_resume_a_broken_one(capsys, tmp_path):
    db = tmp_path / "f.sqlite"
    run_cli(capsys, *RUN, "--db", db, "--quiet", "--name", "first")
    run_cli(capsys, *RUN, "--db", db, "--quiet")
    with Store(db) as store:
        store.conn.execute("UPDATE simulations SET status = 'failed' WHERE id = 'sim-000002'")
    code, text, _ = run_cli(capsys, "finance-list", "--db", db, "--json")
    rows = {r["id"]: r for r in json.loads(text)}
    code, text, _ = run_cli(capsys, "finance-list", "--db", db)
    assert code == 0
    lines = text.splitlines()
    one, two = rows["sim-000001"], rows["sim-000002"]
    assert lines == [
        f"sim-000001  completed   {one['checkpoints']:>7} checkpoints  seed 4  "
        f"capital {one['initial_capital']:,.2f} -> {one['final_capital']:,.2f}  first",
        f"sim-000002  failed      {two['checkpoints']:>7} checkpoints  seed 4  "
        f"capital {two['initial_capital']:,.2f} -> {two['final_capital']:,.2f}  "
        f"{two['name'] or ''}  (simulator finance-resume sim-000002 --db {db})",
    ]
    assert RESUMABLE == ("interrupted", "failed")


def test_the_strategy_list_names_each_with_its_profile_description_and_defaults(capsys):
    code, text, _ = run_cli(capsys, "finance-strategies")
    assert code == 0
    lines = text.splitlines()
    assert len(lines) == 2 * len(STRATEGIES)
    for i, cls in enumerate(STRATEGIES.values()):
        d = cls.describe()
        assert lines[2 * i] == f"{d['name']:<18} [{d['risk_profile']}] {d['description']}"
        params = ", ".join(f"{k}={v['default']}" for k, v in d["parameters"].items())
        assert lines[2 * i + 1] == " " * 18 + " " + params
    code, text, _ = run_cli(capsys, "finance-strategies", "--json")
    data = json.loads(text)
    assert [s["name"] for s in data["strategies"]] == [c.describe()["name"] for c in STRATEGIES.values()]
    assert "conservative" in data["risk_profiles"] or data["risk_profiles"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--set", "seed"],
            "error: --set 'seed': expected KEY=VALUE, e.g. services.exchange.fee_rate=0.001\n",
        ),
        (["--param", "x"], "error: --param 'x': expected NAME=VALUE, e.g. lookback=20\n"),
        (
            ["--set", "executor.record_events=false", "--out", "OUT"],
            "error: --out writes the per-event metrics.csv: it needs executor.record_events: true\n",
        ),
    ],
)
def test_a_bad_flag_is_one_error_line(capsys, tmp_path, extra, message):
    extra = [str(tmp_path / "o") if x == "OUT" else x for x in extra]
    code, out, err = run_cli(capsys, *RUN, "--db", tmp_path / "f.sqlite", *extra)
    assert (code, out, err) == (2, "", message)
    assert not (tmp_path / "f.sqlite").exists() and not (tmp_path / "o").exists()


def test_an_out_folder_that_cannot_be_made_says_why(capsys, tmp_path):
    db = tmp_path / "f.sqlite"
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run_cli(capsys, *RUN, "--db", db, "--out", afile)
    assert code == 2
    assert err == f"error: --out {afile}: is a file; --out takes a folder for metrics.csv and summary.json\n"
    code, _, err = run_cli(capsys, *RUN, "--db", db, "--out", afile / "sub" / "dir")
    assert err == f"error: --out {afile / 'sub' / 'dir'}: cannot make the folder: {afile} is a file\n"
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, _, err = run_cli(capsys, *RUN, "--db", db, "--out", locked / "x")
        assert err == f"error: --out {locked / 'x'}: cannot make the folder: {locked} is not writable\n"
    assert not db.exists()
    code, _, _ = run_cli(capsys, *RUN, "--db", db, "--out", tmp_path / "new" / "deep", "--quiet")
    assert code == 0 and (tmp_path / "new" / "deep" / "metrics.csv").is_file()
    assert (tmp_path / "new" / "deep" / "summary.json").read_text().endswith("}\n")


def test_a_replay_head_must_be_64_hex_digits(capsys, tmp_path):
    code, _, err = run_cli(capsys, "replay", "sim-000001", "--head", "ABC", "--db", tmp_path / "f.sqlite")
    assert (code, err) == (2, "error: --head 'ABC': expected a chain head, 64 hex digits (sha256)\n")
    code, _, err = run_cli(capsys, "replay", "sim-000001", "--head", "A" * 64, "--db", tmp_path / "f.sqlite")
    assert code == 2 and "64 hex digits" in err


def test_a_resumed_run_says_its_checkpoints_and_head(capsys, tmp_path):
    from simulator.finance import SimulationRuntime

    from .test_finance_support import FAULTY, make_config

    db = tmp_path / "f.sqlite"
    with Store(db) as s:
        part = SimulationRuntime(s).run(make_config(FAULTY), stop_after=20)
    code, text, _ = run_cli(capsys, "finance-resume", part.simulation_id, "--db", db)
    with Store(db) as s:
        chain = s.get_checkpoint_chain(part.simulation_id)
        result = s.get_simulation(part.simulation_id)["result"]
    assert code == 0 and len(chain) == result["checkpoints"]
    assert (
        text
        == f"{part.simulation_id} completed: {len(chain)} checkpoints, chain head {result['chain_head']}\n"
    )
