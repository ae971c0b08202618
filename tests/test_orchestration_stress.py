"""The stress study runs end to end and its figures agree with what the patterns must do."""

from __future__ import annotations

from experiments import orchestration_stress as study


def test_study_small(tmp_path, capsys):
    assert study.main(["--replications", "2", "--tasks", "12", "--out", str(tmp_path)]) == 0
    for name in ("summary.csv", "orchestration_stress.md", "orchestration_stress.png", "batch_results.json"):
        assert (tmp_path / name).is_file()
    import pandas as pd

    table = pd.read_csv(tmp_path / "summary.csv")
    assert len(table) == 5 * 3 * 4
    rate = table[table["outcome"] == "success_rate"].set_index(["pattern", "fault_rate"])["mean"]
    for pattern in ("sequential", "concurrent", "group_chat", "handoff", "magentic"):
        assert rate[(pattern, 0.0)] == 1.0  # no faults: every pattern completes every task
        assert rate[(pattern, 0.3)] <= rate[(pattern, 0.0)]
    # a four-step pipeline with no retries cannot beat the magentic team that re-plans
    assert rate[("sequential", 0.3)] < rate[("magentic", 0.3)]
    assert "| magentic | 30% |" in capsys.readouterr().out
