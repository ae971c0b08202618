"""Baseline edge rankings, agreement between rankings, node features from metrics rows."""

from __future__ import annotations

import math

import networkx as nx
import pandas as pd
import pytest
from scipy import stats

from simulator.analysis.graph_metrics import (
    betweenness_ranking,
    edge_betweenness,
    edge_order,
    failure_order_ranking,
    node_features_from_metrics,
    spearman_agreement,
    top_k_overlap,
)


def test_failure_order_ranking_by_time_gap():
    graph = nx.DiGraph([("a", "b"), ("a", "c"), ("b", "c"), ("c", "d"), ("d", "a"), ("e", "d")])
    times = {"a": 0.0, "b": 4.0, "c": 5.0, "d": 5.0}
    # a->b gap 4, a->c gap 5, b->c gap 1; c->d simultaneous and d->a backwards are left out
    assert failure_order_ranking(graph, times) == [("b", "c"), ("a", "b"), ("a", "c")]


def test_betweenness_is_exact_by_default_and_insertion_independent():
    edges = [(0, 1), (1, 2), (2, 3), (0, 4), (4, 3), (1, 4)]
    graph, reordered = nx.DiGraph(edges), nx.DiGraph(list(reversed(edges)))
    assert edge_betweenness(graph) == pytest.approx(
        nx.edge_betweenness_centrality(graph, normalized=True))
    assert betweenness_ranking(graph) == betweenness_ranking(reordered)
    # ties keep edge order: (1, 2) before (4, 3), (0, 1) before (0, 4), (1, 4) before (2, 3)
    assert betweenness_ranking(graph) == [(1, 2), (4, 3), (0, 1), (0, 4), (1, 4), (2, 3)]


def test_approximate_betweenness_is_seeded():
    graph = nx.gnp_random_graph(60, 0.08, seed=1, directed=True)
    reordered = nx.DiGraph()
    reordered.add_nodes_from(reversed(list(graph)))
    reordered.add_edges_from(reversed(list(graph.edges)))
    a = edge_betweenness(graph, k=10, seed=3)
    assert a == edge_betweenness(reordered, k=10, seed=3)
    assert a != edge_betweenness(graph, k=10, seed=4)
    assert betweenness_ranking(graph, k=10, seed=3) == betweenness_ranking(reordered, k=10, seed=3)


def test_edge_order_sorts_mixed_ids_and_drops_self_loops():
    graph = nx.DiGraph([("b", 2), (1, "a"), ("a", "a"), (1, 2)])
    assert edge_order(graph) == [(1, 2), (1, "a"), ("b", 2)]  # ints sort before strs


def test_spearman_matches_scipy_on_full_rankings():
    a = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("a", "c")]
    b = [("b", "c"), ("a", "b"), ("a", "c"), ("d", "e"), ("c", "d")]
    universe = sorted(a)
    expected = stats.spearmanr([a.index(e) for e in universe], [b.index(e) for e in universe])
    assert spearman_agreement(a, b) == pytest.approx(expected.statistic, rel=1e-12)
    assert spearman_agreement(a, a) == pytest.approx(1.0)
    assert spearman_agreement(a, list(reversed(a))) == pytest.approx(-1.0)


def test_spearman_ties_unranked_edges_after_the_last_place():
    universe = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]
    truth = [("b", "c")]  # the other three share rank (2 + 4) / 2 = 3
    attention = [("b", "c"), ("a", "b"), ("c", "d"), ("d", "e")]
    expected = stats.spearmanr([3, 1, 3, 3], [2, 1, 3, 4]).statistic
    assert spearman_agreement(truth, attention, universe) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(spearman_agreement(truth, truth, [("b", "c")]))
    with pytest.raises(ValueError, match="outside the universe"):
        spearman_agreement([("x", "y")], attention, universe)
    with pytest.raises(ValueError, match="twice"):
        spearman_agreement([("a", "b"), ("a", "b")], attention)


def test_top_k_overlap():
    a = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]
    b = [("c", "d"), ("a", "b"), ("x", "y"), ("b", "c")]
    assert top_k_overlap(a, b, 2) == 0.5
    assert top_k_overlap(a, b, 4) == 0.75
    assert top_k_overlap(a, [("c", "d")], 3) == 1.0  # the short list is found in a's top 3
    assert top_k_overlap(a, [("d", "e")], 3) == 0.0
    assert math.isnan(top_k_overlap(a, [], 3))
    ranked = [("a", "b", 0.9), ("b", "c", 0.5)]  # tuples starting with (source, target)
    assert top_k_overlap(ranked, a, 2) == 1.0
    with pytest.raises(ValueError, match="k must be"):
        top_k_overlap(a, b, 0)


def test_node_features_from_metrics_rows():
    frame = pd.DataFrame(
        [
            (0.0, "grid", 0.2, 1.0, "ok"),
            (0.0, "grid", 0.5, 1.0, "ok"),  # same time: the later row wins
            (2.0, "grid", 1.5, 0.6, "overloaded"),
            (3.0, "grid", 3.0, 0.2, "failed"),
            (1.0, "water", 0.1, 0.9, "ok"),
            (5.0, "", 0.0, 0.0, ""),  # a record that touched no service
            (8.0, "grid", 0.5, 0.8, "ok"),
        ],
        columns=["time", "service_id", "stress_level", "resource_level", "status"],
    )
    features, failures = node_features_from_metrics(frame, threshold=1.0, horizon=10.0)
    assert failures == {"grid": 3.0}
    grid = features["grid"]
    assert grid["peak_stress"] == 3.0 and grid["min_resource"] == 0.2
    # 0.5 for 2, 1.5 for 1, 3.0 for 5, 0.5 for 2 -> 18.5 over 10
    assert grid["mean_stress"] == pytest.approx(1.85)
    assert grid["time_above_threshold"] == 6.0 and grid["time_to_first_failure"] == 3.0
    water = features["water"]
    assert water["mean_stress"] == pytest.approx(0.1) and water["time_above_threshold"] == 0.0
    assert water["time_to_first_failure"] == 10.0  # never failed: the horizon
    assert set(features) == {"grid", "water"}
