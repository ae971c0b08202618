"""`simulator tournament`: bad specs, outputs, stop and resume, the store."""

from __future__ import annotations

import csv
import json

import pytest

from simulator.cli import main
from simulator.store import Store
from simulator.tournament.runner import JOURNAL, Stop, run_tournament
from simulator.tournament.spec import parse_spec

GOOD = """name: ipd-cli
seed: 1
game: {type: ipd, turns: 30, noise: 0.01}
format: {type: round_robin, repetitions: 2}
players: [tit_for_tat, defector, grudger, random]
"""

BAD = {
    "unknown strategy": (GOOD.replace("grudger", "grudgr"), "players[2]: unknown strategy 'grudgr'"),
    "zero turns": (GOOD.replace("turns: 30", "turns: 0"), "game.turns:"),
    "unknown format": (GOOD.replace("round_robin", "knockout"), "format.type: unknown format type"),
    "too many swiss rounds": (
        GOOD.replace("{type: round_robin, repetitions: 2}", "{type: swiss, rounds: 4}"),
        "format.rounds: 4 swiss rounds need more pairings than 4 players allow (at most 3",
    ),
    "bad key": (GOOD + "extra: 1\n", "extra: unknown key"),
    "one player": (GOOD.replace("[tit_for_tat, defector, grudger, random]", "[tit_for_tat]"),
                   "players:"),
    "bad parameter": (GOOD.replace("random]", "{name: r, strategy: random, params: {p: 2}}]"),
                      "players[3]: random.p: must be a probability"),
    "unknown version": (GOOD.replace("random]", "random@9.9.9]"), "players[3]:"),
    "unknown symbol": (
        GOOD.replace("{type: ipd, turns: 30, noise: 0.01}", "{type: trading, market: {symbols: [sp501]}}")
        .replace("[tit_for_tat, defector, grudger, random]", "[momentum, buy_and_hold]"),
        "game: market.symbols[0]: unknown symbol 'sp501'",
    ),
    "window without data": (
        GOOD.replace("{type: ipd, turns: 30, noise: 0.01}",
                     "{type: trading, market: {symbols: [sp500], start: 2030-01-01}}")
        .replace("[tit_for_tat, defector, grudger, random]", "[momentum, buy_and_hold]"),
        "game.market: market.start 2030-01-01 is outside the data",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_specs_are_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    text, expected = BAD[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    out, db = tmp_path / "out", tmp_path / "reg.sqlite"
    code = main(["tournament", str(spec), "--out", str(out), "--db", str(db), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err and str(spec) in err
    assert not out.exists() and not db.exists()


def test_bad_worker_count_and_missing_file(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD)
    assert main(["tournament", str(spec), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert main(["tournament", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: --workers") and "no such tournament spec file" in err[1]
    assert not (tmp_path / "o").exists()


def test_cli_writes_outputs_and_refuses_to_overwrite(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD)
    out, db = tmp_path / "out", tmp_path / "reg.sqlite"
    assert main(["tournament", str(spec), "--out", str(out), "--db", str(db)]) == 0
    printed = capsys.readouterr()
    assert "12 games" in printed.out and "12/12" in printed.err  # the progress bar
    for name in ("matches.csv", "standings.csv", "standings.md", "summary.json", "ranking.png",
                 "pairwise_scores.png", "elo.png"):
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "matches.csv").open()))
    assert len(rows) == 6 * 2
    assert list(rows[0])[:10] == ["match", "round", "table", "repetition", "player_a", "player_b",
                                  "score_a", "score_b", "winner", "seed"]
    standings = list(csv.DictReader((out / "standings.csv").open()))
    assert list(standings[0])[:7] == ["rank", "player", "score", "wins", "draws", "losses", "elo"]
    for s in standings:  # wins/draws/losses agree with matches.csv
        mine = [r for r in rows if s["player"] in (r["player_a"], r["player_b"])]
        assert int(s["wins"]) == sum(r["winner"] == s["player"] for r in mine)
        assert int(s["draws"]) == sum(r["winner"] == "draw" for r in mine)
        assert int(s["wins"]) + int(s["draws"]) + int(s["losses"]) == len(mine)
    before = (out / "matches.csv").read_bytes()
    assert main(["tournament", str(spec), "--out", str(out), "--db", str(db), "--quiet"]) == 2
    assert "already holds a tournament" in capsys.readouterr().err
    assert (out / "matches.csv").read_bytes() == before
    with Store(db) as store:
        summary = json.loads((out / "summary.json").read_text())
        details = store.get_standing_details(summary["tournament_id"])
        assert [d["player"] for d in details] == [s["player"] for s in standings]
        assert store.get_tournament(summary["tournament_id"])["status"] == "completed"
        assert len(store.get_events(summary["tournament_id"])) == 12


def test_stop_keeps_completed_games_and_resume_plays_only_the_rest(tmp_path, monkeypatch):
    spec = parse_spec({"name": "r", "seed": 2, "game": {"type": "ipd", "turns": 20, "noise": 0.05},
                       "format": {"type": "swiss", "rounds": 3},
                       "players": ["tit_for_tat", "random", "grudger", "defector", "alternator"]})
    full = tmp_path / "full"
    run_tournament(spec, full, plots=False)
    part = tmp_path / "part"
    with pytest.raises(Stop):
        run_tournament(spec, part, plots=False, stop_after=3)
    kept = [json.loads(x) for x in (part / JOURNAL).read_text().splitlines()]
    assert sum(k["kind"] == "game" for k in kept) == 3
    assert not (part / "matches.csv").exists()
    with pytest.raises(Exception, match="already holds"):
        run_tournament(spec, part, plots=False)

    import simulator.tournament.games as games

    played = []
    real = games.ipd_match

    def counting(params, seed):
        played.append(seed)
        return real(params, seed)

    monkeypatch.setattr(games, "ipd_match", counting)
    run_tournament(spec, part, plots=False, resume=True)
    total = sum(1 for line in (full / "matches.csv").read_text().splitlines()[1:] if "(bye)" not in line)
    assert len(played) == total - 3
    for name in ("matches.csv", "standings.csv"):
        assert (part / name).read_bytes() == (full / name).read_bytes()
    other = spec.model_copy(update={"seed": 5})
    with pytest.raises(Exception, match="another spec"):
        run_tournament(other, part, plots=False, resume=True)


def test_interrupt_on_the_command_line_keeps_the_journal(tmp_path, monkeypatch, capsys):
    import simulator.tournament.games as games

    calls = []
    real = games.ipd_match

    def interrupted(params, seed):
        calls.append(seed)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(params, seed)

    monkeypatch.setattr(games, "ipd_match", interrupted)
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD)
    out, db = tmp_path / "out", tmp_path / "reg.sqlite"
    assert main(["tournament", str(spec), "--out", str(out), "--db", str(db), "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
    games_kept = [x for x in (out / JOURNAL).read_text().splitlines() if '"game"' in x]
    assert len(games_kept) == 4
    monkeypatch.setattr(games, "ipd_match", real)
    assert main(["tournament", str(spec), "--out", str(out), "--db", str(db), "--quiet",
                 "--resume"]) == 0
    assert len((out / "matches.csv").read_text().splitlines()) == 13


def test_replay_one_game_from_a_tournament_folder(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(GOOD)
    out, db = tmp_path / "out", tmp_path / "reg.sqlite"
    assert main(["tournament", str(spec), "--out", str(out), "--db", str(db), "--quiet"]) == 0
    rows = list(csv.DictReader((out / "matches.csv").open()))
    noisy = next(r for r in rows if "random" in (r["player_a"], r["player_b"]))
    capsys.readouterr()
    assert main(["tournament-replay", str(out), "--match", noisy["match"], "--db", str(db)]) == 0
    report = json.loads(capsys.readouterr().out.split("\nwrote")[0])
    assert report["valid"] and report["matches_csv"] == [float(noisy["score_a"]), float(noisy["score_b"])]
    from simulator.engine import chain_of_file

    record = out / f"match-{noisy['match']}" / "metrics.csv"
    assert chain_of_file(record) == (report["chain_head"], 32)  # start, 30 turns, end
    # an altered matches.csv is caught
    lines = (out / "matches.csv").read_text().splitlines()
    i = int(noisy["match"]) + 1
    cells = lines[i].split(",")
    cells[6] = str(int(cells[6]) + 1)  # score_a
    lines[i] = ",".join(cells)
    (out / "matches.csv").write_text("\n".join(lines) + "\n")
    assert main(["tournament-replay", str(out), "--match", noisy["match"], "--db", str(db)]) == 1


def test_scenario_specs_validate():
    from pathlib import Path

    from simulator.tournament.cli import check_spec
    from simulator.tournament.spec import load_spec

    found = sorted(Path(__file__).resolve().parent.parent.glob("scenarios/tournament_*.yaml"))
    assert len(found) >= 3
    for path in found:
        check_spec(load_spec(path), None, str(path))


def test_batch_worlds_registry():
    from pathlib import Path

    from simulator.batch import get_world, replications, worlds
    from simulator.infra.replicate import run_outcomes
    from simulator.tournament.games import ipd_match

    assert {"infra", "finance", "ipd"} <= set(worlds())
    assert get_world("infra").run_fn() is run_outcomes
    assert get_world("ipd").run_fn() is ipd_match
    with pytest.raises(ValueError, match="unknown world 'traffic'"):
        get_world("traffic")
    params = {"rules": {"turns": 10}, "a": ["r", "random", {"p": 0.5}], "b": ["d", "defector", {}]}
    results = replications(get_world("ipd").run_fn(), params, 3, 1, progress=False)
    assert [r["outcomes"]["score_b"] for r in results] == [
        ipd_match(params, r["seed"])["score_b"] for r in results
    ]
    assert len({r["outcomes"]["score_b"] for r in results}) > 1
    finance = get_world("finance")  # a finance scenario through the same layer
    config = finance.loader()(Path(__file__).resolve().parent.parent / "scenarios" / "finance_momentum.yaml")
    base = config.model_dump(mode="json")
    base["market"]["start"], base["market"]["end"] = "2008-01-02", "2008-06-30"
    runs = replications(finance.run_fn(), base, 2, config.seed, progress=False)
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert set(runs[0]["outcomes"]) >= {"roi", "sharpe_ratio", "max_drawdown"}
