"""A magentic team plans, and a desk carries out, each trading day in the finance world.

    python -m experiments.orchestration_finance [--days 20] [--fault-rate 0.1] [--show 2]

Momentum on the S&P 500 (the `arch` package's bundled history, early 2006) with a
conservative risk profile, which chooses the patterns (the strategy parameter
`orchestration:` could override any of them), and a `team:` in the finance config giving the
agents' fault rates, exactly as `simulator finance-run` reads them: three analysts gather concurrently
before analyze's targets stand, a magentic team (research, strategy, risk; the lead
researcher unreliable, a backup beside them) signs off the plan, and validate hands the
orders from the desk to a compliance officer before the compliance service and the exchange
see them. Every agent call, ledger and handoff is a kernel event in the same record and hash
chain as the payments, compliance decisions and fills. Prints the transcript of the first
`--show` days, then what the reviews decided.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from experiments.arguments import at_least, probability
from simulator.engine import CallbackSink, Record
from simulator.finance.checkpoints import Provenance
from simulator.finance.config import FinanceConfig, load_config, load_market
from simulator.finance.context import SimulationContext
from simulator.finance.errors import FinanceError
from simulator.finance.executor import PhaseExecutor
from simulator.finance.market import MarketData
from simulator.finance.services import TRADER

CONFIG = Path(__file__).resolve().parent.parent / "scenarios" / "finance_momentum.yaml"
ORCHESTRATION = ("orch.", "agent.", "magentic.", "handoff", "chat.")
SHOWN_FINANCE = (
    "market.open",
    "compliance.check",
    "compliance.decision",
    "exchange.order",
    "order.result",
    "payment.create",
    "payment.result",
    "phase.complete",
)


def describe(r: Record) -> str:
    p = r.payload
    if r.type == "orch.start":
        return f"{r.source} ({p['pattern']}) starts on {p['task']}"
    if r.type == "orch.end":
        return f"{r.source} ends: {p['reason']}" + (f" ({p['error']})" if p.get("error") else "")
    if r.type == "agent.call":
        return f"{r.source} asks {r.target}" + (f" to {p['instruction']}" if "instruction" in p else "")
    if r.type == "agent.message":
        return f'{r.source}: "{p["content"]}"'
    if r.type == "agent.result":
        return f"{r.source} -> {'ok' if p['success'] else 'FAILED'}" + (
            f", hands to {p['handoff_to']}" if p.get("handoff_to") else ""
        )
    if r.type == "agent.fault":
        return f"{r.source} FAULT {p['kind']}: {p['error']}"
    if r.type == "magentic.plan":
        plan = ", ".join(f"{s['step']}->{s['agent']}" for s in p["plan"])
        return f"task ledger (re-plan {p['reset']}): {plan}"
    if r.type == "magentic.progress":
        return (
            f"progress ledger round {p['round']}: satisfied={p['is_request_satisfied']} "
            f"loop={p['is_in_loop']} progress={p['is_progress_being_made']} next={p['next_speaker']} "
            f"stall={p['stall']}"
        )
    if r.type == "magentic.final":
        return f"final answer: {p['answer']}"
    if r.type == "handoff":
        return f"{r.source} hands off to {r.target}"
    if r.type == "phase.complete":
        note = p["result"].get("orchestration")
        return f"phase {p['phase']} of day {p['cycle']} complete" + (
            f" (review: {note['pattern']} {note['end_reason']})" if note else ""
        )
    keys = ", ".join(
        f"{k}={v}"
        for k, v in p.items()
        if k in ("symbol", "side", "qty", "status", "approved", "reason", "amount", "price")
    )
    return f"{r.source} -> {r.target}" + (f" {keys}" if keys else "")


def configured(args: argparse.Namespace) -> tuple[FinanceConfig, MarketData]:
    """The finance config with the team's fault rates from the arguments, and its market."""
    config = load_config(
        CONFIG,
        {
            "market.start": "2006-01-03",
            "strategy.params.lookback": 3,
            "strategy.params.threshold": 0.0,
            "strategy.risk_profile": "conservative",
            "executor.record_events": True,
            "team": {
                "fault_rate": args.fault_rate,
                "agents": {
                    "researcher": {
                        "failure_rate": args.researcher_failure,
                        "timeout_rate": 0.0,
                        "exception_rate": 0.0,
                    }
                },
            },
        },
    )
    return config, load_market(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="trading days to run, >= 1")
    parser.add_argument("--show", type=int, default=2, help="days of transcript to print, >= 0")
    parser.add_argument("--fault-rate", type=float, default=0.1, help="every agent's fault rate, 0 to 1")
    parser.add_argument(
        "--researcher-failure", type=float, default=0.8, help="the lead researcher's failure rate, 0 to 1"
    )
    args = parser.parse_args(argv)
    at_least(parser, args, days=1, show=0)
    probability(parser, args, "fault_rate", "researcher_failure")
    try:
        config, market = configured(args)
    except FinanceError as exc:  # e.g. the researcher's rates summing past 1
        parser.error(f"--fault-rate, --researcher-failure: {exc}")

    def show(record: Record, data: bytes) -> None:
        if record.time < args.show and (
            record.type.startswith(ORCHESTRATION) or record.type in SHOWN_FINANCE
        ):
            print(f"t={record.time:8.4f} #{record.seq:<5} {record.type:<20} {describe(record)}")

    ctx = SimulationContext(config, market, "demo", [CallbackSink(show)])
    team = ctx.team  # built from the config's `team:` and the strategy's risk profile
    reviews: Counter = Counter()

    def taken(cp) -> None:
        pass

    executor = PhaseExecutor(ctx, Provenance(ctx.world, ctx.log_fields), taken, stop_after=6 * args.days)
    original = team.review

    def counted(phase, cycle, result):
        out = yield from original(phase, cycle, result)
        if "orchestration" in out:
            reviews[(phase, out["orchestration"]["pattern"], out["orchestration"]["end_reason"])] += 1
        return out

    team.review = counted
    ctx.world.spawn(TRADER, executor.behaviour)
    ctx.world.run()
    print(f"\n{ctx.cycle} trading days with patterns {team.patterns}")
    for (phase, pattern, reason), n in sorted(reviews.items()):
        print(f"  {phase:<9} {pattern:<11} {reason:<14} {n}")
    print(
        f"trades {len(ctx.trades)}, capital {ctx.capital:,.2f}, {ctx.world.seq:,} events, "
        f"record chain head {ctx.world.chain_head}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
