"""IPD tournaments: 200-turn matches per second against the Axelrod library, and the
`processes` backend on 2 workers against `serial`.

    python -m benchmarks.tournament_ipd                 # both parts
    python -m benchmarks.tournament_ipd --part axelrod --repetitions 5 --repeats 3
    python -m benchmarks.tournament_ipd --part speedup --repetitions 150

Part 1 plays the same round robin (the ten deterministic named strategies and `random`,
200 turns, every pair `--repetitions` times) three ways, timed in interleaved rounds
(medians): our tournament on the kernel (serial backend, every match a World, no outputs),
and Axelrod's own `Match` loop over the same pairs (`--with-tournament` also times
`axelrod.Tournament.play` once, one process, no result analysis: it takes minutes). It
checks that the deterministic pairings score the same in both.
Part 2 plays a larger round robin serially and on 2 worker processes (pool start-up
included), checks identical rows, and prints the medians and their ratio (target >= 1.7x).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from typing import Any

from experiments.arguments import at_least
from simulator.tournament.games import BatchOptions
from simulator.tournament.runner import run_tournament
from simulator.tournament.spec import parse_spec

PLAYERS = {  # our name -> the Axelrod class name
    "cooperator": "Cooperator",
    "defector": "Defector",
    "tit_for_tat": "TitForTat",
    "grudger": "Grudger",
    "alternator": "Alternator",
    "tit_for_two_tats": "TitFor2Tats",
    "two_tits_for_tat": "TwoTitsForTat",
    "suspicious_tit_for_tat": "SuspiciousTitForTat",
    "win_stay_lose_shift": "WinStayLoseShift",
    "go_by_majority": "GoByMajority",
    "random": "Random",
}


def axelrod_classes() -> dict[str, Any]:
    """Imported here, not at the top: worker processes re-import this module, and importing
    axelrod (pandas, dask, scipy, ...) would add seconds to every worker's start."""
    import axelrod as axl

    return {ours: getattr(axl, theirs) for ours, theirs in PLAYERS.items()}


def spec(repetitions: int, turns: int = 200):
    return parse_spec({
        "name": "bench", "seed": 1,
        "game": {"type": "ipd", "turns": turns},
        "format": {"type": "round_robin", "repetitions": repetitions},
        "players": list(PLAYERS),
    })


def ours(repetitions: int, options: BatchOptions | None = None) -> list[dict]:
    return run_tournament(spec(repetitions), None, options, plots=False).rows


def axelrod_matches(repetitions: int) -> dict[tuple[str, str], tuple[int, int]]:
    import axelrod as axl

    classes = axelrod_classes()
    scores = {}
    for _ in range(repetitions):
        for a, b in itertools.combinations(classes, 2):
            match = axl.Match((classes[a](), classes[b]()), turns=200)
            match.play()
            scores[(a, b)] = tuple(int(s) for s in match.final_score())
    return scores


def axelrod_tournament(repetitions: int) -> None:
    import axelrod as axl

    players = [cls() for cls in axelrod_classes().values()]
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        axl.Tournament(players, turns=200, repetitions=repetitions, seed=1).play(
            build_results=False, filename=f.name, processes=0, progress_bar=False
        )


def part_axelrod(repetitions: int, repeats: int) -> None:
    n = len(list(itertools.combinations(PLAYERS, 2))) * repetitions
    rows = ours(repetitions)
    theirs = axelrod_matches(1)
    same = all((int(r["score_a"]), int(r["score_b"])) == theirs[(r["player_a"], r["player_b"])]
               for r in rows if "random" not in (r["player_a"], r["player_b"]))
    variants: dict[str, Any] = {
        "kernel round robin (ours)": lambda: ours(repetitions),
        "axelrod Match loop": lambda: axelrod_matches(repetitions),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    print(f"round robin: {len(PLAYERS)} players, 200 turns, {repetitions} repetitions = {n} matches; "
          f"deterministic pairings agree with Axelrod: {same}")
    base = statistics.median(times["axelrod Match loop"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<28} {med:7.3f} s  {n / med:8.0f} matches/s  ({base / med:.2f}x the Match loop)")


def part_speedup(repetitions: int, repeats: int, workers: int) -> None:
    n = len(list(itertools.combinations(PLAYERS, 2))) * repetitions
    serial_t, proc_t = [], []
    identical = True
    for _ in range(repeats):
        start = time.perf_counter()
        a = ours(repetitions)
        serial_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        b = ours(repetitions, BatchOptions("processes", workers))
        proc_t.append(time.perf_counter() - start)
        identical &= a == b
    s, p = statistics.median(serial_t), statistics.median(proc_t)
    print(f"{n} matches of 200 turns: serial {s:.2f} s, processes x{workers} {p:.2f} s "
          f"(pool start-up included): {s / p:.2f}x; identical rows: {identical}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tournament_ipd", description=__doc__)
    parser.add_argument("--part", choices=("axelrod", "speedup", "both"), default="both")
    parser.add_argument("--repetitions", type=int, help=">= 1; default 5 (axelrod), 150 (speedup)")
    parser.add_argument("--repeats", type=int, default=3, help=">= 1")
    parser.add_argument("--workers", type=int, default=2, help=">= 1")
    parser.add_argument("--with-tournament", action="store_true",
                        help="also time axelrod.Tournament.play once (slow: minutes)")
    args = parser.parse_args(argv)
    at_least(parser, args, repetitions=1, repeats=1, workers=1)
    if args.part in ("axelrod", "both"):
        part_axelrod(args.repetitions or 5, args.repeats)
    if args.with_tournament:
        start = time.perf_counter()
        axelrod_tournament(args.repetitions or 5)
        print(f"  axelrod Tournament.play (once): {time.perf_counter() - start:.2f} s")
    if args.part in ("speedup", "both"):
        part_speedup(args.repetitions or 150, args.repeats, args.workers)


if __name__ == "__main__":
    main()
