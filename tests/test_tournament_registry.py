"""The semver strategy registry and its CLI; evolution across generations."""

from __future__ import annotations

import json

import pytest

from simulator.cli import main
from simulator.store import Store
from simulator.tournament.evolution import evolve
from simulator.tournament.registry import Registry, RegistryError
from simulator.tournament.spec import parse_spec

MOM = {"game": "trading", "base": "momentum", "lookback": 20}


@pytest.fixture
def reg(tmp_path):
    with Store(tmp_path / "reg.sqlite") as store:
        yield Registry(store)


def test_register_latest_versions_and_errors(reg):
    reg.register("mom", "1.0.0", MOM, "first")
    reg.register("mom", "1.10.0", {**MOM, "lookback": 30})
    assert reg.versions("mom") == ["1.0.0", "1.10.0"]  # semver order, not text order
    assert reg.latest("mom")["version"] == "1.10.0"
    assert reg.get("mom@1.0.0")["parameters"] == {**MOM, "short": False, "threshold": 0.0, "weight": 1.0}
    with pytest.raises(RegistryError, match="not a semantic version"):
        reg.register("mom", "2.0", MOM)
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("mom", "1.10.0", MOM)
    with pytest.raises(RegistryError, match="does not increase on the latest, 1.10.0"):
        reg.register("mom", "1.9.0", MOM)
    with pytest.raises(RegistryError, match="lookback"):
        reg.register("mom", "3.0.0", {**MOM, "lookback": 1})
    with pytest.raises(RegistryError, match="parameters.game"):
        reg.register("x", "1.0.0", {"game": "chess", "base": "momentum"})
    with pytest.raises(RegistryError, match="unknown strategy mom@4.0.0"):
        reg.get("mom@4.0.0")


def test_evolve_bumps_by_the_kind_of_change_and_keeps_lineage(reg):
    reg.register("mom", "1.0.0", MOM)
    minor = reg.evolve("mom", {"lookback": 40})
    assert minor["version"] == "1.1.0" and minor["parameters"]["lookback"] == 40
    assert minor["parameters"]["threshold"] == 0.0  # merged, not replaced
    patch = reg.evolve("mom", {}, description="notes only")
    assert patch["version"] == "1.1.1" and patch["description"] == "notes only"
    major = reg.evolve("mom", {"base": "ma_trend", "fast": 10, "slow": 50})
    assert major["version"] == "2.0.0" and "lookback" not in major["parameters"]
    forced = reg.evolve("mom@1.0.0", {"lookback": 25}, bump="patch")
    assert forced["version"] == "2.0.1"  # bumps the latest, so versions only increase
    chain = reg.lineage("mom@2.0.1")
    assert [(x["child_id"], x["parent_id"], x["relation"]) for x in chain] == [
        ("mom@2.0.1", "mom@1.0.0", "evolve:patch")
    ]
    assert reg.get("mom@1.1.0")["parents"][0]["change"] == {"lookback": 40}


def test_cross_averages_numbers_and_draws_the_rest(reg):
    reg.register("a", "1.0.0", {"game": "trading", "base": "momentum", "lookback": 20, "short": True})
    reg.register("b", "1.0.0", {"game": "trading", "base": "momentum", "lookback": 61,
                                "threshold": 0.02, "short": False})
    child = reg.cross("a", "b", seed=1)
    assert child["id"] == "a_x_b@1.0.0"
    p = child["parameters"]
    assert p["lookback"] == 40 and p["threshold"] == pytest.approx(0.01)
    assert p["short"] in (True, False)
    again = reg.cross("a", "b", seed=1)
    assert again["version"] == "1.1.0" and again["parameters"] == p  # seeded: same draws
    assert {x["parent_id"] for x in reg.lineage("a_x_b")} == {"a@1.0.0", "b@1.0.0"}
    reg.register("c", "1.0.0", {"game": "ipd", "base": "random", "p": 0.2})
    with pytest.raises(RegistryError, match="cannot cross"):
        reg.cross("a", "c")


def test_strategy_cli(tmp_path, capsys):
    db = str(tmp_path / "reg.sqlite")
    assert main(["strategy", "register", "gen@1.0.0", "--game", "ipd", "--base", "memory_one",
                 "--param", "p_cd=0.3", "--db", db]) == 0
    assert main(["strategy", "evolve", "gen", "--param", "p_dd=0.2", "--db", db]) == 0
    assert main(["strategy", "register", "pav@1.0.0", "--game", "ipd", "--base", "memory_one",
                 "--param", "p_cd=0.0", "--param", "p_dc=0.0", "--param", "p_dd=1.0", "--db", db]) == 0
    assert main(["strategy", "cross", "gen", "pav", "--db", db]) == 0
    capsys.readouterr()
    assert main(["strategy", "show", "gen_x_pav", "--json", "--db", db]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == "gen_x_pav@1.0.0"
    assert shown["parameters"]["p_dd"] == pytest.approx(0.6)
    assert {x["parent_id"] for x in shown["lineage"]} == {"gen@1.1.0", "pav@1.0.0", "gen@1.0.0"}
    assert main(["strategy", "list", "gen", "--db", db]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["gen@1.0.0", "gen@1.1.0"]
    assert main(["strategy", "register", "gen@1.0.1", "--game", "ipd", "--base", "memory_one",
                 "--db", db]) == 2
    assert main(["strategy", "register", "bad@1.0.0", "--game", "ipd", "--base", "memory_one",
                 "--param", "p_cd=3", "--db", db]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: gen@1.0.1: version does not increase on the latest, 1.1.0"
    assert err[1].startswith("error: parameters: memory_one.p_cd: must be a probability")
    assert main(["strategy", "list", "--db", str(tmp_path / "none.sqlite")]) == 2


def test_evolution_across_generations_is_checkpointed_and_resumable(tmp_path):
    spec = parse_spec({
        "name": "evo", "seed": 3,
        "game": {"type": "ipd", "turns": 30, "noise": 0.02},
        "format": {"type": "round_robin"},
        "players": ["tit_for_tat", "defector", "random", "memory_one", "grudger", "alternator"],
    })
    with Store(tmp_path / "reg.sqlite") as store:
        log = evolve(spec, tmp_path / "evo", store, generations=3)
        assert [g["generation"] for g in log] == [0, 1, 2]
        for before, after in zip(log, log[1:], strict=False):
            assert len(after["players"]) == 6
            assert set(after["players"]) != set(before["players"])  # the bottom was replaced
        born = [p for p in log[-1]["players"] if not p.endswith("@0.0.0")]
        assert born and all(Registry(store).lineage(p) for p in born)
        for g in range(3):
            assert (tmp_path / "evo" / f"gen-{g:03d}" / "standings.csv").is_file()
        # a fourth generation continues from the checkpoint, without replaying the first three
        more = evolve(spec, tmp_path / "evo", store, generations=4, resume=True)
        assert more[:3] == log and more[3]["players"] == json.loads(
            (tmp_path / "evo" / "evolution.json").read_text())["log"][3]["players"]


def test_evolve_cli_registers_inline_players_and_resumes(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: e\nseed: 2\ngame: {type: ipd, turns: 20}\nformat: {type: round_robin}\n"
        "players: [tit_for_tat, defector, {name: gtft, strategy: memory_one, params: {p_cd: 0.3}},"
        " {name: shy, strategy: random, params: {p: 0.2}}]\n"
    )
    out, db = tmp_path / "evo", str(tmp_path / "reg.sqlite")
    assert main(["evolve", str(spec), "--generations", "2", "--out", str(out), "--db", db]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and "gtft@1.0.0" in printed[0] and "shy@1.0.0" in printed[0]
    assert main(["evolve", str(spec), "--generations", "3", "--out", str(out), "--db", db,
                 "--resume", "--quiet"]) == 0
    state = json.loads((out / "evolution.json").read_text())
    assert [g["generation"] for g in state["log"]] == [0, 1, 2]
    with Store(db) as store:
        reg = Registry(store)
        assert reg.get("gtft@1.0.0")["parameters"]["p_cd"] == 0.3
        assert any(reg.lineage(p) for p in state["players"] if not p.endswith(("@0.0.0", "@1.0.0")))
