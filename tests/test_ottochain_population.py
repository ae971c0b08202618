"""A seeded population driving all seven fiber types, in the fixed and the upstream mode."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simulator.cli import main
from simulator.engine import chain_of_file
from simulator.ottochain.config import FIBER_TYPES, load_scenario
from simulator.ottochain.run import run_scenario

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "ottochain"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent (definitions live there)")
SMALL = {"agents": 12, "fibers_per_agent": 3, "until": 900, "seed": 13}
SUCCESS = {
    "SimpleOrder": {"delivered"},
    "TicTacToe": {"finished"},
    "TokenEscrow": {"released"},
    "Contract": {"COMPLETED"},
    "ApprovalWorkflow": {"approved", "rejected"},
    "Auction": {"SETTLED"},
}


def _run(tmp_path: Path, mode: str, name: str) -> dict:
    scenario = load_scenario(ROOT / "scenarios/ottochain_population.yaml", {**SMALL, "mode": mode})
    return run_scenario(scenario, tmp_path / name)


def _last_rows(path: Path) -> dict[str, dict]:
    last = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            if row["fiber"]:
                last[row["fiber"]] = row
    return last


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("otto")
    return tmp, {
        "fixed": _run(tmp, "fixed", "fixed"),
        "upstream": _run(tmp, "upstream", "upstream"),
    }


def test_fixed_mode_drives_all_seven_types_to_terminal_states(runs):
    tmp, s = runs
    per = s["fixed"]["outcomes"]["per_type"]
    assert set(per) == set(FIBER_TYPES)
    for name, row in per.items():
        assert row["created"] > 0 and row["terminal"] == row["created"], (name, row)
    assert s["fixed"]["outcomes"]["completion"] > 0.7
    # independently, from the metrics file: the last recorded state of each fiber
    last = _last_rows(tmp / "fixed" / "metrics.csv")
    for name, states in SUCCESS.items():
        done = sum(1 for r in last.values() if r["fiber_type"] == name and r["state"] in states)
        assert done == per[name]["completed"], name


def test_upstream_mode_reproduces_zero_completion_not_signed_by_owner(runs):
    tmp, s = runs
    up = s["upstream"]["outcomes"]
    assert up["created"] > 0 and up["completed"] == 0
    for name, row in up["per_type"].items():
        top = max(row["rejections"].items(), key=lambda kv: kv[1])[0]
        assert top == "not signed by owner", name
    with (tmp / "upstream" / "metrics.csv").open() as fh:
        results = [
            json.loads(r["payload"]).get("result") for r in csv.DictReader(fh) if r["event_type"] == "apply"
        ]
    refused = sum(r["rejections"].get("not signed by owner", 0) for r in up["per_type"].values())
    assert results.count("not signed by owner") == refused > 0


def test_same_seed_is_byte_identical_and_the_chain_verifies_the_file(runs, tmp_path):
    tmp, s = runs
    for mode in ("fixed", "upstream"):
        again = _run(tmp_path, mode, mode)
        assert (tmp_path / mode / "metrics.csv").read_bytes() == (tmp / mode / "metrics.csv").read_bytes()
        assert again["chain_head"] == s[mode]["chain_head"]
        head, count = chain_of_file(tmp / mode / "metrics.csv")
        assert (head, count) == (s[mode]["chain_head"], s[mode]["records"])
    assert s["fixed"]["chain_head"] != s["upstream"]["chain_head"]


def test_cli_runs_both_modes_and_bad_keys_are_one_line(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("agents: 8\nfibers_per_agent: 1\nuntil: 600\nseed: 3\n")
    assert (
        main(["ottochain", "run", str(spec), "--mode", "both", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    )
    out = capsys.readouterr().out
    assert "fixed" in out and "upstream" in out and any(line.startswith("all ") for line in out.splitlines())
    assert (tmp_path / "o" / "fixed" / "summary.json").is_file()
    spec.write_text("agents: 8\nfiber_mix: {Lottery: 1}\n")
    assert main(["ottochain", "run", str(spec), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Lottery" in err and "SimpleOrder" in err
    assert not (tmp_path / "bad").exists()


def test_transitions_land_only_at_snapshots(runs):
    tmp, s = runs
    with (tmp / "fixed" / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    interval = s["fixed"]["config"]["metagraph"]["snapshot_interval"]
    until = s["fixed"]["config"]["until"]
    changed = [r for r in rows if r["fiber"]]
    assert changed and all(r["event_type"] == "apply" for r in changed)
    assert all(abs(float(r["time"]) / interval - round(float(r["time"]) / interval)) < 1e-9 for r in changed)
    snapshots = [r for r in rows if r["event_type"] == "snapshot"]
    ordinals = s["fixed"]["outcomes"]["snapshots"]
    assert len(snapshots) == ordinals and ordinals in (until // interval - 1, until // interval)


def test_run_outputs_carry_signatures_but_no_private_keys(runs):
    import base64

    from simulator.ottochain.wallet import Wallet

    tmp, s = runs
    text = (tmp / "fixed" / "metrics.csv").read_text() + (tmp / "fixed" / "summary.json").read_text()
    assert '""signature""' in text
    for i in range(SMALL["agents"]):
        wallet = Wallet.from_seed_bytes(f"{SMALL['seed']}/agent_{i + 1:03d}".encode())
        secret = wallet.secret_bytes()
        assert wallet.public_hex in text or wallet.address not in text
        for form in (secret.hex(), base64.b64encode(secret).decode()[:40]):
            assert form not in text


def test_counterparties_cosign_in_fixed_mode_only(runs):
    tmp, s = runs
    for mode, expect_all in (("fixed", True), ("upstream", False)):
        with (tmp / mode / "metrics.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        creates = [
            json.loads(r["payload"])["tx"]
            for r in rows
            if r["event_type"] == "submit" and json.loads(r["payload"])["tx"]["message"]["kind"] == "create"
        ]
        assert creates
        for tx in creates:
            n = len(tx["proofs"])
            assert n == (len(tx["message"]["parties"]) if expect_all else 1)
        abandoned = sum(r["event_type"] == "abandon" for r in rows)
        skipped = s[mode]["outcomes"]["not_created"]
        assert abandoned == skipped["refused"] + skipped["expired"]
        assert (abandoned > 0) == expect_all  # some invitations are refused; upstream sends none
