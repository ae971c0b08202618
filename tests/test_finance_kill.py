"""A finance run killed with SIGKILL (no chance to record anything) reads as interrupted once
its process is gone, and resumes to the chain of the uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.finance import SimulationRuntime, parse_config
from simulator.finance.cli import main
from simulator.store import Store, StoreError

ROOT = Path(__file__).resolve().parent.parent
# nine years of S&P 500: a run of ~13,500 checkpoints, far from done when it is killed
CONFIG = {
    "seed": 4,
    "market": {"symbols": ["sp500"], "start": "2000-01-03", "end": "2008-12-31"},
    "strategy": {"name": "momentum", "params": {"lookback": 20}},
    "services": {"exchange": {"reject_rate": 0.05}},
    "executor": {"checkpoint_batch": 50},
}
ARGS = [
    "--strategy",
    "momentum",
    "--param",
    "lookback=20",
    "--start",
    "2000-01-03",
    "--end",
    "2008-12-31",
    "--seed",
    "4",
    "--set",
    "services.exchange.reject_rate=0.05",
    "--set",
    "executor.checkpoint_batch=50",
]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _status(db: Path) -> tuple[str, int, dict | None] | None:
    if not db.exists():
        return None
    try:
        store = Store.reader(db)
    except StoreError:  # created, but its tables are not there yet
        return None
    with store as s:
        sims = s.list_simulations()
        if not sims:
            return None
        sim = s.get_simulation(sims[0]["id"])
        return sim["status"], sims[0]["checkpoints"], sim["owner"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_sigkilled_run_reads_as_interrupted_and_resumes(tmp_path, capsys):
    db = tmp_path / "f.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "simulator.finance.cli", "finance-run", *ARGS, "--db", str(db), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    try:
        status, _, owner = _wait(lambda: (st := _status(db)) and st[1] >= 300 and st, 120, "300 checkpoints")
        assert status == "running" and owner["pid"] == proc.pid  # owned by that live process
        proc.send_signal(signal.SIGKILL)
        # gone (a zombie until reaped counts as gone): interrupted, without anyone writing it
        _wait(lambda: _status(db)[0] == "interrupted", 10, "the killed run to read as interrupted")
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    status, stored, _ = _status(db)
    assert status == "interrupted" and 300 <= stored < 13_000 and stored % 50 == 0  # whole batches
    with Store(db) as s:  # the row itself still says running: only its owner is gone
        assert s.conn.execute("SELECT status FROM simulations").fetchone()[0] == "running"

    assert main(["finance-list", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    assert "sim-000001  interrupted" in listing and f"finance-resume sim-000001 --db {db}" in listing

    # resume (for 300 more checkpoints): the chain is the uninterrupted run's
    with Store(db) as s:
        more = SimulationRuntime(s).resume("sim-000001", stop_after=300)
        assert more.status == "interrupted" and s.get_simulation("sim-000001")["owner"] is None
        chain = s.get_checkpoint_chain("sim-000001")
    assert len(chain) == stored + 300
    assert chain == SimulationRuntime().run(parse_config(CONFIG), stop_after=len(chain)).hashes


def test_a_run_owned_by_a_live_process_cannot_be_resumed(tmp_path, capsys):
    import psutil

    db = tmp_path / "f.sqlite"
    with Store(db) as s:
        part = SimulationRuntime(s).run(parse_config(CONFIG), stop_after=12)
        sid = part.simulation_id
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            owner = {"pid": sleeper.pid, "started": psutil.Process(sleeper.pid).create_time(), "host": ""}
            owner["host"] = __import__("socket").gethostname()
            s.conn.execute(
                "UPDATE simulations SET status = 'running', owner = ? WHERE id = ?", (json.dumps(owner), sid)
            )
            assert s.get_simulation(sid)["status"] == "running"
            assert main(["finance-resume", sid, "--db", str(db)]) == 2
            assert f"is running in process {sleeper.pid}" in capsys.readouterr().err
            # a recycled pid (same number, another start time) is not the owner
            s.conn.execute(
                "UPDATE simulations SET owner = ? WHERE id = ?", (json.dumps({**owner, "started": 1.0}), sid)
            )
            assert s.get_simulation(sid)["status"] == "interrupted"
        finally:
            sleeper.kill()
            sleeper.wait()
        s.conn.execute("UPDATE simulations SET owner = ? WHERE id = ?", (json.dumps(owner), sid))
        assert s.get_simulation(sid)["status"] == "interrupted"  # its owner is gone now
        assert s.count_checkpoints(sid) == 12


def test_ctrl_c_leaves_an_interrupted_run_that_resumes(tmp_path):
    db = tmp_path / "f.sqlite"

    def ctrl_c(cp):
        if cp.index == 77:
            raise KeyboardInterrupt

    with Store(db) as s:
        with pytest.raises(KeyboardInterrupt):
            SimulationRuntime(s).run(parse_config(CONFIG), on_checkpoint=ctrl_c, stop_after=200)
        sim = s.get_simulation("sim-000001")
        assert sim["status"] == "interrupted" and sim["owner"] is None
        assert s.count_checkpoints("sim-000001") == 78
        more = SimulationRuntime(s).resume("sim-000001", stop_after=22)
    assert more.hashes == SimulationRuntime().run(parse_config(CONFIG), stop_after=100).hashes[78:]
