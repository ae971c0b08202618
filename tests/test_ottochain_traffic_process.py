"""OttoChain traffic as a real process: SIGKILL and --resume, the Prometheus endpoint, and
bad input."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from simulator.ottochain.metrics import NAMES, PREFIX

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "scenarios" / "ottochain_traffic.yaml"
SETS = ["--set", "population=6", "--set", "episode=150", "--seed", "7", "--no-progress"]


def cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "simulator.cli", "traffic", str(SPEC), *SETS, *args]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


def checkpoints(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_then_resume_gives_the_uninterrupted_chain_head(tmp_path):
    gens = "30"  # enough that a kill up to 0.2 s late still lands mid-run (a generation takes ~30 ms)
    full = cli("--out", str(tmp_path / "full"), "--generations", gens)
    assert full.wait(timeout=600) == 0, full.stderr.read()
    # kill a second run at a random point: after 1..3 generation checkpoints, mid-generation
    kill_after = random.Random().randint(2, 6)  # checkpoint rows including genesis
    run = cli("--out", str(tmp_path / "crash"), "--generations", gens)
    db = tmp_path / "crash" / "traffic.sqlite"
    deadline = time.time() + 600
    while checkpoints(db) < kill_after and run.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(random.Random().uniform(0.0, 0.2))  # somewhere inside the next generation
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    done = checkpoints(db) - 1
    assert 1 <= done < int(gens), f"killed after {done} generations; try again"
    again = cli("--out", str(tmp_path / "crash"), "--generations", gens, "--resume")
    assert again.wait(timeout=600) == 0, again.stderr.read()
    a = json.loads((tmp_path / "full" / "summary.json").read_text())
    b = json.loads((tmp_path / "crash" / "summary.json").read_text())
    assert b["generations"] == int(gens)
    assert a["chain_head"] == b["chain_head"]
    assert (tmp_path / "full/generations.csv").read_bytes() == (
        tmp_path / "crash/generations.csv"
    ).read_bytes()


def test_metrics_endpoint_scraped_during_a_run(tmp_path):
    # 20 generations: ~5 s of run after the endpoint is announced, so the two scrapes below land
    # while it goes even on a loaded machine (6 generations left ~1.5 s)
    run = cli("--out", str(tmp_path / "m"), "--generations", "20", "--metrics-port", "0")
    try:
        line = run.stderr.readline()
        assert "127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10).read())
        assert health["status"] in ("starting", "running")
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert run.poll() is None  # scraped while the run goes
    finally:
        out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in NAMES:
        assert PREFIX + name in families, name
    labels = {s.labels["type"] for s in families[PREFIX + "fibers_initiated"].samples}
    assert "Contract" in labels and "Voting" in labels
    population = families[PREFIX + "population_size"].samples[0].value
    assert population == 6
    final = {f.name: f for f in text_string_to_metric_families((tmp_path / "m" / "metrics.prom").read_text())}
    assert final[PREFIX + "generation"].samples[0].value == 20
    assert sum(s.value for s in final[PREFIX + "fibers_initiated"].samples) > 0


def test_bad_input_is_one_error_line(tmp_path):
    bad = cli("--out", str(tmp_path / "b"), "--set", "bridge.outage_fraction=1.5")
    _, err = bad.communicate(timeout=120)
    assert bad.returncode == 2 and err.strip().startswith("error:") and "outage_fraction" in err
    assert "Traceback" not in err
    ok = cli("--out", str(tmp_path / "r"), "--generations", "1")
    assert ok.wait(timeout=300) == 0
    again = cli("--out", str(tmp_path / "r"), "--generations", "1")
    _, err = again.communicate(timeout=120)
    assert again.returncode == 2 and "--resume" in err
    other = cli(
        "--out", str(tmp_path / "r"), "--generations", "2", "--resume", "--set", "bridge.error_rate=0.5"
    )
    _, err = other.communicate(timeout=120)
    assert other.returncode == 2 and "another configuration" in err
