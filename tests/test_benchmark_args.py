"""The throughput benchmarks refuse bad arguments with one error line (exit 2), before any run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

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
]


@pytest.mark.parametrize(("module", "argv", "message"), BAD, ids=[" ".join([m, *a]) for m, a, _ in BAD])
def test_a_bad_benchmark_argument_is_one_error_line(module, argv, message):
    command = [sys.executable, "-m", f"benchmarks.{module}", *argv]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
