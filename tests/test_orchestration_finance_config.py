"""A finance config's team and the strategy parameter `orchestration`: patterns chosen by
parameters, validated names, the CLI, and resume continuing with the same team."""

from __future__ import annotations

import json

import yaml

from simulator.engine import MemorySink
from simulator.finance import SimulationRuntime, load_config
from simulator.finance.cli import main
from simulator.store import Store

from .conftest import SCENARIOS

OVERRIDES = {
    "market.end": "2006-02-20",
    "strategy.params.lookback": 3,
    "strategy.params.threshold": 0.0,
    "executor.record_events": True,
}
DAYS = 4


def config(**extra):
    return load_config(SCENARIOS / "finance_momentum.yaml", {**OVERRIDES, **extra})


def reviewed(cfg):
    """The patterns that reviewed each phase, from the record's phase.complete events."""
    memory = MemorySink()
    outcome = SimulationRuntime(None).run(cfg, sinks=[memory])
    notes = {}
    for r in memory.records:
        if r.type == "phase.complete":
            note = r.payload["result"].get("orchestration")
            notes.setdefault(r.payload["phase"], set()).add(note and note["pattern"])
    return outcome, notes, memory.records


def test_strategy_parameters_choose_the_patterns_recorded():
    plain, plain_notes, plain_records = reviewed(config())
    assert plain_notes == {p: {None} for p in range(6)}
    assert not any(r.type.startswith("agent.") for r in plain_records)
    # the config's profile is moderate: concurrent analysts, a sequential plan, a compliance handoff
    _, notes, _ = reviewed(config(**{"strategy.params.orchestration": {"validate": "none"}}))
    assert notes[0] == {"concurrent"} and notes[1] == {"sequential"} and notes[2] == {None}
    _, notes, records = reviewed(
        config(**{"strategy.params.orchestration": {"plan": "magentic", "validate": "handoff"}})
    )
    assert notes[1] == {"magentic"} and notes[2] == {"handoff"}
    assert sum(r.type == "magentic.plan" for r in records) >= DAYS
    assert sum(r.type == "handoff" for r in records) >= 1
    none = {"analyze": "none", "plan": "none"}
    _, notes, records = reviewed(config(**{"strategy.params.orchestration": none}))
    assert notes[0] == {None} and notes[1] == {None}
    assert not any(r.type.startswith("magentic.") for r in records)
    # the profile chooses what the parameters leave out
    _, notes, _ = reviewed(config(**{"strategy.risk_profile": "conservative", "team": {}}))
    assert notes[1] == {"magentic"} and notes[2] == {"handoff"}


def test_fault_free_team_trades_as_the_plain_run_and_the_version_tag_names_the_patterns():
    plain, _, _ = reviewed(config())
    team, _, _ = reviewed(config(**{"strategy.params.orchestration": {"plan": "magentic"}}))
    assert plain.result.total_trades > 0 and team.result.final_capital == plain.result.final_capital
    assert team.result.record_chain_head != plain.result.record_chain_head
    # the stored strategy parameters include the patterns

def test_the_stored_strategy_parameters_include_the_patterns(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        SimulationRuntime(store).run(config(**{"strategy.params.orchestration": {"plan": "magentic"}}))
        SimulationRuntime(store).run(config())
        params = [s["parameters"] for s in store.list_strategies()]
    assert len(params) == 2
    assert sorted(p.get("orchestration", {}).get("plan", "-") for p in params) == ["-", "magentic"]


def plans(records):
    return [r.payload["result"] for r in records if r.type == "phase.complete" and r.payload["phase"] == 1]


def test_a_team_that_cannot_research_places_no_orders():
    failing = {"team": {"agents": {"researcher": {"failure_rate": 1.0}}}}
    outcome, _, records = reviewed(config(**failing))
    assert outcome.result.total_trades == 0
    assert len(plans(records)) >= DAYS and all(p["orders"] == [] for p in plans(records))
    assert {p["orchestration"]["end_reason"] for p in plans(records)} == {"member failed"}
    # a magentic plan team assigns by declared capability: with nobody declaring research it stalls
    unable = {
        "strategy.params.orchestration": {"plan": "magentic"},
        "team": {"agents": {n: {"capabilities": ["strategy"]} for n in ("researcher", "research_backup")}},
    }
    outcome, _, records = reviewed(config(**unable))
    assert outcome.result.total_trades == 0
    assert {p["orchestration"]["end_reason"] for p in plans(records)} == {"stalled"}


def write(tmp_path, **extra):
    data = yaml.safe_load((SCENARIOS / "finance_momentum.yaml").read_text())
    data.setdefault("market", {})["end"] = "2006-02-20"
    data["market"]["start"] = data["market"].get("start") or "2006-01-03"
    data.setdefault("strategy", {}).setdefault("params", {}).update(lookback=3, threshold=0.0)
    data.update(extra)
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


TEAM = {
    "team": {"fault_rate": 0.3, "agents": {"researcher": {"failure_rate": 0.6}}},
}


def test_cli_runs_a_configured_team_and_resume_continues_with_it(tmp_path, capsys):
    path = write(tmp_path, **TEAM)
    cfg = load_config(path, {"strategy.params.orchestration": {"plan": "magentic"}})
    whole = SimulationRuntime(None).run(cfg)
    db = tmp_path / "f.sqlite"
    plan = ["--param", "orchestration.plan=magentic"]
    assert main(["finance-run", str(path), *plan, "--db", str(db), "--json"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert summary["chain_head"] == whole.result.chain_head
    assert summary["config"]["team"]["fault_rate"] == 0.3
    with Store(db) as store:
        part = SimulationRuntime(store).run(cfg, stop_after=9)  # mid-cycle, after a handoff review
        assert part.status == "interrupted"
    assert main(["finance-resume", part.simulation_id, "--db", str(db)]) == 0
    assert f"{part.simulation_id} completed" in capsys.readouterr().out
    with Store(db) as store:
        assert store.get_checkpoint_chain(part.simulation_id) == whole.hashes
        assert store.get_checkpoint_chain("sim-000001") == whole.hashes
    assert main(["replay", part.simulation_id, "--from", "5", "--db", str(db)]) == 0


def test_bad_team_or_pattern_names_are_one_error_line_and_nothing_is_written(tmp_path, capsys):
    cases = [
        ({"team": {"agents": {"intern": {}}}}, "team.agents.intern: unknown agent 'intern'"),
        (
            {"team": {"agents": {"desk": {"capabilities": ["trading"]}}}},
            "team.agents.desk.capabilities: capability 0: unknown capability 'trading' (allowed: macro",
        ),
        (
            {"strategy": {"name": "momentum", "params": {"orchestration": {"plan": "round_table"}}}},
            "strategy.params.orchestration.plan: unknown pattern 'round_table' for plan "
            "(allowed: sequential, magentic, none)",
        ),
        ({"team": {"fault_rate": 1.5}}, "team.fault_rate: Input should be less than or equal to 1"),
    ]
    for extra, message in cases:
        path = write(tmp_path, **extra)
        db, out = tmp_path / "bad.sqlite", tmp_path / "out"
        code = main(["finance-run", str(path), "--db", str(db), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2, extra
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
        assert not db.exists() and not out.exists()


def test_tournament_entrants_choose_patterns_through_their_parameters():
    import pytest

    from simulator.tournament.games import check_trading
    from simulator.tournament.trading import finance_outcomes

    params = check_trading("momentum", {"lookback": 3, "orchestration": {"plan": "none"}})
    assert params["orchestration"] == {"plan": "none"} and params["lookback"] == 3
    with pytest.raises(ValueError, match="strategy.params.orchestration.plan: unknown pattern 'x'"):
        check_trading("momentum", {"orchestration": {"plan": "x"}})
    # a game entrant's parameters reach the run: a plan review by a researcher that always fails
    base = config().model_dump(mode="json")
    base["team"] = {"agents": {"researcher": {"failure_rate": 1.0}}}
    traded = finance_outcomes(base, 1)["total_trades"]
    base["strategy"]["params"]["orchestration"] = {"plan": "none"}
    assert traded == 0 and finance_outcomes(base, 1)["total_trades"] > 0
