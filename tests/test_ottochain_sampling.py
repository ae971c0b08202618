"""The plain-Python draws and quantile the traffic episode uses instead of numpy's, checked
against numpy itself: same indices, same stream position after, same float."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from simulator.ottochain.identity import TrustIndex, acceptable, trust_graph, trusted_within
from simulator.ottochain.sampling import quantile, weighted_index, weighted_sample
from simulator.ottochain.traffic import Traffic
from simulator.ottochain.traffic_world import TrafficWorld

from .test_ottochain_traffic import small


def _weights(r: random.Random, n: int) -> list[float]:
    w = [r.choice([1.0, 2.0, 3.0, r.random(), 0.0]) for _ in range(n)]
    if not any(w):
        w[r.randrange(n)] = 1.0
    total = sum(w)
    return [x / total for x in w]


@pytest.mark.parametrize("case", range(400))
def test_weighted_draws_are_numpys(case):
    r = random.Random(case)
    p = _weights(r, r.randint(1, 250))
    seed = r.randrange(2**32)
    ref, ours = np.random.default_rng(seed), np.random.default_rng(seed)
    assert weighted_index(ours, p) == int(ref.choice(len(p), p=p))
    k = r.randint(1, 4)
    if sum(1 for x in p if x > 0) >= k:
        assert weighted_sample(ours, p, k) == [int(i) for i in ref.choice(len(p), size=k, replace=False, p=p)]
    else:
        with pytest.raises(ValueError):
            weighted_sample(ours, p, k)
    assert ours.random() == ref.random()  # the same number of draws taken


@pytest.mark.parametrize("case", range(300))
def test_quantile_is_numpys_to_the_bit(case):
    r = random.Random(case)
    pick = [10, 10.0, r.uniform(-20, 200), round(r.uniform(0, 100), 6)]
    values = [r.choice(pick) for _ in range(r.randint(1, 60))]
    q = r.choice([0.0, 0.5, 1.0, r.random(), r.random() * 0.5])
    assert quantile(values, q) == float(np.quantile(values, q))


def test_trust_index_is_networkx_reachability():
    r = random.Random(7)
    nodes = [f"a{i}" for i in range(40)]
    edges = [[r.choice(nodes), r.choice(nodes), 0.5] for _ in range(120)] + [["a1", "ghost", 1.0]]
    edges += [["a3", "a3", 0.2], ["ghost", "a2", 0.7], ["a4", "a5", 0.0]]  # a loop, a stranger, weight 0
    g = trust_graph(edges, nodes)
    index = TrustIndex(g)
    direct = TrustIndex.from_edges(edges, nodes)
    assert direct.index == index.index and direct.succ == index.succ
    for node in nodes:
        for depth in (1, 2, 3):
            want = set(nx.single_source_shortest_path_length(g, node, cutoff=depth)) - {node}
            assert index.members(index.within(node, depth)) == want == trusted_within(g, node, depth)
    assert index.within("nobody", 2) == 0 == direct.within("nobody", 2)


def test_each_agents_acceptable_counterparties_are_identity_acceptables():
    traffic = Traffic(small(population=30))
    traffic.genesis()
    r = random.Random(3)
    for m in traffic.members:
        m["reputation"] = r.choice([10, 10.0, 25.5, r.uniform(0, 80)])
        m["traits"]["risk_tolerance"] = r.random()
    world = TrafficWorld(
        traffic.cfg, 1, traffic.members, {m["id"]: traffic.wallet(m["id"]) for m in traffic.members}, {}, []
    )
    rep = {m["id"]: m["reputation"] for m in traffic.members}
    for m in traffic.members:
        others = [a for a in sorted(rep) if a != m["id"]]
        assert world.acceptable_to(m["id"]) == acceptable(rep, others, m["traits"]["risk_tolerance"])


def test_an_episodes_networkx_trust_graph_is_its_index():
    """The episode answers depth queries from bit sets; its networkx graph, built when asked,
    reaches the same agents."""
    traffic = Traffic(small(population=12))
    traffic.genesis()
    ids = [m["id"] for m in traffic.members]
    r = random.Random(5)
    edges = [[r.choice(ids), r.choice(ids), 0.6] for _ in range(30)] + [[ids[0], "agent_99999", 1.0]]
    world = TrafficWorld(traffic.cfg, 1, traffic.members, {a: traffic.wallet(a) for a in ids}, {}, edges)
    assert isinstance(world.graph, nx.DiGraph) and set(world.graph) == set(ids)
    for a in ids:
        want = set(nx.single_source_shortest_path_length(world.graph, a, cutoff=2)) - {a}
        assert world.trust.members(world.trust.within(a, 2)) == want
