"""Edges into failed nodes, dominant dependency paths and the full analysis."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from simulator.analysis.gat import (
    analyse_dependencies,
    dominant_paths,
    gat_attention,
    rank_failed_edges,
)


def random_dag(seed: int, n: int = 14, p: float = 0.3) -> nx.DiGraph:
    rng = np.random.default_rng(seed)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for u in range(n):
        for v in range(u + 1, n):
            if rng.random() < p:
                graph.add_edge(u, v)
    return graph


def features_for(graph: nx.DiGraph, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {n: {"stress": float(rng.random()), "resource": float(rng.random())} for n in graph}


def brute_force_best(graph, scores, target, roots, allowed, max_hops):
    best = -1.0
    for root in roots:
        if root == target:
            best = max(best, 1.0)
            continue
        for path in nx.all_simple_paths(graph, root, target, cutoff=max_hops):
            edges = list(zip(path, path[1:], strict=False))
            if all(e in allowed for e in edges):
                best = max(best, math.prod(scores[e] for e in edges))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("max_hops", [1, 3])
def test_dominant_paths_match_brute_force(seed, max_hops):
    graph = random_dag(seed)
    result = gat_attention(graph, features_for(graph, seed), seed=seed)
    scores = result.edge_scores()
    rng = np.random.default_rng(100 + seed)
    failed = {int(n): float(rng.integers(0, 5)) for n in graph if rng.random() < 0.6}
    allowed = {(u, v) for u, v in graph.edges
               if u in failed and v in failed and failed[u] <= failed[v]}
    roots = [n for n in failed if not any(e[1] == n for e in allowed)]
    paths = dominant_paths(result, failed, max_hops=max_hops)
    assert [p.target for p in paths] == sorted(failed)
    for path in paths:
        expected = brute_force_best(graph, scores, path.target, roots, allowed, max_hops)
        if expected < 0:
            assert path.nodes == () and path.score == 0.0 and path.root is None
            continue
        assert path.score == pytest.approx(expected, rel=1e-12)
        assert path.nodes[0] == path.root and path.nodes[-1] == path.target
        assert path.root in roots and path.hops <= max_hops
        product = math.prod(scores[e] for e in zip(path.nodes, path.nodes[1:], strict=False))
        assert product == pytest.approx(path.score, rel=1e-12)


def test_paths_through_any_node_end_at_graph_roots():
    graph = random_dag(5)
    result = gat_attention(graph, features_for(graph, 5), seed=0)
    scores = result.edge_scores()
    sources = [n for n in graph if graph.in_degree(n) == 0]
    failed = [12, 13]
    for path in dominant_paths(result, failed, max_hops=4, restrict_to_failed=False):
        expected = brute_force_best(graph, scores, path.target, sources, set(graph.edges), 4)
        assert path.score == pytest.approx(expected, rel=1e-12)
        assert graph.in_degree(path.root) == 0


def test_time_order_blocks_paths_and_roots_are_their_own_cause():
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    features = {"a": {"x": 0.0}, "b": {"x": 1.0}, "c": {"x": 3.0}}
    result = gat_attention(graph, features)
    in_order = {p.target: p for p in dominant_paths(result, {"a": 0, "b": 1, "c": 2})}
    assert in_order["a"].nodes == ("a",) and in_order["a"].score == 1.0
    assert in_order["c"].nodes == ("a", "b", "c")
    backwards = {p.target: p for p in dominant_paths(result, {"a": 5, "b": 1, "c": 2})}
    assert backwards["c"].nodes == ("b", "c") and backwards["b"].root == "b"
    assert dominant_paths(result, {"a": 0, "b": 1, "c": 2}, max_hops=1)[2].nodes == ()  # a: 2 hops


def test_rank_failed_edges_orders_edges_into_failed_nodes():
    graph = random_dag(3)
    result = gat_attention(graph, features_for(graph, 3), seed=4)
    failed = [4, 7, 9, 13]
    ranked = rank_failed_edges(result, failed)
    assert {(e.source, e.target) for e in ranked} == {
        (u, v) for u, v in graph.edges if v in failed}
    assert [e.attention for e in ranked] == sorted((e.attention for e in ranked), reverse=True)
    assert all(e.source_failed == (e.source in failed) for e in ranked)
    with pytest.raises(ValueError, match="not in the graph"):
        rank_failed_edges(result, [99])


def test_analyse_dependencies_compares_rankings():
    graph = random_dag(7, n=20)
    failed = {n: float(n) for n in graph if n % 3 != 1}
    truth = [(u, v) for u, v in sorted(graph.edges) if u in failed and v in failed][:5]
    analysis = analyse_dependencies(graph, features_for(graph, 7), failed, truth=truth,
                                    seed=1, top_k=5)
    table = analysis.agreement
    assert list(zip(table.ranking, table.reference, strict=True)) == [
        ("attention", "betweenness"), ("attention", "failure_order"), ("attention", "truth"),
        ("betweenness", "truth"), ("failure_order", "truth")]
    assert table.spearman.between(-1, 1).all() and table.top_5_overlap.between(0, 1).all()
    into_failed = sum(1 for _, v in graph.edges if v in failed)
    assert (table.n_edges == into_failed).all()
    assert len(analysis.paths) == len(failed)
    with pytest.raises(ValueError, match="truth edges"):  # node 1 did not fail
        analyse_dependencies(graph, features_for(graph, 7), failed, truth=[(0, 1)])
