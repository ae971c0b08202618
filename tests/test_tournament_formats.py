"""Formats give valid pairings for every field size from 2 to 65 (property tests), and a
played elimination and swiss go through the runner end to end."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from simulator.tournament.errors import TournamentError
from simulator.tournament.formats import (
    BYE,
    RoundRobin,
    SingleElimination,
    Swiss,
    bracket_order,
    winner_of,
)
from simulator.tournament.runner import run_tournament
from simulator.tournament.spec import parse_spec

SIZES = range(2, 66)


def play(fmt, rng, draws=0.2):
    """Drive a format with random results (some draws); return every row."""
    rows = []
    r = 1
    while (plan := fmt.pairings(r, rows)) is not None:
        for p in plan:
            if p.b is None:
                rows.append({"match": len(rows), "round": p.round, "table": p.table, "player_a": p.a,
                             "player_b": BYE, "score_a": None, "score_b": None, "winner": p.a})
                continue
            sa = float(rng.integers(0, 3))
            sb = sa if rng.random() < draws else float(rng.integers(0, 3))
            if sb == sa and draws == 0.0:
                sb = sa + 1.0
            rows.append({"match": len(rows), "round": p.round, "table": p.table, "player_a": p.a,
                         "player_b": p.b, "score_a": sa, "score_b": sb,
                         "winner": winner_of(sa, sb, p.a, p.b)})
        r += 1
    return rows


def names(n):
    return [f"p{i:02d}" for i in range(n)]


@pytest.mark.parametrize("seed", [0, 1])
def test_swiss_pairings_for_every_field_size(seed):
    rng = np.random.default_rng(seed)
    for n in SIZES:
        fmt = Swiss(names(n))
        rows = play(fmt, rng)
        rounds = sorted({r["round"] for r in rows})
        assert rounds == list(range(1, math.ceil(math.log2(n)) + 1)), n
        met = Counter(frozenset((r["player_a"], r["player_b"])) for r in rows if r["player_b"] != BYE)
        assert max(met.values()) == 1, f"rematch at n={n}"
        for rnd in rounds:
            seen = [p for r in rows if r["round"] == rnd for p in (r["player_a"], r["player_b"])]
            byes = [r for r in rows if r["round"] == rnd and r["player_b"] == BYE]
            assert len(byes) == n % 2, f"n={n} round {rnd}: byes only for an odd field"
            assert sorted(p for p in seen if p != BYE) == names(n), f"n={n}: everyone plays once"
        bye_holders = Counter(r["player_a"] for r in rows if r["player_b"] == BYE)
        assert not bye_holders or max(bye_holders.values()) == 1


def test_swiss_pairs_equal_scores_and_refuses_impossible_rounds():
    fmt = Swiss(names(8), rounds=7)  # the maximum: everyone meets everyone once
    rows = play(fmt, np.random.default_rng(5), draws=0.0)
    met = Counter(frozenset((r["player_a"], r["player_b"])) for r in rows)
    assert len(met) == 28 and max(met.values()) == 1
    round2 = Swiss(names(8), rounds=2)
    first = play(Swiss(names(8), rounds=1), np.random.default_rng(2), draws=0.0)
    points = round2.points(first)
    for p in round2.pairings(2, first):  # winners meet winners after round one
        assert points[p.a] == points[p.b]
    with pytest.raises(TournamentError, match="at most 7"):
        Swiss(names(8), rounds=8)


def test_bracket_order_keeps_top_seeds_apart():
    assert bracket_order(8) == [1, 8, 4, 5, 2, 7, 3, 6]
    for size in (2, 4, 16, 64, 128):
        order = bracket_order(size)
        assert sorted(order) == list(range(1, size + 1))
        half = size // 2
        assert (1 in order[:half]) != (2 in order[:half]) or size == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_single_elimination_for_every_field_size(seed):
    rng = np.random.default_rng(seed)
    for n in SIZES:
        fmt = SingleElimination(names(n))
        rows = play(fmt, rng, draws=0.3)
        size = 1 << math.ceil(math.log2(n))
        byes = [r for r in rows if r["player_b"] == BYE]
        assert len(byes) == size - n, f"n={n}: byes only to fill the bracket"
        assert all(r["round"] == 1 for r in byes)
        assert sorted(r["player_a"] for r in byes) == names(n)[: size - n], "top seeds get the byes"
        champion = fmt.champion(rows)
        losers = set()
        for rnd in range(1, fmt.rounds + 1):
            losers |= {r["player_a"] if p == r["player_b"] else r["player_b"]
                       for r in rows if r["round"] == rnd and r["player_b"] != BYE
                       for p in [fmt.advancing(rnd, rows)[r["table"]]]}
        assert losers == set(names(n)) - {champion}, f"n={n}: exactly one champion"
        assert len([r for r in rows if r["round"] == fmt.rounds]) == 1


def test_drawn_elimination_goes_to_the_better_seed():
    fmt = SingleElimination(["a", "b", "c", "d"])
    plan = fmt.pairings(1, [])
    rows = [{"match": i, "round": 1, "table": p.table, "player_a": p.a, "player_b": p.b,
             "score_a": 1.0, "score_b": 1.0, "winner": "draw"} for i, p in enumerate(plan)]
    assert [(p.a, p.b) for p in plan] == [("a", "d"), ("b", "c")]
    assert fmt.advancing(1, rows) == ["a", "b"]


def test_round_robin_covers_all_pairs_with_repetitions():
    fmt = RoundRobin(names(6), repetitions=3)
    plan = fmt.pairings(1, [])
    assert len(plan) == 15 * 3
    assert Counter(frozenset((p.a, p.b)) for p in plan) == Counter(
        {frozenset((a, b)): 3 for i, a in enumerate(names(6)) for b in names(6)[i + 1:]}
    )
    assert fmt.pairings(2, []) is None
    assert len(RoundRobin(names(6), self_play=True).pairings(1, [])) == 21


def _spec(fmt, players, turns=30):
    return parse_spec({"name": "f", "seed": 9, "game": {"type": "ipd", "turns": turns},
                       "format": fmt, "players": players})


PLAYERS = ["tit_for_tat", "defector", "grudger", "cooperator", "alternator", "random",
           "win_stay_lose_shift"]


def test_played_elimination_and_swiss(tmp_path):
    elim = run_tournament(_spec({"type": "single_elimination"}, PLAYERS), tmp_path / "e", plots=False)
    assert elim.champion == elim.standings[0]["player"]
    assert sum(r["player_b"] == BYE for r in elim.rows) == 1
    assert "Champion" in (tmp_path / "e" / "standings.md").read_text()
    swiss = run_tournament(_spec({"type": "swiss"}, PLAYERS), tmp_path / "s", plots=False)
    assert {r["round"] for r in swiss.rows} == {1, 2, 3}
    points = {s["player"]: s["points"] for s in swiss.standings}
    ranked = [s["player"] for s in swiss.standings]
    assert ranked == sorted(ranked, key=lambda p: -points[p]) or all(
        points[a] >= points[b] for a, b in zip(ranked, ranked[1:], strict=False)
    )


def test_matching_fallback_gives_valid_pairings(monkeypatch):
    import simulator.tournament.formats as formats

    monkeypatch.setattr(formats, "_pair_in_order", lambda *a, **k: None)
    rng = np.random.default_rng(3)
    for n in range(2, 22):
        rows = play(Swiss(names(n)), rng)
        met = Counter(frozenset((r["player_a"], r["player_b"])) for r in rows if r["player_b"] != BYE)
        assert max(met.values()) == 1, n
        for rnd in {r["round"] for r in rows}:
            assert sum(r["round"] == rnd and r["player_b"] == BYE for r in rows) == n % 2


def test_elimination_seeded_by_rating_from_the_store(tmp_path):
    from simulator.store import Store

    field = ["cooperator", "alternator", "tit_for_tat", "defector", "grudger"]
    with Store(tmp_path / "reg.sqlite") as store:
        rr = run_tournament(_spec({"type": "round_robin"}, field), store=store, plots=False)
        by_elo = sorted(field, key=lambda p: -next(s["elo"] for s in rr.standings if s["player"] == p))
        elim = run_tournament(_spec({"type": "single_elimination", "seeding": "rating"}, field),
                              store=store, plots=False)
        plain = run_tournament(_spec({"type": "single_elimination"}, field), store=store, plots=False)
    byes = [r["player_a"] for r in elim.rows if r["player_b"] == BYE]
    assert byes == by_elo[:3]  # 5 players, bracket of 8: the three best-rated get the byes
    assert [r["player_a"] for r in plain.rows if r["player_b"] == BYE] == field[:3]
    assert by_elo[:3] != field[:3]
