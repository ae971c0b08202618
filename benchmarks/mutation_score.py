"""Mutation score per package with mutmut (v3): killed / total, run outside CI by `make mutate`.

    python -m benchmarks.mutation_score                  # every mutant (hours on 2 cores)
    python -m benchmarks.mutation_score --sample 100     # a seeded uniform sample of 100 per package
    python -m benchmarks.mutation_score --report         # the score of what has been run so far
    python -m benchmarks.mutation_score --sample 60 --skip 20 --report   # mutants 21-60 of each only

Configuration (what is mutated, which tests run) is `[tool.mutmut]` in pyproject.toml; results
stay in `mutants/` (ignored by git), so runs resume where they stopped. A mutant counts as killed
when a test failed or it timed out; "no tests" and "survived" count against the score. With
`--sample` the score is an estimate; the 95% Wilson interval is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from experiments.arguments import at_least

PACKAGES = ("engine", "infra", "analysis", "finance", "store")
KILLED = {"killed", "timeout", "caught by type check"}
# mutmut stops a mutant after so many CPU seconds: torch's thread pool would spend them in parallel
# (and spinning) and turn a slow GAT test into a false "timeout"
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def generate() -> None:
    """Write every mutant into mutants/ (mutmut's own first step), without running any."""
    from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants

    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    create_mutants(2)


def results() -> dict[str, dict[str, tuple[str, float | None]]]:
    """{package: {mutant name: (status, seconds its tests ran or None)}} from mutmut's files."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, dict[str, tuple[str, float | None]]] = defaultdict(dict)
    for meta in sorted(Path("mutants/simulator").rglob("*.py.meta")):
        package = meta.relative_to("mutants/simulator").parts[0]
        data = json.loads(meta.read_text())
        durations = data.get("durations_by_key", {})
        for name, code in data["exit_code_by_key"].items():
            found[package][name] = (status_by_exit_code[code], durations.get(name))
    return found


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k / n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def sample(names: list[str], package: str, size: int, seed: int) -> list[str]:
    """A uniform sample: a prefix of a seeded shuffle, so a smaller sample is part of a larger one.

    The order is kept: run in that order (`rounds`), an interrupted run has still checked a
    uniform sample, never the cheapest mutants first.
    """
    shuffled = sorted(names)
    random.Random(f"{seed}/{package}").shuffle(shuffled)
    return shuffled[:size]


def interleave(chosen: dict[str, list[str]]) -> list[str]:
    """Each package's sample in its shuffled order, taken one package after another in turn."""
    lists = list(chosen.values())
    return [names[i] for i in range(max(map(len, lists), default=0)) for names in lists if i < len(names)]


def run_in_order(names: list[str], children: int) -> None:
    """`mutmut run names...`, but the mutants run in the order given, not cheapest first.

    mutmut sorts the mutants it runs by the cost of their tests; stopped early, it would have
    checked the cheapest ones only. In the given order (a seeded shuffle), whatever has been
    checked when a run is stopped is still a uniform sample.
    """
    import mutmut.__main__ as mutmut_main

    order = {name: i for i, name in enumerate(names)}
    mutmut_main.estimated_worst_case_time = lambda name: order.get(name, len(order))
    mutmut_main.cli(["run", "--max-children", str(children), *names], standalone_mode=False)


def report(chosen: dict[str, list[str]] | None, equivalent: set[str] = frozenset()) -> None:
    """Print killed / checked per package with its Wilson interval, and every survivor."""
    print(
        f"{'package':10} {'killed':>7} {'equiv':>6} {'checked':>8} {'score':>6}  95% interval"
        "  s/mutant (median, mean)"
    )
    for package, statuses in sorted(results().items()):
        names = chosen.get(package, []) if chosen is not None else list(statuses)
        # a sample counts up to its first unchecked mutant: a prefix of a shuffle stays uniform
        unchecked = [i for i, n in enumerate(names) if statuses[n][0] == "not checked"]
        checked = names[: unchecked[0]] if unchecked else names
        if not checked:
            continue
        killed = sum(statuses[n][0] in KILLED for n in checked)
        equiv = sum(statuses[n][0] not in KILLED and n in equivalent for n in checked)
        counted = len(checked) - equiv
        low, high = wilson(killed, counted)
        seconds = [statuses[n][1] for n in checked if statuses[n][1] is not None]
        timing = f"{statistics.median(seconds):.1f}, {statistics.mean(seconds):.1f}" if seconds else "-"
        left = len(names) - len(checked)
        print(
            f"{package:10} {killed:7d} {equiv:6d} {counted:8d} {killed / max(counted, 1):6.0%}"
            f"  [{low:.0%}, {high:.0%}]  {timing:>12}   of {len(statuses)} mutants"
            + (f"  (a prefix: {left} of the sample not counted yet)" if left else "")
        )
        for name in checked:
            if statuses[name][0] not in KILLED:
                label = "equivalent" if name in equivalent else statuses[name][0]
                print(f"    {label:10} {name}")


def equivalents(path: Path = Path("docs/mutation.md")) -> set[str]:
    """Mutant names listed as equivalent (backquoted, first column) in docs/mutation.md."""
    if not path.exists():
        return set()
    text = path.read_text().split("## Surviving mutants judged equivalent", 1)[-1]
    text = text.split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(simulator\.[^`]+__mutmut_\d+)`", text, flags=re.M))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=0, help="mutants per package (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--in-order", metavar="FILE", help=argparse.SUPPRESS)  # see run_in_order
    parser.add_argument(
        "--packages", default=",".join(PACKAGES), help=f"comma-separated, from {','.join(PACKAGES)}"
    )
    parser.add_argument("--children", type=int, default=2, help="mutmut's worker processes, >= 1")
    parser.add_argument("--report", action="store_true", help="only print the score so far")
    parser.add_argument(
        "--skip",
        type=int,
        default=0,
        help="run and score each sample without its first N mutants (those already looked at): a "
        "fresh, still uniform sample of the suite as it is",
    )
    args = parser.parse_args(argv)
    at_least(parser, args, sample=0, skip=0, children=1)
    if args.in_order and not Path(args.in_order).is_file():
        parser.error(f"--in-order {args.in_order}: no such file")
    if args.in_order:
        return run_in_order(Path(args.in_order).read_text().split(), args.children)
    packages = args.packages.split(",")
    unknown = [p for p in packages if p not in PACKAGES]
    if unknown:
        parser.error(f"--packages: unknown {', '.join(map(repr, unknown))}; allowed: {', '.join(PACKAGES)}")
    if not Path("mutants/simulator").exists():
        generate()
    everything = results()
    chosen = {}
    for package in packages:
        names = sorted(everything.get(package, {}))
        chosen[package] = sample(names, package, args.sample, args.seed) if args.sample else names
    if not args.report:
        mutmut = str(Path(sys.executable).with_name("mutmut"))
        started = time.monotonic()
        if args.sample:  # only what has not been checked yet, in the sample's order, after --skip
            fresh = {p: names[args.skip :] for p, names in chosen.items()}
            todo = [n for n in interleave(fresh) if everything[n.split(".")[1]][n][0] == "not checked"]
            Path("mutants/sample.txt").write_text("\n".join(todo))
            command = [sys.executable, "-m", "benchmarks.mutation_score", "--in-order", "mutants/sample.txt"]
        else:
            command = [mutmut, "run", "--max-children", str(args.children)]
            command += [f"simulator.{p}.*" for p in packages]
        if args.sample:
            command += ["--children", str(args.children)]
        with open("mutants/mutmut.log", "a") as log:  # mutmut's own output, to see why it stopped
            if not args.sample or todo:
                subprocess.run(command, check=False, stdout=log, stderr=subprocess.STDOUT, env=ONE_THREAD)
        print(f"mutmut ran for {time.monotonic() - started:.0f} s")
    report({p: names[args.skip :] for p, names in chosen.items()}, equivalents())


if __name__ == "__main__":
    main()
