"""The trading game: one finance run per strategy, composite scores, Elo, the registry."""

from __future__ import annotations

import pytest

from simulator.finance import SimulationRuntime, load_market, parse_config
from simulator.store import Store
from simulator.tournament import trading
from simulator.tournament.games import TradingGame
from simulator.tournament.registry import Registry
from simulator.tournament.runner import run_tournament
from simulator.tournament.scoring import composite_score, elo_update
from simulator.tournament.spec import parse_spec

WINDOW = {"symbols": ["sp500"], "start": "2010-01-04", "end": "2010-06-30"}


def test_composite_score_formula():
    assert composite_score(0.10, 1.5) == pytest.approx(0.6 * 10 + 0.4 * 49.995)
    assert composite_score(3.0, -9.0) == pytest.approx(0.6 * 100 - 0.4 * 100)  # both clamped
    assert composite_score(0.10, 1.5, 1.0, 0.0) == pytest.approx(10.0)


def test_elo_update_by_hand():
    assert elo_update(1500, 1500, 1.0) == (1516.0, 1484.0)
    a, b = elo_update(1600, 1400, 0.5)
    expected = 1 / (1 + 10 ** (-200 / 400))
    assert a == pytest.approx(1600 + 32 * (0.5 - expected)) and a + b == pytest.approx(3000)


def trading_spec(players, fmt=None):
    return parse_spec({
        "name": "trade", "seed": 4,
        "game": {"type": "trading", "market": WINDOW},
        "format": fmt or {"type": "round_robin", "repetitions": 1},
        "players": players,
    })


def test_round_robin_costs_one_run_per_strategy_and_scores_match_direct_runs(tmp_path, monkeypatch):
    calls = []
    real = trading.finance_outcomes

    def counting(params, seed):
        calls.append(params["strategy"]["name"])
        return real(params, seed)

    monkeypatch.setattr(trading, "finance_outcomes", counting)
    players = ["buy_and_hold", "momentum", "ma_trend", "mean_reversion",
               {"name": "hold_again", "strategy": "buy_and_hold"}]
    result = run_tournament(trading_spec(players), tmp_path / "t", plots=False)
    assert sorted(calls) == sorted(["buy_and_hold", "momentum", "ma_trend", "mean_reversion",
                                    "buy_and_hold"])  # N runs, not N^2
    assert len(result.rows) == 10
    seed = TradingGame(trading_spec(players).game, 4).window_seed
    by_player = {s["player"]: s for s in result.standings}
    for name in ("momentum", "ma_trend"):
        config = parse_config({"seed": seed, "market": WINDOW, "strategy": {"name": name},
                               "executor": {"record_events": False}})
        direct = SimulationRuntime(None).run(config, market=load_market(config)).result
        s = by_player[name]
        assert s["roi"] == pytest.approx(direct.roi) and s["sharpe"] == pytest.approx(direct.sharpe_ratio)
        assert s["composite"] == pytest.approx(composite_score(direct.roi, direct.sharpe_ratio))
    for r in result.rows:
        a, b = by_player[r["player_a"]]["composite"], by_player[r["player_b"]]["composite"]
        assert (r["score_a"], r["score_b"]) == (a, b)
        assert r["winner"] == (r["player_a"] if a > b else r["player_b"] if b > a else "draw")
    same = [r for r in result.rows if {r["player_a"], r["player_b"]} == {"buy_and_hold", "hold_again"}]
    assert same[0]["winner"] == "draw"
    ranked = [s["player"] for s in result.standings]
    composites = [by_player[p]["composite"] for p in ranked]
    assert composites == sorted(composites, reverse=True)


def test_registered_versions_play_and_standings_reach_the_store(tmp_path):
    with Store(tmp_path / "reg.sqlite") as store:
        reg = Registry(store)
        reg.register("fast", "1.0.0", {"game": "trading", "base": "momentum", "lookback": 10})
        reg.evolve("fast", {"lookback": 40})
        spec = trading_spec(["fast@1.0.0", "fast", "buy_and_hold"])
        result = run_tournament(spec, tmp_path / "t", store=store, plots=False)
        assert {s["player"] for s in result.standings} == {"fast@1.0.0", "fast", "buy_and_hold"}
        rows = store.get_standings(result.tournament_id)
        assert {r["strategy_id"] for r in rows} == {"fast@1.0.0", "fast@1.1.0", "buy_and_hold@0.0.0"}
        assert store.get_strategy("fast@1.1.0")["parameters"]["lookback"] == 40
    fast = {s["player"]: s for s in result.standings}
    assert fast["fast@1.0.0"]["composite"] != fast["fast"]["composite"]  # the versions differ
