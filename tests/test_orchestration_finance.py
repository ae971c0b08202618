"""The phase executor reviewed by orchestration teams: opt-in, recorded in the finance chain."""

from __future__ import annotations

from simulator.engine import MemorySink
from simulator.finance.checkpoints import Provenance
from simulator.finance.config import load_config, load_market
from simulator.finance.context import SimulationContext
from simulator.finance.executor import PhaseExecutor
from simulator.finance.services import TRADER
from simulator.orchestration.phases import PhasePatterns, PhaseTeam

from .conftest import SCENARIOS

DAYS = 6
OVERRIDES = {
    "market.end": "2006-02-28",
    "strategy.params.lookback": 3,
    "strategy.params.threshold": 0.0,
    "executor.record_events": True,
}


def trade(patterns=None, failure_rates=None):
    config = load_config(SCENARIOS / "finance_momentum.yaml", OVERRIDES)
    memory = MemorySink()
    ctx = SimulationContext(config, load_market(config), "t", [memory])
    team = PhaseTeam(ctx.world, patterns, TRADER, failure_rates) if patterns else None
    executor = PhaseExecutor(
        ctx, Provenance(ctx.world, ctx.log_fields), lambda cp: None, stop_after=6 * DAYS, team=team
    )
    ctx.world.spawn(TRADER, executor.behaviour)
    ctx.world.run()
    return ctx, memory.records


def reviews(records, phase):
    return [
        r.payload["result"]["orchestration"]
        for r in records
        if r.type == "phase.complete" and r.payload["phase"] == phase
    ]


def test_fault_free_reviews_change_nothing_but_are_recorded():
    plain, plain_records = trade()
    reviewed, records = trade(PhasePatterns(plan="magentic", analysts_needed=3))
    assert plain.trades and plain.trades == reviewed.trades and plain.capital == reviewed.capital
    assert not any(r.type.startswith("agent.") for r in plain_records)
    assert [r["end_reason"] for r in reviews(records, 1)] == ["completed"] * DAYS
    assert {r["pattern"] for r in reviews(records, 0)} == {"concurrent"}
    assert {r["pattern"] for r in reviews(records, 2)} == {"handoff"}
    assert sum(r.type == "handoff" for r in records) == DAYS
    assert plain.world.chain_head != reviewed.world.chain_head


def test_a_plan_team_that_cannot_research_places_no_orders():
    unreliable = {"researcher": 1.0, "research_backup": 1.0}
    ctx, records = trade(PhasePatterns(plan="magentic"), unreliable)
    assert ctx.trades == []
    assert {r["end_reason"] for r in reviews(records, 1)} == {"stalled"}
    plans = [r for r in records if r.type == "phase.complete" and r.payload["phase"] == 1]
    assert all(p.payload["result"]["orders"] == [] for p in plans)


def test_risk_profile_chooses_patterns_and_runs_are_deterministic():
    assert PhasePatterns.for_strategy("conservative").plan == "magentic"
    assert PhasePatterns.for_strategy("aggressive").validate == "none"
    assert PhasePatterns.for_strategy("moderate") == PhasePatterns()
    a, _ = trade(PhasePatterns(fault_rate=0.3))
    b, _ = trade(PhasePatterns(fault_rate=0.3))
    assert a.world.chain_head == b.world.chain_head and a.trades == b.trades


def test_the_demo_prints_a_magentic_replan_and_the_desk_trading(capsys):
    from experiments import orchestration_finance as demo

    assert demo.main(["--days", "2", "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "task ledger (re-plan 1): research->research_backup" in out
    assert "desk hands off to compliance_officer" in out
    assert "exchange.order" in out and "record chain head" in out


def test_a_reviewed_run_resumed_from_a_checkpoint_equals_the_uninterrupted_run():
    import json

    from simulator.finance.checkpoints import restore_world

    patterns = PhasePatterns(plan="magentic", fault_rate=0.3)
    config = load_config(SCENARIOS / "finance_momentum.yaml", OVERRIDES)
    market = load_market(config)

    def drive(stop_after, restore_from=()):
        ctx = SimulationContext(config, market, "t", [])
        team = PhaseTeam(ctx.world, patterns, TRADER, {"researcher": 0.7})
        taken = []
        resume_time, provenance = 0.0, Provenance(ctx.world, ctx.log_fields)
        if restore_from:
            resume_time = restore_world(
                ctx.world, [json.loads(cp.text) for cp in restore_from], ctx.log_fields
            )["time"]
            provenance = Provenance(ctx.world, ctx.log_fields, len(restore_from), restore_from[-1].state_hash)
        executor = PhaseExecutor(
            ctx, provenance, taken.append, resume_time=resume_time, stop_after=stop_after, team=team
        )
        ctx.world.spawn(TRADER, executor.behaviour)
        ctx.world.run()
        return ctx, taken

    whole, all_cps = drive(6 * DAYS)
    _, first = drive(9)  # stops mid-cycle, after the validate review of day 1
    resumed, rest = drive(6 * DAYS - 9, first)
    assert [cp.state_hash for cp in first + rest] == [cp.state_hash for cp in all_cps]
    assert resumed.world.chain_head == whole.world.chain_head and resumed.trades == whole.trades
