"""Untrained GAT attention: normalisation, seeding, determinism, edge order."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from simulator.analysis.gat import gat_attention, standardise_features

EDGES = [
    ("power", "water"), ("power", "hospital"), ("water", "hospital"),
    ("transport", "hospital"), ("power", "telecom"), ("telecom", "emergency"),
    ("transport", "emergency"), ("hospital", "emergency"), ("emergency", "hospital"),
]


def features_for(nodes):
    return {
        n: {"peak_stress": (i * 0.77) % 2.0, "mean_stress": i * 0.31, "min_resource": 1 - i / 9}
        for i, n in enumerate(sorted(nodes))
    }


@pytest.fixture(scope="module")
def graph():
    return nx.DiGraph(EDGES)


def test_import_does_not_load_torch():
    code = "import sys, simulator.analysis.gat; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_attention_sums_to_one_per_target_and_head(graph):
    result = gat_attention(graph, features_for(graph), seed=3, heads=4)
    position = {n: i for i, n in enumerate(result.nodes)}
    totals = result.self_loops.copy()
    for (_, v), weights in zip(result.edges, result.per_head, strict=True):
        totals[position[v]] += weights
    np.testing.assert_allclose(totals, 1.0, rtol=0, atol=1e-12)
    # mean over heads keeps the normalisation
    mean_totals = result.self_loops.mean(axis=1)
    np.add.at(mean_totals, [position[v] for _, v in result.edges], result.attention)
    np.testing.assert_allclose(mean_totals, 1.0, rtol=0, atol=1e-12)
    # a node without dependencies attends only to itself
    assert result.self_loops[position["power"]].tolist() == [1.0] * 4


def test_attention_matches_the_gat_formula(graph):
    """Recompute alpha from the seeded layer's weights: the edges are matched correctly."""
    import torch
    from torch_geometric.nn import GATConv

    features = features_for(graph)
    result = gat_attention(graph, features, seed=5, heads=2, hidden=3)
    x, _ = standardise_features(result.nodes, features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        conv = GATConv(x.shape[1], 3, heads=2, add_self_loops=False)
    w = conv.lin.weight.detach().double().numpy()
    a_src = conv.att_src.detach().double().numpy()[0]  # (heads, hidden)
    a_dst = conv.att_dst.detach().double().numpy()[0]
    h = (x @ w.T).reshape(len(x), 2, 3)
    s, d = (h * a_src).sum(-1), (h * a_dst).sum(-1)
    position = {n: i for i, n in enumerate(result.nodes)}

    def score(i, j):  # logit of edge i -> j
        z = s[i] + d[j]
        return np.where(z > 0, z, 0.2 * z)

    for k, (u, v) in enumerate(result.edges):
        j = position[v]
        sources = [position[a] for a, b in result.edges if b == v] + [j]
        logits = np.array([score(i, j) for i in sources])
        expected = np.exp(score(position[u], j)) / np.exp(logits).sum(axis=0)
        np.testing.assert_allclose(result.per_head[k], expected, rtol=1e-12)


def test_same_seed_identical_different_seed_different(graph):
    features = features_for(graph)
    a = gat_attention(graph, features, seed=11)
    b = gat_attention(graph, features, seed=11)
    c = gat_attention(graph, features, seed=12)
    assert np.array_equal(a.per_head, b.per_head) and np.array_equal(a.self_loops, b.self_loops)
    assert not np.allclose(a.per_head, c.per_head)


def test_global_torch_rng_untouched_and_cpu_only(graph):
    import torch

    before = torch.random.get_rng_state().clone()
    result = gat_attention(graph, features_for(graph), seed=1)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert result.per_head.dtype == np.float64 and isinstance(result.per_head, np.ndarray)
    assert not torch.cuda.is_initialized()


def test_edge_order_is_sorted_and_independent_of_insertion(graph):
    shuffled = list(EDGES)
    random.Random(4).shuffle(shuffled)
    other = nx.DiGraph()
    other.add_nodes_from(sorted(graph, reverse=True))
    other.add_edges_from(shuffled)
    other.add_edge("water", "water")  # input self-loops are dropped; each node gets one
    features = features_for(graph)
    a = gat_attention(graph, features, seed=2)
    b = gat_attention(other, features, seed=2)
    assert a.nodes == tuple(sorted(graph))
    assert list(a.edges) == sorted(EDGES)
    assert a.edges == b.edges and np.array_equal(a.per_head, b.per_head)
    assert list(a.frame().columns) == ["source", "target", "head_0", "head_1", "head_2",
                                       "head_3", "attention"]


def test_standardise_features_imputes_and_scales():
    nodes = ["a", "b", "c", "d"]
    features = {
        "a": {"ttf": 1.0, "flat": 2.0, "peak": 4.0},
        "b": {"ttf": 3.0, "flat": 2.0},
        "c": {"ttf": math.inf, "flat": 2.0, "peak": 0.0},
        "d": {"ttf": float("nan"), "flat": 2.0, "peak": 2.0},
    }
    x, names = standardise_features(nodes, features)
    assert names == ("flat", "peak", "ttf")
    assert x[:, 0].tolist() == [0.0] * 4  # constant column
    peak = np.array([4.0, 2.0, 0.0, 2.0])  # missing -> mean of the others
    np.testing.assert_allclose(x[:, 1], (peak - peak.mean()) / peak.std())
    ttf = np.array([1.0, 3.0, 3.0, 2.0])  # inf -> finite max, NaN -> finite mean
    np.testing.assert_allclose(x[:, 2], (ttf - ttf.mean()) / ttf.std())
    chosen, names = standardise_features(nodes, features, feature_names=["ttf"])
    assert names == ("ttf",) and chosen.shape == (4, 1)


def test_bad_inputs_are_rejected(graph):
    with pytest.raises(ValueError, match="not in the graph"):
        gat_attention(graph, {"nowhere": {"x": 1.0}})
    with pytest.raises(ValueError, match="no node features"):
        gat_attention(graph, {})
    with pytest.raises(ValueError, match="seed"):
        gat_attention(graph, features_for(graph), seed=-1)
