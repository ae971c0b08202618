"""Plots (fitness, completion by type, trait drift) and a Markdown report of a traffic run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .config import FIBER_TYPES
from .population import SCALARS


def window(generations: int) -> int:
    """Generations in a plot's rolling mean: 5, or a fiftieth of a long run (a line per
    generation of a 1,000-generation run is a band of noise at this size)."""
    return max(5, generations // 50)


def plots(csv_path: Path, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(csv_path)
    gen, w = df["generation"], window(len(df))

    def smooth(col: str) -> pd.Series:
        return df[col].rolling(w, min_periods=1).mean()

    made = []
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.fill_between(gen, df["fitness_min"], df["fitness_max"], alpha=0.2, label="min - max")
    ax.plot(gen, df["fitness_avg"], lw=0.7, alpha=0.5, label="mean")
    ax.plot(gen, smooth("fitness_avg"), lw=2, label=f"mean, {w}-generation rolling")
    ax.set(xlabel="generation", ylabel="fitness", title="Fitness over generations")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "fitness.png", dpi=100)
    made.append("fitness.png")

    fig, ax = plt.subplots(figsize=(9, 4))
    styles = ["-", "--", "-.", ":"]
    for i, t in enumerate(FIBER_TYPES):
        col = f"completion_{t}"
        if df[col].notna().any():
            ax.plot(gen, smooth(col), styles[i % len(styles)], lw=1.5, label=t)
    ax.plot(gen, smooth("completion"), "k", lw=2.5, alpha=0.6, label="all")
    ax.set(
        xlabel="generation",
        ylabel=f"completed / created ({w}-gen mean)",
        title="Completion by fiber type",
        ylim=(-0.02, 1.02),
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "completion.png", dpi=100)
    made.append("completion.png")

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for k in SCALARS:
        left.plot(gen, smooth(f"trait_{k}"), label=k)
    left.set(xlabel="generation", ylabel=f"population mean ({w}-gen rolling)", title="Behaviour traits")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=8)
    weights = [f"weight_{t}" for t in FIBER_TYPES if f"weight_{t}" in df and df[f"weight_{t}"].max() > 0]
    if weights:
        right.stackplot(gen, [df[c].fillna(0.0) for c in weights], labels=[c[7:] for c in weights])
        right.set(ylim=(0, 1), xlim=(gen.min(), gen.max()))
        right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=4, fontsize=8)
    else:  # a run begun before the weights were recorded
        right.text(0.5, 0.5, "no fiber weights in this CSV", ha="center", transform=right.transAxes)
    right.set(xlabel="generation", ylabel="population mean weight", title="Fiber preferences (sum to 1)")
    fig.suptitle("Trait drift")
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
        weight = df[f"weight_{t}"].dropna() if f"weight_{t}" in df else pd.Series(dtype=float)
        drift = f"{weight.iloc[0]:.3f} -> {weight.iloc[-1]:.3f}" if len(weight) else "-"
        if len(col) or (len(weight) and weight.max() > 0):
            done = f"{col.mean():.1%}" if len(col) else "-"
            per_type.append(f"| {t} | {done} | {drift} |")
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
        "| fiber type | completion (mean over generations) | mean weight, first -> last generation |",
        "|---|---|---|",
        *per_type,
        "",
        *[f"![{p}]({p})" for p in pics],
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
