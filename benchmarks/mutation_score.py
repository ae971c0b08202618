"""Mutation score per package with mutmut (v3): killed / total, run outside CI by `make mutate`.

    python -m benchmarks.mutation_score                  # every mutant (hours on 2 cores)
    python -m benchmarks.mutation_score --sample 40      # a seeded sample of 40 per package
    python -m benchmarks.mutation_score --report         # the score of what has been run so far

Configuration (what is mutated, which tests run) is `[tool.mutmut]` in pyproject.toml; results
stay in `mutants/` (ignored by git), so runs resume where they stopped. A mutant counts as killed
when a test failed or it timed out; "no tests" and "survived" count against the score. With
`--sample` the score is an estimate; the 95% Wilson interval is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

PACKAGES = ("engine", "infra", "analysis", "finance", "store")
KILLED = {"killed", "timeout", "caught by type check"}


def generate() -> None:
    """Write every mutant into mutants/ (mutmut's own first step), without running any."""
    from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants

    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    create_mutants(2)


def results() -> dict[str, dict[str, str]]:
    """{package: {mutant name: status}} from mutmut's files."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, dict[str, str]] = defaultdict(dict)
    for meta in sorted(Path("mutants/simulator").rglob("*.py.meta")):
        package = meta.relative_to("mutants/simulator").parts[0]
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            found[package][name] = status_by_exit_code[code]
    return found


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def report(chosen: dict[str, list[str]] | None) -> None:
    print(f"{'package':10} {'killed':>7} {'checked':>8} {'score':>6}  95% interval   survivors")
    for package, statuses in sorted(results().items()):
        names = chosen.get(package, []) if chosen is not None else list(statuses)
        checked = [n for n in names if statuses[n] != "not checked"]
        killed = sum(statuses[n] in KILLED for n in checked)
        if not checked:
            continue
        low, high = wilson(killed, len(checked))
        print(
            f"{package:10} {killed:7d} {len(checked):8d} {killed / len(checked):6.0%}  "
            f"[{low:.0%}, {high:.0%}]  of {len(statuses)} mutants"
        )
        for name in checked:
            if statuses[name] not in KILLED:
                print(f"    {statuses[name]:9} {name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=0, help="mutants per package (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--packages", default=",".join(PACKAGES))
    parser.add_argument("--children", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="only print the score so far")
    args = parser.parse_args(argv)
    packages = args.packages.split(",")
    if not Path("mutants/simulator").exists():
        generate()
    everything = results()
    chosen = {}
    for package in packages:
        names = sorted(everything.get(package, {}))
        if args.sample:  # a prefix of a seeded shuffle: a smaller sample is part of a larger one
            random.Random(f"{args.seed}/{package}").shuffle(names)
            names = sorted(names[: args.sample])
        chosen[package] = names
    if not args.report:
        started = time.monotonic()
        if args.sample:  # only what has not been checked yet
            patterns = [n for p in packages for n in chosen[p] if everything[p][n] == "not checked"]
        else:
            patterns = [f"simulator.{p}.*" for p in packages]
        command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.children), *patterns]
        if patterns:
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
        print(f"mutmut ran for {time.monotonic() - started:.0f} s")
    report(chosen)


if __name__ == "__main__":
    main()
