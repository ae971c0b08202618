"""Tournament plots: the ranking, the pairwise score heatmap and Elo over matches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .formats import BYE
from .standings import elo_history

PLOTS = ("ranking.png", "pairwise_scores.png", "elo.png")


def pairwise_mean_scores(labels: Sequence[str], rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """m[i, j]: the mean score of labels[i] in its games against labels[j] (NaN if none)."""
    pos = {p: i for i, p in enumerate(labels)}
    total = np.zeros((len(labels), len(labels)))
    count = np.zeros_like(total)
    for r in rows:
        if r["player_b"] == BYE:
            continue
        a, b = pos[r["player_a"]], pos[r["player_b"]]
        total[a, b] += r["score_a"]
        count[a, b] += 1
        total[b, a] += r["score_b"]
        count[b, a] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def write_plots(folder: Path, labels: Sequence[str], rows: Sequence[dict[str, Any]],
                table: Sequence[dict[str, Any]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    height = max(3.0, 0.3 * len(table))
    fig, ax = plt.subplots(figsize=(7, height))
    names = [s["player"] for s in table][::-1]
    ax.barh(names, [s["score"] for s in table][::-1], color="tab:blue")
    ax.set_xlabel("total score")
    ax.set_title("ranking")
    fig.tight_layout()
    paths.append(folder / PLOTS[0])
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    order = [s["player"] for s in table]
    matrix = pairwise_mean_scores(order, rows)
    size = max(4.0, 0.35 * len(order) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(matrix, cmap="viridis")
    ax.set_xticks(range(len(order)), order, rotation=90, fontsize=7)
    ax.set_yticks(range(len(order)), order, fontsize=7)
    ax.set_title("mean score: row player vs column")
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    paths.append(folder / PLOTS[1])
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    history = elo_history(labels, rows)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if history:
        xs = np.arange(1, len(history) + 1)
        for i, p in enumerate(order[:20]):  # the top twenty, so the plot stays readable
            ax.plot(xs, [h[p] for h in history], label=p, linewidth=1, color=plt.cm.tab20(i))
        ax.legend(fontsize=7, ncol=2)
    ax.set_xlabel("game (match order)")
    ax.set_ylabel("Elo")
    ax.set_title("Elo over matches (K = 32, start 1500)")
    fig.tight_layout()
    paths.append(folder / PLOTS[2])
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    return paths
