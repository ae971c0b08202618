"""SIGTERM (a CI timeout, `kill`, a container stop) cleans up as Ctrl-C does: no `.partial`
file, the previous complete output untouched, one line on stderr, exit code 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, SCENARIOS


def start(out, background: bool) -> subprocess.Popen:
    argv = [sys.executable, "-m", "simulator.cli", "run", str(SCENARIOS / "flood_city.yaml")]
    argv += ["--out", str(out), "--quiet", "--set", f"recording.background={str(background).lower()}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def wait_for(path, proc, timeout=60.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "background,whole_group",
    [(False, False), (True, False), (True, True)],
    ids=["inline", "background-parent-only", "background-process-group"],
)
def test_sigterm_leaves_no_partial_file(background, whole_group, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.csv").write_text("previous complete run\n")
    proc = start(out, background)
    wait_for(out / "metrics.csv.partial", proc)
    time.sleep(0.3)  # well inside the run: records are being written
    if whole_group:
        os.killpg(proc.pid, signal.SIGTERM)  # what a terminal or a container stop does
    else:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.decode().strip().splitlines() == ["terminated: completed outputs are left as they were"]
    time.sleep(0.2)  # the background recorder's child exits once the parent has hung up
    assert sorted(p.name for p in out.iterdir()) == ["metrics.csv"]
    assert (out / "metrics.csv").read_text() == "previous complete run\n"
