"""The iterated prisoner's dilemma on the kernel: Axelrod agreement, causes, replay, backends."""

from __future__ import annotations

import csv
import itertools

import axelrod as axl
import pytest

from simulator.engine import MemorySink, chain_of_file
from simulator.tournament.games import BatchOptions
from simulator.tournament.ipd import IpdRules, Player, build_match, play_match
from simulator.tournament.runner import run_tournament
from simulator.tournament.spec import parse_spec

AXELROD = {
    "cooperator": axl.Cooperator,
    "defector": axl.Defector,
    "tit_for_tat": axl.TitForTat,
    "grudger": axl.Grudger,
    "alternator": axl.Alternator,
    "tit_for_two_tats": axl.TitFor2Tats,
    "two_tits_for_tat": axl.TwoTitsForTat,
    "suspicious_tit_for_tat": axl.SuspiciousTitForTat,
    "win_stay_lose_shift": axl.WinStayLoseShift,
    "go_by_majority": axl.GoByMajority,
}
FIVE = ["cooperator", "defector", "tit_for_tat", "grudger", "alternator"]


def player(name: str) -> Player:
    return Player(name, name)


def ipd_spec(players, repetitions=1, turns=200, fmt=None, **game):
    return parse_spec({
        "name": "t", "seed": 3,
        "game": {"type": "ipd", "turns": turns, **game},
        "format": fmt or {"type": "round_robin", "repetitions": repetitions},
        "players": players,
    })


def test_round_robin_matches_axelrod_match_by_match(tmp_path):
    result = run_tournament(ipd_spec(FIVE, repetitions=3), tmp_path / "t", plots=False)
    rows = list(csv.DictReader((tmp_path / "t" / "matches.csv").open()))
    pairs = list(itertools.combinations(FIVE, 2))
    assert len(rows) == len(pairs) * 3 == len(result.rows)
    expected = {}
    for a, b in pairs:  # Axelrod's own match engine, same players, turns
        match = axl.Match((AXELROD[a](), AXELROD[b]()), turns=200)
        match.play()
        expected[(a, b)] = tuple(int(s) for s in match.final_score())
    for row in rows:
        got = (int(row["score_a"]), int(row["score_b"]))
        assert got == expected[(row["player_a"], row["player_b"])], row
    assert {int(r["repetition"]) for r in rows} == {0, 1, 2}


@pytest.mark.parametrize("name", sorted(AXELROD))
def test_every_named_strategy_plays_like_axelrods(name):
    for other in ("tit_for_tat", "alternator", "defector", "suspicious_tit_for_tat"):
        ours = play_match(player(name), player(other), IpdRules(turns=60), seed=1)
        match = axl.Match((AXELROD[name](), AXELROD[other]()), turns=60)
        moves = match.play()
        assert ours.history_a == "".join(str(m[0]) for m in moves)
        assert ours.history_b == "".join(str(m[1]) for m in moves)


def test_moves_are_events_caused_by_the_previous_turn():
    sink = MemorySink()
    world = build_match(player("tit_for_tat"), player("alternator"), IpdRules(turns=5), 7, [sink])
    world.run()
    records = sink.records
    assert [r.type for r in records] == ["start"] + ["turn"] * 5 + ["end"]
    turns = records[1:6]
    assert turns[0].cause == records[0].seq  # the first turn answers the start
    for t in range(1, 5):  # turn t + 1 answers turn t, one time unit later
        assert turns[t].cause == turns[t - 1].seq and turns[t].time == t
    assert [(r.payload["p1"], r.payload["p2"]) for r in turns] == [
        ("C", "C"), ("C", "D"), ("D", "C"), ("C", "D"), ("D", "C")
    ]
    for r in turns:  # each record carries both players' post-turn state
        states = dict(r.states)
        assert states["p1"]["move"] == r.payload["p1"] and states["p2"]["move"] == r.payload["p2"]
    assert dict(records[-2].states)["p1"]["score"] == 3 + 0 + 5 + 0 + 5


def test_recorded_match_is_replayable_and_verifiable(tmp_path):
    a, b = player("random"), Player("memory_one", "memory_one", (("first", 0.5), ("p_cc", 0.9),
                                                               ("p_cd", 0.2), ("p_dc", 0.7), ("p_dd", 0.1)))
    rules = IpdRules(turns=50, noise=0.05)
    first = play_match(a, b, rules, 11, record=tmp_path / "one.csv")
    again = play_match(a, b, rules, 11, record=tmp_path / "two.csv")
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert chain_of_file(tmp_path / "one.csv") == (first.chain_head, 52)
    assert first == again
    unrecorded = play_match(a, b, rules, 11)
    assert (unrecorded.score_a, unrecorded.history_a) == (first.score_a, first.history_a)
    other = play_match(a, b, rules, 12)
    assert other.history_a != first.history_a


def test_noise_and_seeded_match_length():
    quiet = play_match(player("cooperator"), player("cooperator"), IpdRules(turns=300), 1)
    assert quiet.history_a == "C" * 300
    noisy = play_match(player("cooperator"), player("cooperator"), IpdRules(turns=300, noise=0.1), 1)
    flipped = noisy.history_a.count("D") + noisy.history_b.count("D")
    assert 30 <= flipped <= 90  # about 10% of 600 moves
    lengths = {play_match(player("defector"), player("defector"),
                          IpdRules(turns=100, prob_end=0.1), s).turns for s in range(20)}
    assert len(lengths) > 5 and max(lengths) <= 100 and min(lengths) >= 1
    again = play_match(player("defector"), player("defector"), IpdRules(turns=100, prob_end=0.1), 3)
    assert again.turns == play_match(player("defector"), player("defector"),
                                     IpdRules(turns=100, prob_end=0.1), 3).turns
    scored = play_match(player("defector"), player("defector"), IpdRules(turns=100, prob_end=0.1), 3)
    assert scored.score_a == scored.turns  # P = 1 per turn


def _outputs(folder):
    return (folder / "matches.csv").read_bytes(), (folder / "standings.csv").read_bytes()


def test_identical_outputs_on_every_backend_and_worker_count(tmp_path):
    spec = ipd_spec(["tit_for_tat", "random", "grudger", "win_stay_lose_shift", "alternator"],
                    repetitions=3, turns=40, noise=0.05)
    serial = tmp_path / "serial"
    run_tournament(spec, serial, plots=False)
    reference = _outputs(serial)
    assert b"random" in reference[0]
    for backend, workers in (("processes", 1), ("processes", 2), ("dask", 2)):
        folder = tmp_path / f"{backend}{workers}"
        run_tournament(spec, folder, BatchOptions(backend, workers), plots=False)
        assert _outputs(folder) == reference, (backend, workers)
    reseeded = spec.model_copy(update={"seed": 4})
    run_tournament(reseeded, tmp_path / "other", plots=False)
    assert _outputs(tmp_path / "other")[0] != reference[0]
