"""PNG plots of a run: makespan by end reason, and each agent's calls by outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model import END_REASONS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(rows: list[dict[str, Any]], agents: dict[str, dict[str, int]], out: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    present = [r for r in END_REASONS if any(row["end_reason"] == r for row in rows)]
    data = [[row["makespan"] for row in rows if row["end_reason"] == r] for r in present]
    if data:
        ax.hist(
            data, bins=30, stacked=True, label=[f"{r} ({len(d)})" for r, d in zip(present, data, strict=True)]
        )
        ax.legend(title="end reason", fontsize=8)
    ax.set_xlabel("makespan (simulated time)")
    ax.set_ylabel("tasks")
    ax.set_title("Task makespan by end reason")
    fig.tight_layout()
    fig.savefig(out / "makespan.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(agents)
    bottom = [0] * len(names)
    for outcome in ("succeeded", "failed", "exceptions", "timeouts"):
        values = [agents[n][outcome] for n in names]
        ax.bar(names, values, bottom=bottom, label=outcome)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("calls")
    ax.set_title("Agent calls by outcome")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(out / "agents.png", dpi=110)
    plt.close(fig)
