"""Identity on the published `sdk/identity-agent.json` machine: register (create, signed by the
agent), `activate`, `receive_vouch` (+2 on chain) and `receive_completion` (+5 on chain).
Self-attestations and verifications have no transition in that machine, so they are records
of the identity registry (an off-chain service entity). Reputation for selection and fitness
is computed here from the generation's facts: base 10, +5 per completed fiber, +2 per vouch
received, -10 per violation, and the part above the base decays each generation.

The trust graph is a networkx DiGraph of vouches (voucher -> vouchee, weight)."""

from __future__ import annotations

from typing import Any

import networkx as nx

from .sampling import quantile
from .traffic_config import Identity

DEFINITION = "sdk/identity-agent.json"
KEY = "IdentityAgent"


def identity_id(aid: str) -> str:
    return f"identity-{aid}"


def next_reputation(rep: float, facts: dict[str, Any], cfg: Identity) -> float:
    kept = cfg.base + (rep - cfg.base) * cfg.decay
    gained = (
        cfg.per_completion * facts["completed"]
        + cfg.per_vouch * facts["vouch_received"]
        + cfg.per_violation * facts["violations"]
    )
    return round(kept + gained, 6)


def trust_graph(edges: list[list[Any]], nodes: list[str]) -> nx.DiGraph:
    """The vouches among `nodes` as a DiGraph, an edge's weight the strongest vouch."""
    best: dict[tuple[str, str], float] = {}
    known = set(nodes)
    for src, dst, weight in edges:
        if src in known and dst in known:
            best[(src, dst)] = max(best.get((src, dst), 0.0), float(weight))
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_weighted_edges_from((src, dst, w) for (src, dst), w in best.items())
    return g


def trusted_within(g: nx.DiGraph, node: str, depth: int) -> set[str]:
    """Agents reachable from `node` by vouches in at most `depth` hops (excluding itself):
    `nx.single_source_shortest_path_length(g, node, cutoff=depth)`, as a plain breadth-first
    walk over the adjacency (called for every fiber started, on a graph of thousands of edges)."""
    if node not in g:
        return set()
    succ = g.succ
    seen, frontier = {node}, [node]
    for _ in range(depth):
        reached = []
        for a in frontier:
            for b in succ[a]:
                if b not in seen:
                    seen.add(b)
                    reached.append(b)
        frontier = reached
    return seen - {node}


class TrustIndex:
    """A trust graph's reachability as bit sets: bit i of a mask is the graph's i-th node.
    The episode asks "who is within d vouches of me" once per fiber started; a breadth-first
    walk over the adjacency visits every edge of the neighbourhood (thousands), a bit set ORs
    one mask per node reached. Same answers as `trusted_within` (tested)."""

    def __init__(self, g: nx.DiGraph) -> None:
        self.index = {n: i for i, n in enumerate(g)}
        self.succ = [0] * len(self.index)
        for src, targets in g.succ.items():
            mask = 0
            for dst in targets:
                mask |= 1 << self.index[dst]
            self.succ[self.index[src]] = mask

    @classmethod
    def from_edges(cls, edges: list[list[Any]], nodes: list[str]) -> TrustIndex:
        """`TrustIndex(trust_graph(edges, nodes))` without building the networkx graph (an
        episode only asks these queries of it, and builds the graph of thousands of edges
        once a generation otherwise): the same index and masks (tested)."""
        self = cls.__new__(cls)
        index = self.index = {n: i for i, n in enumerate(dict.fromkeys(nodes))}
        succ = self.succ = [0] * len(index)
        for src, dst, _ in edges:
            i, j = index.get(src), index.get(dst)
            if i is not None and j is not None:
                succ[i] |= 1 << j
        return self

    def within(self, node: str, depth: int) -> int:
        """The mask of nodes reachable from `node` in 1..`depth` hops, without `node`."""
        i = self.index.get(node)
        if i is None:
            return 0
        seen = frontier = 1 << i
        succ = self.succ
        for _ in range(depth):
            reached = 0
            while frontier:
                low = frontier & -frontier
                reached |= succ[low.bit_length() - 1]
                frontier ^= low
            frontier = reached & ~seen
            if not frontier:
                break
            seen |= frontier
        return seen & ~(1 << i)

    def members(self, mask: int) -> set[str]:
        return {n for n, i in self.index.items() if mask >> i & 1}


def acceptable(reputation: dict[str, float], candidates: list[str], risk_tolerance: float) -> list[str]:
    """Candidates not avoided: a risk-averse agent (0) avoids the lower half by reputation, a
    risk-tolerant one (1) avoids none."""
    if not candidates:
        return []
    cutoff = quantile([reputation[c] for c in candidates], (1.0 - risk_tolerance) * 0.5)  # np.quantile's
    return [c for c in candidates if reputation[c] >= cutoff]
