"""Benchmark: the OttoChain traffic population, 200 agents, generations per second.
Target (issue 11): 1,000 generations in under 5 minutes (the seed's was 1,000 a day).

    python -m benchmarks.ottochain_traffic [--population 200] [--generations 3] [--episode 600]

Runs `--generations` full generations (episode, fitness, evolution, SQLite checkpoint, CSV)
through `run_traffic`, and reports the median seconds per generation, generations per
second and the projected time for 1,000 generations. As a baseline measured in the same
run it times the signature work alone (one ECDSA sign + one verify per bridge request, the
floor of any run that signs and checks every message) and reports its share.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from simulator.ottochain.traffic import run_traffic
from simulator.ottochain.traffic_config import load_traffic
from simulator.ottochain.wallet import Wallet, verify

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "ottochain_traffic.yaml"


def sign_verify_seconds(n: int = 200) -> float:
    """Median seconds for one sign + one verify of a typical message."""
    wallet = Wallet.from_seed_bytes(b"bench")
    times = []
    for i in range(n):
        msg = {
            "kind": "event",
            "fiberId": f"f-{i}",
            "eventName": "confirm",
            "payload": {"x": i},
            "targetSequence": 1,
        }
        start = time.perf_counter()
        verify(wallet.sign(msg), msg)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_traffic(cfg, tmp, on_generation=tick)
        total = time.perf_counter() - start
    per_gen = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    median = statistics.median(per_gen)
    crypto = sign_verify_seconds()
    requests = statistics.median(r["bridge_requests"] for r in rows)
    floor = requests * crypto
    print(f"population {args.population}, {args.generations} generations of {args.episode:g} simulated s")
    print(f"  total {total:.1f} s; median {median:.2f} s per generation -> {1 / median:.3f} generations/s")
    print(
        f"  projected 1,000 generations: {1000 * median / 60:.1f} min "
        "(target: 5 min; seed: 1 day = 1,440 min)"
    )
    print(
        f"  baseline in this run: sign+verify {crypto * 1000:.2f} ms x {requests:.0f} bridge requests per "
        f"generation = {floor:.2f} s ({floor / median:.0%} of a generation)"
    )
    print(f"  completion per generation: {[r['completion'] for r in rows]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
