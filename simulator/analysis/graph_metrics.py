"""Graph metrics over a service dependency graph (edge u -> v: v depends on u).

Deterministic node and edge orders, node features from a recorded run, baseline edge
rankings (edge betweenness, order of failure) and agreement between two edge rankings
(Spearman rank correlation, top-k overlap).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

if TYPE_CHECKING:
    import pandas as pd

Edge = tuple[Hashable, Hashable]

FEATURES = (
    "peak_stress",
    "mean_stress",
    "min_resource",
    "time_above_threshold",
    "time_to_first_failure",
)


# -- deterministic orders -----------------------------------------------------------------
def node_order(nodes: Iterable[Hashable]) -> list[Hashable]:
    """Nodes sorted by id; ids of mixed, incomparable types sort by (type name, repr)."""
    nodes = list(nodes)
    try:
        return sorted(nodes)
    except TypeError:
        return sorted(nodes, key=lambda n: (type(n).__name__, repr(n)))


def edge_order(graph: nx.DiGraph, nodes: Sequence[Hashable] | None = None) -> list[Edge]:
    """The graph's edges without self-loops, sorted by (source, target) position in `nodes`
    (default `node_order(graph)`), never by insertion or set order."""
    position = {n: i for i, n in enumerate(nodes if nodes is not None else node_order(graph))}
    edges = [(u, v) for u, v in graph.edges() if u != v]
    return sorted(edges, key=lambda e: (position[e[0]], position[e[1]]))


def canonical_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy whose node and edge insertion order is the sorted order (no attributes)."""
    nodes = node_order(graph)
    canonical = nx.DiGraph()
    canonical.add_nodes_from(nodes)
    canonical.add_edges_from(edge_order(graph, nodes))
    return canonical


def ranking_from_scores(scores: Mapping[Edge, float], order: Sequence[Edge]) -> list[Edge]:
    """Edges of `order` that have a score, highest first; ties keep their place in `order`."""
    position = {e: i for i, e in enumerate(order)}
    ranked = [e for e in order if e in scores]
    if len(ranked) != len(scores):
        missing = [e for e in scores if e not in position][:3]
        raise KeyError(f"scored edges not in the graph, e.g. {missing}")
    return sorted(ranked, key=lambda e: (-scores[e], position[e]))


# -- node features from a recorded run ------------------------------------------------------
def node_features_from_metrics(
    frame: pd.DataFrame,
    id_column: str = "service_id",
    stress: str = "stress_level",
    resource: str | None = "resource_level",
    status: str | None = "status",
    failed_value: Any = "failed",
    threshold: float = 1.0,
    horizon: float | None = None,
) -> tuple[dict[Hashable, dict[str, float]], dict[Hashable, float]]:
    """Per-node features and first-failure times from metrics rows (time, id, state...).

    A row's state holds from its time until the node's next row (or `horizon`, default the
    last time in the frame): rows are step samples, as the kernel writes them. Rows with the
    same node and time keep only the last (the latest event). Features: peak_stress,
    mean_stress (time-weighted), min_resource, time_above_threshold (stress > threshold),
    time_to_first_failure (first row whose `status` equals `failed_value`; `horizon` if the
    node never failed). Returns (features, failure_times of the nodes that failed).
    """
    columns = ["time", id_column, stress] + [c for c in (resource, status) if c]
    rows = frame[columns].dropna(subset=[id_column])
    rows = rows[rows[id_column] != ""]
    rows = rows.drop_duplicates(subset=[id_column, "time"], keep="last")
    rows = rows.sort_values([id_column, "time"], kind="stable")
    end = float(frame["time"].max()) if horizon is None else float(horizon)
    times = rows["time"].to_numpy(dtype=float)
    ids, names = rows[id_column].factorize()  # codes: no Python object per row
    level = rows[stress].to_numpy(dtype=float)
    nxt = np.append(times[1:], end)
    last = np.append(ids[1:] != ids[:-1], True)
    nxt[last] = end
    duration = np.clip(nxt - times, 0.0, None)

    features: dict[Hashable, dict[str, float]] = {}
    failure_times: dict[Hashable, float] = {}
    starts = np.flatnonzero(np.append(True, ids[1:] != ids[:-1]))
    stops = np.append(starts[1:], len(ids))
    failed_rows = (
        (rows[status] == failed_value).to_numpy() if status else np.zeros(len(ids), bool)
    )
    resources = rows[resource].to_numpy(dtype=float) if resource else None
    for a, b in zip(starts, stops, strict=True):
        node = names[ids[a]]
        node = node.item() if isinstance(node, np.generic) else node
        d = duration[a:b]
        span = d.sum()
        s = level[a:b]
        hit = np.flatnonzero(failed_rows[a:b])
        first = float(times[a + hit[0]]) if hit.size else math.inf
        if hit.size:
            failure_times[node] = first
        features[node] = {
            "peak_stress": float(s.max()),
            "mean_stress": float((s * d).sum() / span) if span > 0 else float(s[-1]),
            "min_resource": float(resources[a:b].min()) if resources is not None else math.nan,
            "time_above_threshold": float(d[s > threshold].sum()),
            "time_to_first_failure": first if hit.size else end,
        }
    return features, failure_times


# -- baseline rankings ------------------------------------------------------------------------
def edge_betweenness(
    graph: nx.DiGraph, k: int | None = None, seed: int = 0
) -> dict[Edge, float]:
    """Edge betweenness centrality on the canonical graph; with `k`, approximated from `k`
    source nodes sampled with `seed` (so the same graph and seed give the same scores)."""
    canonical = canonical_graph(graph)
    if k is not None:
        k = min(k, canonical.number_of_nodes())
    return nx.edge_betweenness_centrality(canonical, k=k, seed=seed, normalized=True)


def betweenness_ranking(graph: nx.DiGraph, k: int | None = None, seed: int = 0) -> list[Edge]:
    """Edges by edge betweenness, highest first (ties in edge order)."""
    return ranking_from_scores(edge_betweenness(graph, k, seed), edge_order(graph))


def failure_order_ranking(
    graph: nx.DiGraph, failure_times: Mapping[Hashable, float]
) -> list[Edge]:
    """Edges u -> v where u failed strictly before v, smallest time gap first (the failure
    that followed most closely is the most likely to have been caused by u)."""
    ranked = []
    for position, (u, v) in enumerate(edge_order(graph)):
        tu, tv = failure_times.get(u), failure_times.get(v)
        if tu is not None and tv is not None and tu < tv:
            ranked.append((tv - tu, position, (u, v)))
    ranked.sort(key=lambda item: item[:2])
    return [edge for _, _, edge in ranked]


# -- agreement between rankings ---------------------------------------------------------------
def _edges(ranking: Iterable[Sequence[Hashable]]) -> list[Edge]:
    edges = [(item[0], item[1]) for item in ranking]
    if len(set(edges)) != len(edges):
        raise ValueError("a ranking lists the same edge twice")
    return edges


def _ranks(ranking: list[Edge], universe: list[Edge]) -> np.ndarray:
    """1-based positions; edges the ranking leaves out share the mean of the remaining ranks."""
    position = {e: i + 1.0 for i, e in enumerate(ranking)}
    tail = (len(position) + 1 + len(universe)) / 2
    return np.array([position.get(e, tail) for e in universe])


def spearman_agreement(
    a: Iterable[Sequence[Hashable]],
    b: Iterable[Sequence[Hashable]],
    universe: Iterable[Edge] | None = None,
) -> float:
    """Spearman rank correlation of two edge rankings (best first) over `universe` (default:
    every edge either ranks, in a fixed order). Edges a ranking leaves out are tied after its
    last place. Items may be edges or tuples starting with (source, target). NaN when fewer
    than two edges or a ranking is constant over the universe."""
    from scipy import stats

    ra, rb = _edges(a), _edges(b)
    edges = _edges(universe) if universe is not None else list(dict.fromkeys(ra + rb))
    known = set(edges)
    outside = [e for e in ra + rb if e not in known]
    if outside:
        raise ValueError(f"ranked edges outside the universe, e.g. {outside[:3]}")
    if len(edges) < 2:
        return math.nan
    x, y = _ranks(ra, edges), _ranks(rb, edges)
    if np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


def top_k_overlap(
    a: Iterable[Sequence[Hashable]], b: Iterable[Sequence[Hashable]], k: int
) -> float:
    """|top-k of a ∩ top-k of b| / min(k, len(a), len(b)); NaN if either ranking is empty.

    With a short ground-truth list as `b`, this is the share of it found in a's top k."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ra, rb = _edges(a), _edges(b)
    size = min(k, len(ra), len(rb))
    if size == 0:
        return math.nan
    return len(set(ra[:k]) & set(rb[:k])) / size
