"""Benchmark: the OttoChain traffic population, 200 agents, generations per second.
Target (issue 11): 1,000 generations in under 5 minutes (the seed's was 1,000 a day).

    python -m benchmarks.ottochain_traffic [--population 200] [--generations 3] [--episode 600]

Runs `--generations` full generations (episode, fitness, evolution, SQLite checkpoint, CSV)
through `run_traffic`, and reports the median seconds per generation, generations per
second and the projected time for 1,000 generations. As a baseline measured in the same
run it times the signature work alone (the run's own count of ECDSA signs and verifies times
their median cost: the floor of any run that signs and checks every message) and reports
its share.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from simulator.ottochain import world as otto_world
from simulator.ottochain.traffic import run_traffic
from simulator.ottochain.traffic_config import load_traffic
from simulator.ottochain.wallet import Wallet, verify

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "ottochain_traffic.yaml"


def sign_verify_seconds(n: int = 200) -> tuple[float, float]:
    """Median seconds of one sign and of one verify of a typical message."""
    wallet = Wallet.from_seed_bytes(b"bench")
    signs, verifies = [], []
    for i in range(n):
        msg = {"kind": "event", "fiberId": f"f-{i}", "eventName": "confirm", "payload": {"x": i}}
        start = time.perf_counter()
        proof = wallet.sign(msg)
        mid = time.perf_counter()
        verify(proof, msg)
        verifies.append(time.perf_counter() - mid)
        signs.append(mid - start)
    return statistics.median(signs), statistics.median(verifies)


class Counted:
    """Counts calls of Wallet.sign and of the verify the metagraph uses, during the run."""

    def __init__(self) -> None:
        self.signs = self.verifies = 0

    def __enter__(self) -> Counted:
        self._sign, self._verify = Wallet.sign, otto_world.verify
        counter = self

        def sign(wallet, message):
            counter.signs += 1
            return counter._sign(wallet, message)

        def counted_verify(proof, message):
            counter.verifies += 1
            return counter._verify(proof, message)

        Wallet.sign, otto_world.verify = sign, counted_verify
        return self

    def __exit__(self, *exc: object) -> None:
        Wallet.sign, otto_world.verify = self._sign, self._verify


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=200)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--episode", type=float, default=600.0)
    args = ap.parse_args(argv)
    cfg = load_traffic(
        SCENARIO, {"population": args.population, "generations": args.generations, "episode": args.episode}
    )
    stamps: list[float] = []
    rows: list[dict] = []

    def tick(traffic, row) -> None:
        stamps.append(time.perf_counter())
        if row:
            rows.append(row)

    with tempfile.TemporaryDirectory() as tmp, Counted() as counted:
        start = time.perf_counter()
        run_traffic(cfg, tmp, on_generation=tick)
        total = time.perf_counter() - start
    per_gen = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    median = statistics.median(per_gen)
    sign, check = sign_verify_seconds()
    gens = len(rows)
    floor = (counted.signs * sign + counted.verifies * check) / gens
    print(f"population {args.population}, {gens} generations of {args.episode:g} simulated s")
    print(f"  total {total:.1f} s; median {median:.2f} s per generation -> {1 / median:.3f} generations/s")
    print(
        f"  projected 1,000 generations: {1000 * median / 60:.1f} min "
        "(target: 5 min; seed: 1 day = 1,440 min)"
    )
    print(
        f"  baseline in this run: {counted.signs / gens:.0f} signs x {sign * 1000:.2f} ms + "
        f"{counted.verifies / gens:.0f} verifies x {check * 1000:.2f} ms per generation = {floor:.2f} s "
        f"({floor / median:.0%} of a generation)"
    )
    print(f"  completion per generation: {[r['completion'] for r in rows]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
