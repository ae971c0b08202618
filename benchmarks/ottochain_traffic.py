"""Benchmark: the OttoChain traffic population, 200 agents, generations per second.
Target (issue 11): 1,000 generations in under 5 minutes (the seed's was 1,000 a day).

    python -m benchmarks.ottochain_traffic [--population 200] [--generations 3] [--episode 600] [--rounds 2]

Runs `--generations` full generations (episode, fitness, evolution, SQLite checkpoint, CSV)
through `run_traffic`, `--rounds` times for each of two set-ups, interleaved (A B A B ...)
so both see the same machine state:

  baseline  the set-up before the speed work: ECDSA through OpenSSL (`cryptography`), every
            agent polling every time, `copy.deepcopy` to stage a fiber
  current   libsecp256k1 (`coincurve`) signatures, agents with nothing pending asleep until
            an event touches them, pickle-copied staging

Both must write byte-identical generations.csv and the same chain head (checked). Reports
the median seconds per generation of each, generations per second, the speed-up and the
projected time for 1,000 generations, and the current run's signature work (its count of
signs and verifies times their median cost) with its share of a generation.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from simulator.ottochain import engine as otto_engine
from simulator.ottochain import world as otto_world
from simulator.ottochain.traffic import run_traffic
from simulator.ottochain.traffic_config import load_traffic
from simulator.ottochain.traffic_world import TrafficWorld
from simulator.ottochain.wallet import Wallet, openssl_sign, openssl_verify, verify

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


@contextlib.contextmanager
def baseline() -> Iterator[None]:
    """The set-up before the speed work (see the module's note)."""
    saved = Wallet.sign, otto_world.verify, TrafficWorld.sleeping, otto_engine._copy
    Wallet.sign, otto_world.verify = openssl_sign, openssl_verify
    TrafficWorld.sleeping, otto_engine._copy = False, copy.deepcopy
    try:
        yield
    finally:
        Wallet.sign, otto_world.verify, TrafficWorld.sleeping, otto_engine._copy = saved


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


def one_run(cfg, counted: Counted | None = None) -> tuple[list[float], list[dict], bytes, str]:
    """Seconds per generation, the rows, generations.csv and the chain head of one run."""
    stamps: list[float] = []
    rows: list[dict] = []

    def tick(traffic, row) -> None:
        stamps.append(time.perf_counter())
        if row:
            rows.append(row)

    with tempfile.TemporaryDirectory() as tmp, counted or contextlib.nullcontext():
        summary = run_traffic(cfg, tmp, on_generation=tick)
        csv = (Path(tmp) / "generations.csv").read_bytes()
    per_gen = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return per_gen, rows, csv, summary["chain_head"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=200)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--episode", type=float, default=600.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    cfg = load_traffic(
        SCENARIO, {"population": args.population, "generations": args.generations, "episode": args.episode}
    )
    times: dict[str, list[float]] = {"baseline": [], "current": []}
    outputs: dict[str, set] = {"baseline": set(), "current": set()}
    counted = Counted()
    rows: list[dict] = []
    for r in range(args.rounds):
        with baseline():
            per_gen, _, csv, head = one_run(cfg)
        times["baseline"] += per_gen
        outputs["baseline"].add((csv, head))
        per_gen, rows, csv, head = one_run(cfg, counted if r == 0 else None)
        times["current"] += per_gen
        outputs["current"].add((csv, head))
    if len(outputs["baseline"] | outputs["current"]) != 1:
        print("error: the baseline and current runs wrote different outputs")
        return 1
    gens = len(rows)
    print(f"population {args.population}, {gens} generations of {args.episode:g} simulated s, ×{args.rounds}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, m in med.items():
        print(
            f"  {name:<9} median {m:.2f} s per generation -> {1 / m:.3f} generations/s; "
            f"1,000 generations: {1000 * m / 60:.1f} min"
        )
    print(f"  speed-up {med['baseline'] / med['current']:.2f}x; outputs byte-identical; target: 5 min")
    sign, check = sign_verify_seconds()
    floor = (counted.signs * sign + counted.verifies * check) / gens
    print(
        f"  signatures now: {counted.signs / gens:.0f} signs x {sign * 1000:.3f} ms + "
        f"{counted.verifies / gens:.0f} verifies x {check * 1000:.3f} ms per generation = {floor:.2f} s "
        f"({floor / med['current']:.0%} of a generation)"
    )
    print(f"  completion per generation: {[r['completion'] for r in rows]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
