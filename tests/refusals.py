"""Running a `python -m` command whose arguments must be refused (the argument tables' check)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def refused(module: str, argv: list[str], message: str) -> str:
    """`python -m module *argv` from the repository root exits 2 with `message` on stderr, no
    traceback and nothing on stdout; returns its stderr."""
    command = [sys.executable, "-m", module, *argv]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
    return done.stderr
