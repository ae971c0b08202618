"""Plots (fitness, completion by type, trait drift) and a Markdown report of a traffic run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .config import FIBER_TYPES
from .population import SCALARS


def plots(csv_path: Path, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(csv_path)
    made = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for col in ("fitness_max", "fitness_avg", "fitness_min"):
        ax.plot(df["generation"], df[col], label=col.removeprefix("fitness_"))
    ax.set(xlabel="generation", ylabel="fitness", title="Fitness over generations")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fitness.png", dpi=100)
    made.append("fitness.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for t in FIBER_TYPES:
        col = f"completion_{t}"
        if df[col].notna().any():
            ax.plot(df["generation"], df[col].rolling(5, min_periods=1).mean(), label=t)
    ax.plot(df["generation"], df["completion"], "k--", label="all")
    ax.set(xlabel="generation", ylabel="completed / created (5-gen mean)", title="Completion by fiber type")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "completion.png", dpi=100)
    made.append("completion.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in SCALARS:
        ax.plot(df["generation"], df[f"trait_{k}"], label=k)
    ax.set(xlabel="generation", ylabel="population mean", title="Trait drift")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "traits.png", dpi=100)
    made.append("traits.png")
    plt.close("all")
    return made


def report(summary: dict[str, Any], csv_path: Path, out: Path) -> Path:
    df = pd.read_csv(csv_path)
    o = summary["outcomes"]
    cfg = summary["config"]
    pics = plots(csv_path, out)
    per_type = []
    for t in FIBER_TYPES:
        col = df[f"completion_{t}"].dropna()
        if len(col):
            per_type.append(f"| {t} | {col.mean():.1%} |")
    lines = [
        f"# Traffic run `{summary['scenario']}`",
        "",
        f"Seed {summary['seed']}, mode `{cfg['mode']}`, population {cfg['population']}, "
        f"{summary['generations']} generations of {cfg['episode']:g} simulated seconds. "
        f"Chain head `{summary['chain_head']}`.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| population size (min / max over generations) | {o['population_min']} / {o['population_max']} |",
        f"| completion, mean over generations (completed / created) | {o['completion_mean']:.1%} |",
        "| mean fitness, first fifth -> last fifth of the run | "
        f"{o['fitness_first_fifth']} -> {o['fitness_last_fifth']} |",
        "| attestations per agent per generation: first generation / mean | "
        f"{df['attestations_per_agent'].iloc[0]:.2f} / {df['attestations_per_agent'].mean():.2f} |",
        "| attestations per agent over its lifetime (members of the last generation, mean) | "
        f"{df['attestations_lifetime_per_agent'].iloc[-1]:.2f} |",
        f"| bridge failures (outage, error, lost answer) | {o['bridge_failures']} |",
        f"| retried messages dropped as duplicates by the metagraph | {o['duplicates']} |",
        f"| transitions lost / applied twice | {o['lost']} / {o['double_applied']} |",
        "",
        "| fiber type | completion (mean over generations) |",
        "|---|---|",
        *per_type,
        "",
        *[f"![{p}]({p})" for p in pics],
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
