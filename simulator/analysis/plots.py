"""PNG plots for the report: service timelines and the attention-weighted dependency graph."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd

from .episodes import Episode
from .policy_timeline import Decision


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _step(ax, rows: pd.DataFrame, column: str, end: float, colour: str) -> None:
    """A state column as the step function it is, held until `end`."""
    values = list(rows[column])
    ax.step(list(rows["time"]) + [end], values + values[-1:], where="post", color=colour, lw=1.2)


def timelines(
    states: pd.DataFrame,
    services: list[str],
    episodes: list[Episode],
    decisions: list[Decision],
    flood: tuple[float, float] | None,
    end: float,
    path: Path,
) -> None:
    """Stress and resource over time per service, with failure, recovery and intervention marks."""
    plt = _pyplot()
    fig, axes = plt.subplots(
        len(services), 1, figsize=(10, 2.2 * len(services) + 0.6), sharex=True, squeeze=False
    )
    for ax, service in zip(axes[:, 0], services, strict=True):
        rows = states[states["service_id"] == service].drop_duplicates("time", keep="last")
        ax.set_ylabel(service, rotation=0, ha="right", va="center", fontsize=9)
        right = ax.twinx()
        _step(ax, rows, "stress_level", end, "tab:red")
        _step(right, rows, "resource_level", end, "tab:blue")
        right.set_ylim(0, 1.05)
        right.tick_params(labelsize=7)
        ax.tick_params(labelsize=7)
        if flood:
            ax.axvspan(*flood, color="tab:cyan", alpha=0.12, lw=0)
        for e in episodes:
            if e.service == service:
                ax.axvspan(
                    e.start,
                    e.end if e.end is not None else end,
                    color="red" if e.worst == "failed" else "orange",
                    alpha=0.15,
                    lw=0,
                )
        for d in decisions:
            ax.axvline(d.decided_at, color="purple", ls=":", lw=1)
            if service in d.applied:
                ax.axvline(d.applied[service], color="green", ls="--", lw=1.2)
    handles = [
        plt.Line2D([], [], color="tab:red", label="stress (left)"),
        plt.Line2D([], [], color="tab:blue", label="resource (right)"),
        plt.Rectangle((0, 0), 1, 1, color="red", alpha=0.3, label="failed"),
        plt.Rectangle((0, 0), 1, 1, color="orange", alpha=0.3, label="overloaded"),
        plt.Rectangle((0, 0), 1, 1, color="tab:cyan", alpha=0.3, label="flood"),
        plt.Line2D([], [], color="purple", ls=":", label="policy decision"),
        plt.Line2D([], [], color="green", ls="--", label="intervention arrives"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=7, fontsize=7, frameon=False)
    axes[-1, 0].set_xlabel("simulation time")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def dependency_graph(
    graph: nx.DiGraph,
    attention: dict[tuple[str, str], float],
    cascade_edges: set[tuple[str, str]],
    status: dict[str, str],
    path: Path,
) -> None:
    """Layered dependency graph; edge width by attention, the real cascade in red."""
    plt = _pyplot()
    layers = {node: i for i, gen in enumerate(nx.topological_generations(graph)) for node in gen}
    nx.set_node_attributes(graph, layers, "layer")
    pos = nx.multipartite_layout(graph, subset_key="layer", align="horizontal", scale=1.0)
    pos = {n: (x, -y) for n, (x, y) in pos.items()}
    n = graph.number_of_nodes()
    big = n > 30
    fig, ax = plt.subplots(figsize=(12, 7) if big else (7, 5))
    colours = {"failed": "tab:red", "overloaded": "tab:orange", "ok": "lightgray"}
    size = 50 if big else 1100
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        node_size=size,
        edgecolors="dimgray",
        linewidths=0.5,
        node_color=[colours[status.get(v, "ok")] for v in graph.nodes],
    )
    top = max(attention.values(), default=1.0) or 1.0
    plain = [e for e in graph.edges if e not in cascade_edges]
    hot = [e for e in graph.edges if e in cascade_edges]
    for edges, colour, base, alpha in ((plain, "gray", 0.15, 0.45), (hot, "tab:red", 1.2, 0.95)):
        if edges:
            nx.draw_networkx_edges(
                graph,
                pos,
                ax=ax,
                edgelist=edges,
                arrows=True,
                arrowsize=7 if big else 18,
                node_size=size,
                width=[base + 3.0 * (attention.get(e, 0.0) / top) ** 2 for e in edges],
                edge_color=colour,
                alpha=alpha,
            )
    if not big:
        nx.draw_networkx_labels(graph, pos, ax=ax, font_size=9)
    ax.set_title(
        "Dependency graph (arrows point from a dependency to its dependent)\n"
        "edge width: GAT attention; red edges: the real causal cascade; "
        "nodes: red failed, orange overloaded",
        fontsize=9,
    )
    ax.margins(0.12)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
