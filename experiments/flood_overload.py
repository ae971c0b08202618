"""The reference run: `python -m experiments.flood_overload`.

Runs scenarios/flood_overload.yaml, prints the trace, writes results/metrics.csv and
results/summary.json, then the post-mortem results/failure_analysis.md with its plots.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simulator.cli import main as cli_main

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "flood_overload.yaml"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["run", str(SCENARIO), "--report", *args])


if __name__ == "__main__":
    sys.exit(main())
