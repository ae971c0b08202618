"""PNG renderings of a `Findings`: stress per service, status of every affected service over
time, and the dependency graph coloured by what happened."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd

from .findings import MAX_PLOTTED, Findings

STATUS_COLOURS = {"failed": "tab:red", "overloaded": "tab:orange", "ok": "#e6e6e6"}
MAX_ROWS = 80  # status timeline rows; more are said in the title


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def most_affected(f: Findings, states: pd.DataFrame) -> list[str]:
    """Up to MAX_PLOTTED services, most time not ok first (all of them in a small run)."""
    written = set(states["service_id"].unique())
    services = [s for s in f.services if s.service in written]
    if len(services) > MAX_PLOTTED:
        services = sorted(services, key=lambda s: (-s.time_not_ok, -s.peak_stress, s.service))[:MAX_PLOTTED]
        services = [s for s in services if s.episodes] or services
    keep = {s.service for s in services}
    return [s.service for s in f.services if s.service in keep]


def _step(ax, rows: pd.DataFrame, column: str, end: float, colour: str) -> None:
    """A state column as the step function it is, held until `end`."""
    values = rows[column].to_list()
    ax.step(rows["time"].to_list() + [end], values + values[-1:], where="post", color=colour, lw=1.1)


def _marks(ax, f: Findings, service: str | None) -> None:
    if f.flood:
        ax.axvspan(*f.flood, color="tab:cyan", alpha=0.12, lw=0, zorder=0)
    for d in f.decisions:
        ax.axvline(d.decided_at, color="purple", ls=":", lw=0.9)
        if service in d.applied:
            ax.axvline(d.applied[service], color="green", ls="--", lw=1.1)


def service_timelines(f: Findings, states: pd.DataFrame, services: list[str], path: Path) -> None:
    """Small multiples: stress (left axis) and resource (right axis) of each service, with its
    episodes shaded, the flood, policy decisions and the interventions that reached it."""
    plt = _pyplot()
    n = max(len(services), 1)
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.9 * n + 0.9), sharex=True, squeeze=False)
    for ax, service in zip(axes[:, 0], services, strict=False):
        rows = states[states["service_id"] == service].drop_duplicates("time", keep="last")
        right = ax.twinx()
        _step(ax, rows, "stress_level", f.end_time, "tab:red")
        _step(right, rows, "resource_level", f.end_time, "tab:blue")
        ax.set_title(service, fontsize=9, loc="left", pad=2)
        ax.set_ylabel("stress", fontsize=8, color="tab:red")
        right.set_ylabel("resource", fontsize=8, color="tab:blue")
        ax.set_ylim(bottom=0)
        right.set_ylim(0, 1.05)
        for a in (ax, right):
            a.tick_params(labelsize=7)
        for e in f.episodes:
            if e.service == service:
                end = e.end if e.end is not None else f.end_time
                ax.axvspan(e.start, end, color=STATUS_COLOURS[e.worst], alpha=0.18, lw=0)
        _marks(ax, f, service)
    handles = [
        plt.Line2D([], [], color="tab:red", label="stress = backlog / capacity (left)"),
        plt.Line2D([], [], color="tab:blue", label="resource (right)"),
        plt.Rectangle((0, 0), 1, 1, color="tab:red", alpha=0.3, label="episode reached failed"),
        plt.Rectangle((0, 0), 1, 1, color="tab:orange", alpha=0.3, label="overloaded"),
        plt.Rectangle((0, 0), 1, 1, color="tab:cyan", alpha=0.3, label="flood"),
        plt.Line2D([], [], color="purple", ls=":", label="policy decision"),
        plt.Line2D([], [], color="green", ls="--", label="intervention arrives"),
    ]
    height = 1.9 * n + 0.9
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=4,
        fontsize=7,
        frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.3 / height),
    )
    shown = (
        ""
        if len(services) == len(f.services)
        else f" (the {len(services)} most affected of {len(f.services)})"
    )
    fig.suptitle(f"{f.scenario}: stress and resource per service{shown}", fontsize=10, y=1 - 0.05 / height)
    axes[-1, 0].set_xlabel("simulation time")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.75 / height))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def trouble_window(f: Findings) -> tuple[float, float] | None:
    """The span of the flood, the episodes that failed (all episodes if none failed) and the
    interventions, padded; None when it covers most of the run anyway."""
    eps = [e for e in f.episodes if e.worst == "failed"] or f.episodes
    times = [e.start for e in eps] + [e.end if e.end is not None else f.end_time for e in eps]
    times += list(f.flood or ()) + [t for d in f.decisions for t in [d.decided_at, *d.applied.values()]]
    if not times:
        return None
    lo, hi = min(times), max(times)
    pad = 0.05 * (hi - lo) + 1e-9
    lo, hi = max(lo - pad, 0.0), min(hi + pad, f.end_time)
    return (lo, hi) if hi - lo < 0.5 * f.end_time else None


def _status_rows(ax, f: Findings, bars: dict, row: dict[str, int]) -> None:
    for (status, r), spans in bars.items():
        ax.broken_barh(spans, (r - 0.4, 0.8), color=STATUS_COLOURS[status], lw=0)
    if f.flood:
        ax.axvspan(*f.flood, color="tab:cyan", alpha=0.12, lw=0, zorder=0)
    for d in f.decisions:
        ax.axvline(d.decided_at, color="purple", ls=":", lw=0.9)
        for target, t in d.applied.items():
            if target in row:
                ax.plot([t], [row[target]], marker="|", color="green", ms=8, mew=1.5)
    ax.set_ylim(max(len(row), 1) - 0.5, -0.5)
    ax.set_xlabel("simulation time")
    ax.grid(axis="x", alpha=0.3)


def status_timeline(f: Findings, states: pd.DataFrame, path: Path) -> None:
    """One row per service that left ok, in order of first degradation: its status over time
    (exact intervals from the records), interventions reaching it, the flood and decisions;
    with a zoom on the trouble when it is short beside the run."""
    plt = _pyplot()
    services = f.affected()
    hidden = max(len(services) - MAX_ROWS, 0)
    services = services[:MAX_ROWS]
    n = max(len(services), 1)
    row = {s: i for i, s in enumerate(services)}
    bars: dict[tuple[str, int], list[tuple[float, float]]] = {}
    affected = states[states["service_id"].isin(row)]
    for service, rows in affected.groupby("service_id", sort=False, observed=True):
        times = rows["time"].to_list() + [f.end_time]
        for t0, t1, status in zip(times[:-1], times[1:], rows["status"].to_list(), strict=True):
            if status != "ok" and t1 > t0:
                bars.setdefault((status, row[service]), []).append((t0, t1 - t0))
    window = trouble_window(f)
    height = max(1.6 + 0.22 * n, 3.2)
    if window:
        fig, (ax, zoom) = plt.subplots(
            1, 2, figsize=(14, height), sharey=True, gridspec_kw={"width_ratios": [1, 2]}
        )
        _status_rows(zoom, f, bars, row)
        zoom.set_xlim(*window)
        zoom.set_title(f"zoom: t={window[0]:.4g} to {window[1]:.4g}", fontsize=9)
        ax.axvspan(*window, fill=False, ec="black", ls="--", lw=0.8)
    else:
        fig, ax = plt.subplots(figsize=(11, height))
    _status_rows(ax, f, bars, row)
    if not services:
        ax.text(0.5, 0.5, "no service left ok", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(0, f.end_time or 1.0)
    ax.set_yticks(range(len(services)), services, fontsize=7 if n > 30 else 8)
    ax.set_ylabel("service (in order of first degradation)" if n > 8 else "service")
    ax.set_title("whole run", fontsize=9) if window else None
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=STATUS_COLOURS["overloaded"], label="overloaded"),
        plt.Rectangle((0, 0), 1, 1, color=STATUS_COLOURS["failed"], label="failed"),
        plt.Rectangle((0, 0), 1, 1, color="tab:cyan", alpha=0.3, label="flood"),
        plt.Line2D([], [], color="purple", ls=":", label="policy decision"),
        plt.Line2D([], [], color="green", marker="|", ls="", ms=8, mew=1.5, label="intervention arrives"),
    ]
    title = f"{f.scenario}: status of the {len(services)} services that left ok (of {len(f.services)})"
    if hidden:
        title += f"; {hidden} more not drawn (see failure_analysis.json)"
    fig.suptitle(title, fontsize=10)
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def dependency_graph(f: Findings, graph: nx.DiGraph, path: Path) -> None:
    """Layered dependency graph. Nodes coloured by the worst status each service reached; a
    thick black ring marks services not ok at the end. Red edges: the real causal cascade;
    edge width: GAT attention. Labelled: every service on the cascade or that left ok (all of
    them in a small graph)."""
    plt = _pyplot()
    # layers as lists (a node attribute would be grouped into sets: hash-seed ordered positions)
    layers = dict(enumerate(nx.topological_generations(graph)))
    pos = nx.multipartite_layout(graph, subset_key=layers, align="horizontal", scale=1.0)
    pos = {n: (x, -y) for n, (x, y) in pos.items()}
    big = graph.number_of_nodes() > 30
    worst, final = f.worst_status(), f.final_status()
    cascade_edges = {(x.upstream, x.downstream) for x in f.cascade}
    on_cascade = {n for e in cascade_edges for n in e} | set(worst)
    fig, ax = plt.subplots(figsize=(16, 9) if big else (9, 6))
    size = 70 if big else 1100
    nodes = list(graph.nodes)
    still_bad = [n for n in nodes if final.get(n, "ok") != "ok"]
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        nodelist=nodes,
        node_size=size,
        edgecolors="dimgray",
        linewidths=0.5,
        node_color=[STATUS_COLOURS[worst.get(v, "ok")] for v in nodes],
    )
    if still_bad:
        nx.draw_networkx_nodes(
            graph,
            pos,
            ax=ax,
            nodelist=still_bad,
            node_size=size * 1.6,
            node_color="none",
            edgecolors="black",
            linewidths=2.0,
        )
    top = max(f.attention.values(), default=1.0) or 1.0
    plain = [e for e in graph.edges if e not in cascade_edges]
    hot = [e for e in graph.edges if e in cascade_edges]
    for edges, colour, base, alpha in (
        (plain, "gray", 0.15, 0.3 if big else 0.45),
        (hot, "tab:red", 1.2, 0.9),
    ):
        if edges:
            nx.draw_networkx_edges(
                graph,
                pos,
                ax=ax,
                edgelist=edges,
                arrows=True,
                arrowsize=7 if big else 18,
                node_size=size,
                width=[base + 3.0 * (f.attention.get(e, 0.0) / top) ** 2 for e in edges],
                edge_color=colour,
                alpha=alpha,
            )
    labelled = on_cascade if big else set(nodes)
    for node in sorted(labelled):
        x, y = pos[node]
        if big:
            ax.annotate(
                node,
                (x, y),
                xytext=(0, -7),
                textcoords="offset points",
                rotation=60,
                ha="right",
                va="top",
                fontsize=7,
                rotation_mode="anchor",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
            )
        else:
            ax.annotate(
                node, (x, y), xytext=(0, -22), textcoords="offset points", ha="center", va="top", fontsize=9
            )
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=STATUS_COLOURS["failed"], label="failed at some point"),
        plt.Line2D(
            [], [], marker="o", ls="", color=STATUS_COLOURS["overloaded"], label="overloaded at worst"
        ),
        plt.Line2D(
            [], [], marker="o", ls="", color=STATUS_COLOURS["ok"], mec="dimgray", label="never left ok"
        ),
        plt.Line2D([], [], marker="o", ls="", mfc="none", mec="black", mew=2, label="not ok at the end"),
        plt.Line2D([], [], color="tab:red", label="real causal cascade"),
    ]
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=5 if big else 3,
        fontsize=8,
        frameon=False,
    )
    ax.set_title(
        f"{f.scenario}: dependency graph\n"
        "arrows from a dependency to its dependent; edge width: GAT attention"
        + ("; labelled: services on the cascade or that left ok" if big else ""),
        fontsize=10,
    )
    ax.margins(0.08)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
