"""The traffic run's report: per-generation fiber preferences, the figures of report.md against
the CSV, and the plots on short and long runs."""

from __future__ import annotations

import json
import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from simulator.ottochain.config import FIBER_TYPES
from simulator.ottochain.traffic import run_traffic
from simulator.ottochain.traffic_report import report, window

from .test_ottochain_traffic import small


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("traffic")
    cfg = small(
        population=10, generations=4, episode=200.0, fiber_types=["SimpleOrder", "TicTacToe", "Voting"]
    )
    summary = run_traffic(cfg, out)
    report(summary, out / "generations.csv", out)  # what `simulator traffic` does after the run
    return out, summary, pd.read_csv(out / "generations.csv")


def test_a_rows_fiber_weights_are_the_mean_of_the_members_who_played_it(run):
    """Generation g's weight_<type> is the mean over the population that played it (the
    members in checkpoint g-1), computed here from the store; they sum to 1 over the types."""
    out, _, df = run
    con = sqlite3.connect(out / "traffic.sqlite")
    for _, row in df.iterrows():
        g = int(row["generation"])
        data = json.loads(
            con.execute("SELECT data FROM checkpoints WHERE phase_index = ?", (g - 1,)).fetchone()[0]
        )
        for t in FIBER_TYPES:
            want = np.mean([m["traits"]["fiber_weights"].get(t, 0.0) for m in data["members"]])
            assert row[f"weight_{t}"] == pytest.approx(want, abs=1e-6)
        assert sum(row[f"weight_{t}"] for t in FIBER_TYPES) == pytest.approx(1.0, abs=1e-5)
        assert row["weight_Auction"] == 0.0  # not in this run's types
    con.close()


def test_report_md_states_the_csvs_figures(run):
    out, summary, df = run
    text = (out / "report.md").read_text()
    assert (
        f"| completion, mean over generations (completed / created) | {df['completion'].mean():.1%} |" in text
    )
    for t in ("SimpleOrder", "TicTacToe", "Voting"):
        done = df[f"completion_{t}"].dropna()
        w = df[f"weight_{t}"]
        line = f"| {t} | {done.mean():.1%} | {w.iloc[0]:.3f} -> {w.iloc[-1]:.3f} |"
        assert line in text
    assert "| Auction |" not in text  # neither played nor preferred
    assert summary["chain_head"] in text
    for png in ("fitness.png", "completion.png", "traits.png"):
        assert f"![{png}]({png})" in text
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / png).stat().st_size > 10_000


def test_a_csv_without_fiber_weights_still_reports(run, tmp_path):
    """A run begun before the weights were recorded (its CSV lacks the columns)."""
    out, summary, df = run
    old = df.drop(columns=[c for c in df if c.startswith("weight_")])
    old.to_csv(tmp_path / "generations.csv", index=False)
    path = report(summary, tmp_path / "generations.csv", tmp_path)
    text = path.read_text()
    assert re.search(r"\| SimpleOrder \| [0-9.]+% \| - \|", text)
    assert (tmp_path / "traits.png").stat().st_size > 10_000


def test_long_runs_are_smoothed_over_a_fiftieth_of_the_run():
    assert [window(n) for n in (1, 20, 250, 300, 1000)] == [5, 5, 5, 6, 20]
