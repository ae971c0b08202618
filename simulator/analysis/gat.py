"""Interpretive graph attention over a service dependency graph (an untrained GAT layer).

Edge u -> v means "v depends on u": stress flows from u to v. One torch-geometric `GATConv`
layer, with weights drawn from `seed` and never trained, reads standardised node features
(peak stress, mean stress, min resource, ...) and gives, for every edge and head h,
alpha_h(u, v): the share of v's attention paid to u.

Normalisation: a self-loop v -> v is added here explicitly (the layer's own self-loop
handling is off), and the softmax for v runs over all of v's incoming edges *and* that
self-loop, so ``sum_u alpha_h(u, v) + self_loop_h(v) = 1`` for every node and head. Only
real edges are reported as edges; self-loop weights are kept separately, so the real
incoming attention of v sums to ``1 - self_loop_h(v)``.

How to read it: alpha_h(u, v) is proportional to exp(LeakyReLU(s_h(u) + d_h(v))), where
s_h and d_h are seeded random linear scores of the features. Among the edges into one node
d_h(v) is shared, so the ranking is driven by the source's random score s_h(u); different
seeds weigh features differently (heads are averaged to soften this). Attention values are
shares, so nodes with few dependencies get larger values: compare edges into the same node,
or use the path scores and the agreement helpers, rather than raw values across nodes.

torch and torch_geometric are imported inside the functions that need them, so importing
this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import networkx as nx
import numpy as np

from .graph_metrics import (
    Edge,
    betweenness_ranking,
    edge_order,
    failure_order_ranking,
    node_order,
    spearman_agreement,
    top_k_overlap,
)

if TYPE_CHECKING:
    import pandas as pd

Features = Mapping[Hashable, Mapping[str, float]]
Failed = Mapping[Hashable, float] | Iterable[Hashable]


# -- features -------------------------------------------------------------------------------
def standardise_features(
    nodes: Sequence[Hashable],
    features: Features,
    feature_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """An (n_nodes, n_features) z-scored float64 matrix, rows in `nodes` order.

    Columns are `feature_names` (default: every feature name, sorted). Per column, missing
    values and NaN take the mean of the finite values, +inf the finite maximum and -inf the
    finite minimum (e.g. "time to first failure" of a node that never failed); then
    (x - mean) / std with the population std; a constant column becomes 0.
    """
    known = set(nodes)
    unknown = [n for n in features if n not in known]
    if unknown:
        raise ValueError(f"features given for nodes not in the graph, e.g. {unknown[:3]}")
    names = tuple(feature_names) if feature_names is not None else tuple(
        sorted({name for values in features.values() for name in values})
    )
    if not names:
        raise ValueError("no node features to attend over")
    x = np.full((len(nodes), len(names)), np.nan)
    for i, node in enumerate(nodes):
        values = features.get(node, {})
        for j, name in enumerate(names):
            if name in values:
                x[i, j] = float(values[name])
    for j in range(x.shape[1]):
        column = x[:, j]
        finite = column[np.isfinite(column)]
        if finite.size == 0:
            column[:] = 0.0
            continue
        column[np.isnan(column)] = finite.mean()
        column[column == math.inf] = finite.max()
        column[column == -math.inf] = finite.min()
        std = column.std()
        column[:] = (column - column.mean()) / std if std > 0 else 0.0
    return x, names


# -- attention ----------------------------------------------------------------------------
@dataclass(frozen=True)
class AttentionResult:
    """Attention of one untrained GAT layer; arrays follow `nodes` and `edges` order."""

    nodes: tuple[Hashable, ...]
    edges: tuple[Edge, ...]
    per_head: np.ndarray = field(repr=False)  # (n_edges, heads), real edges only
    self_loops: np.ndarray = field(repr=False)  # (n_nodes, heads)
    feature_names: tuple[str, ...]
    features: np.ndarray = field(repr=False)  # (n_nodes, n_features), standardised
    seed: int
    heads: int

    @property
    def attention(self) -> np.ndarray:
        """Per-edge attention, mean over heads (still sums to 1 per node with the self-loop)."""
        return self.per_head.mean(axis=1)

    def edge_scores(self) -> dict[Edge, float]:
        """{(u, v): mean attention}."""
        return dict(zip(self.edges, self.attention.tolist(), strict=True))

    def frame(self) -> pd.DataFrame:
        """One row per real edge: source, target, head_0..head_{H-1}, attention."""
        import pandas as pd

        data: dict[str, object] = {
            "source": [u for u, _ in self.edges],
            "target": [v for _, v in self.edges],
        }
        for h in range(self.heads):
            data[f"head_{h}"] = self.per_head[:, h]
        data["attention"] = self.attention
        return pd.DataFrame(data)


def gat_attention(
    graph: nx.DiGraph,
    features: Features,
    seed: int = 0,
    heads: int = 4,
    hidden: int = 8,
    negative_slope: float = 0.2,
    feature_names: Sequence[str] | None = None,
) -> AttentionResult:
    """Run one seeded, untrained `GATConv` over `graph` and return its attention weights.

    Nodes are taken in sorted order and edges in (source, target) order; self-loops in the
    input graph are ignored (each node gets exactly one, added explicitly). Weights are drawn
    inside `torch.random.fork_rng`, so the global torch RNG state is left untouched. Runs on
    CPU in float64, in eval mode without dropout.
    """
    import torch
    from torch_geometric.nn import GATConv

    if heads < 1 or hidden < 1:
        raise ValueError(f"heads and hidden must be >= 1, got {heads} and {hidden}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    nodes = node_order(graph.nodes)
    edges = edge_order(graph, nodes)
    x, names = standardise_features(nodes, features, feature_names)
    n = len(nodes)
    position = {node: i for i, node in enumerate(nodes)}
    loops = np.arange(n, dtype=np.int64)
    src = np.concatenate([np.fromiter((position[u] for u, _ in edges), np.int64, len(edges)), loops])
    dst = np.concatenate([np.fromiter((position[v] for _, v in edges), np.int64, len(edges)), loops])
    edge_index = torch.from_numpy(np.stack([src, dst]))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        conv = GATConv(
            x.shape[1], hidden, heads=heads, negative_slope=negative_slope, dropout=0.0,
            add_self_loops=False,
        )
    conv = conv.to(torch.float64).eval()
    with torch.no_grad():
        _, (used_index, alpha) = conv(
            torch.from_numpy(x), edge_index, return_attention_weights=True
        )
    if not torch.equal(used_index, edge_index):
        raise RuntimeError("GATConv reordered the edges; attention cannot be matched to edges")
    weights = alpha.numpy().astype(np.float64).reshape(len(src), heads)
    return AttentionResult(
        nodes=tuple(nodes),
        edges=tuple(edges),
        per_head=weights[: len(edges)].copy(),
        self_loops=weights[len(edges):].copy(),
        feature_names=names,
        features=x,
        seed=seed,
        heads=heads,
    )


# -- failed nodes: ranked edges and dominant paths -------------------------------------------
def failure_times_of(failed: Failed) -> dict[Hashable, float]:
    """{node: first failure time}; a plain collection of nodes gets NaN times (unknown)."""
    if isinstance(failed, Mapping):
        return {node: float(t) for node, t in failed.items()}
    return {node: math.nan for node in failed}


class RankedEdge(NamedTuple):
    """An edge into a failed node with its mean attention (drops straight into a DataFrame)."""

    source: Hashable
    target: Hashable
    attention: float
    source_failed: bool


def rank_failed_edges(result: AttentionResult, failed: Failed) -> list[RankedEdge]:
    """Every edge u -> v into a failed node v, highest mean attention first (ties in edge
    order). Attention is v's share, so it ranks best among the edges of one target."""
    times = failure_times_of(failed)
    _check_known(result, times)
    scores = result.attention
    picked = [i for i, (_, v) in enumerate(result.edges) if v in times]
    picked.sort(key=lambda i: (-scores[i], i))
    return [
        RankedEdge(result.edges[i][0], result.edges[i][1], float(scores[i]),
                   result.edges[i][0] in times)
        for i in picked
    ]


class DependencyPath(NamedTuple):
    """The highest-attention chain from a root cause to a failed node.

    `nodes` runs from the root cause to `target` (the direction stress flows); `score` is
    the product of mean attention along it (1.0 when the target is its own root cause).
    `nodes` is empty and `score` 0.0 when no root cause lies within the hop limit.
    """

    target: Hashable
    root: Hashable | None
    nodes: tuple[Hashable, ...]
    score: float

    @property
    def hops(self) -> int:
        return max(len(self.nodes) - 1, 0)


def _check_known(result: AttentionResult, times: Mapping[Hashable, float]) -> None:
    known = set(result.nodes)
    unknown = [n for n in times if n not in known]
    if unknown:
        raise ValueError(f"failed nodes not in the graph, e.g. {unknown[:3]}")


def dominant_paths(
    result: AttentionResult,
    failed: Failed,
    max_hops: int = 6,
    restrict_to_failed: bool = True,
) -> list[DependencyPath]:
    """For each failed node (in node order), the path back to a root cause that maximises
    the product of mean attention along it, with at most `max_hops` edges.

    With `restrict_to_failed` (default) paths run only through failed nodes and, where
    both failure times are known, only along edges whose source failed no later than their
    target; a root cause is a failed node with no such incoming edge. Otherwise paths may
    run through any node and roots are nodes with no dependencies. Ties go to fewer hops,
    then to the smaller node position.
    """
    if max_hops < 0:
        raise ValueError(f"max_hops must be >= 0, got {max_hops}")
    times = failure_times_of(failed)
    _check_known(result, times)
    n = len(result.nodes)
    position = {node: i for i, node in enumerate(result.nodes)}
    src = np.array([position[u] for u, _ in result.edges], dtype=np.int64)
    dst = np.array([position[v] for _, v in result.edges], dtype=np.int64)
    logw = np.log(result.attention)
    if restrict_to_failed:
        t = np.full(n, np.nan)
        is_failed = np.zeros(n, dtype=bool)
        for node, when in times.items():
            t[position[node]] = when
            is_failed[position[node]] = True
        keep = is_failed[src] & is_failed[dst] & ~(t[src] > t[dst])  # NaN times never block
        is_root = is_failed.copy()
    else:
        keep = np.ones(len(src), dtype=bool)
        is_root = np.ones(n, dtype=bool)
    src, dst, logw = src[keep], dst[keep], logw[keep]
    is_root[dst] = False

    best = np.where(is_root, 0.0, -np.inf)  # log score of the best walk of exactly k hops
    layers, parents = [best], []
    for _ in range(max_hops):
        candidate = layers[-1][src] + logw
        ok = np.isfinite(candidate)
        s, d, c = src[ok], dst[ok], candidate[ok]
        order = np.lexsort((s, -c, d))  # per target: best score, then smallest source
        d_sorted = d[order]
        first = order[np.append(True, d_sorted[1:] != d_sorted[:-1])] if order.size else order
        nxt = np.full(n, -np.inf)
        parent = np.full(n, -1, dtype=np.int64)
        nxt[d[first]] = c[first]
        parent[d[first]] = s[first]
        layers.append(nxt)
        parents.append(parent)
    stacked = np.vstack(layers)  # (max_hops + 1, n)

    paths = []
    for node in result.nodes:
        if node not in times:
            continue
        i = position[node]
        hops = int(np.argmax(stacked[:, i]))  # first maximum: fewest hops
        if not np.isfinite(stacked[hops, i]):
            paths.append(DependencyPath(node, None, (), 0.0))
            continue
        chain = [i]
        for k in range(hops, 0, -1):
            chain.append(int(parents[k - 1][chain[-1]]))
        chain.reverse()
        path_nodes = tuple(result.nodes[j] for j in chain)
        paths.append(
            DependencyPath(node, path_nodes[0], path_nodes, float(np.exp(stacked[hops, i])))
        )
    return paths


# -- the whole analysis ---------------------------------------------------------------------
@dataclass(frozen=True)
class GatAnalysis:
    """Attention, its reading for the failed nodes, baselines and how far they agree."""

    attention: AttentionResult
    failed_edges: list[RankedEdge]
    paths: list[DependencyPath]
    baselines: dict[str, list[Edge]]
    agreement: pd.DataFrame


def analyse_dependencies(
    graph: nx.DiGraph,
    features: Features,
    failed: Failed,
    truth: Sequence[Edge] | None = None,
    seed: int = 0,
    heads: int = 4,
    max_hops: int = 6,
    top_k: int = 10,
    betweenness_k: int | None = None,
    betweenness_seed: int = 0,
) -> GatAnalysis:
    """Attention over `graph`, edges into failed nodes ranked, dominant paths, and agreement.

    Rankings compared (all restricted to the edges into failed nodes, so they share one
    universe): attention; edge betweenness (approximate from `betweenness_k` sampled sources
    when given); order of failure (needs failure times); and `truth`, e.g. the causal
    cascade edges in the order they happened. `agreement` has one row per pair
    (attention vs each other ranking, plus baselines vs truth) with Spearman and top-k
    overlap.
    """
    import pandas as pd

    result = gat_attention(graph, features, seed=seed, heads=heads)
    times = failure_times_of(failed)
    ranked = rank_failed_edges(result, times)
    universe = [e for e in result.edges if e[1] in times]
    allowed = set(universe)
    rankings: dict[str, list[Edge]] = {"attention": [(e.source, e.target) for e in ranked]}
    rankings["betweenness"] = [
        e for e in betweenness_ranking(graph, betweenness_k, betweenness_seed) if e in allowed
    ]
    finite = {node: t for node, t in times.items() if not math.isnan(t)}
    if finite:
        rankings["failure_order"] = [e for e in failure_order_ranking(graph, finite) if e in allowed]
    if truth is not None:
        truth_edges = [(e[0], e[1]) for e in truth]
        outside = [e for e in truth_edges if e not in allowed]
        if outside:
            raise ValueError(f"truth edges are not edges into failed nodes, e.g. {outside[:3]}")
        rankings["truth"] = truth_edges

    pairs = [("attention", name) for name in rankings if name != "attention"]
    if truth is not None:
        pairs += [(name, "truth") for name in rankings if name not in ("attention", "truth")]
    rows = [
        {
            "ranking": a,
            "reference": b,
            "spearman": spearman_agreement(rankings[a], rankings[b], universe),
            f"top_{top_k}_overlap": top_k_overlap(rankings[a], rankings[b], top_k),
            "n_edges": len(universe),
        }
        for a, b in pairs
    ]
    return GatAnalysis(
        attention=result,
        failed_edges=ranked,
        paths=dominant_paths(result, times, max_hops=max_hops),
        baselines={k: v for k, v in rankings.items() if k in ("betweenness", "failure_order")},
        agreement=pd.DataFrame(rows, columns=["ranking", "reference", "spearman",
                                              f"top_{top_k}_overlap", "n_edges"]),
    )
