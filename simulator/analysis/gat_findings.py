"""The post-mortem's reading of an untrained GAT over the dependency graph (interpretive only)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import networkx as nx

from .cascade import CascadeLink
from .episodes import Episode
from .graph_metrics import node_features_from_metrics
from .run_data import RunData

IDLE = {
    "peak_stress": 0.0,
    "mean_stress": 0.0,
    "min_resource": 1.0,
    "time_above_threshold": 0.0,
}


def verdict(truth: list, candidates: int, rho: float, overlap: float) -> str:
    """Plain words on how far the attention matches the true cascade."""
    if not truth:
        return (
            "The run's cascade has no dependency link into a failed service, so there is no ground "
            "truth for the attention to match; read the ranking as structure only."
        )
    if candidates < 3:
        return (
            f"Only {candidates} candidate edge(s): any ranking puts the true edge on top, so agreement here "
            "says nothing about the attention's insight."
        )
    strength = "weak or none" if not rho > 0.3 else "moderate" if rho < 0.6 else "strong"
    return (
        f"Plainly: the attention's agreement with what really happened is {strength} "
        f"(Spearman {rho:.3g}, top-5 overlap {overlap:.3g} over {candidates} candidate edges). "
        "An untrained layer's attention reflects random projections of the features, not "
        "learned causality; the cause links are the ground truth."
    )


@dataclass
class GatInput:
    """What the GAT reads from the records: node features and which services it ranks edges into."""

    features: dict
    failed: dict  # service -> time it failed (or first left ok, when none failed)
    target_word: str  # "failed" or "overloaded"
    seed: int


def gat_input(run: RunData, graph: nx.DiGraph, eps: list[Episode]) -> GatInput:
    """Node features from the service rows (the records are not needed after this)."""
    end = float(run.summary["outcomes"]["end_time"])
    states = run.states()
    features, failed = node_features_from_metrics(states, horizon=end) if len(states) else ({}, {})
    for node in graph.nodes:  # services never written (changed mode, never touched) stayed idle
        features.setdefault(node, IDLE | {"time_to_first_failure": end})
    target_word = "failed"
    if not failed:
        first: dict[str, float] = {}
        for e in eps:
            first.setdefault(e.service, e.start)
        failed, target_word = dict(sorted(first.items())), "overloaded"
    return GatInput(features, failed, target_word, run.summary["seed"] % 2**32)


def gat_findings(graph: nx.DiGraph, links: list[CascadeLink], given: GatInput):
    """(GatFindings, attention by edge)."""
    from .findings import GatFindings
    from .gat import analyse_dependencies

    features, failed, target_word = given.features, given.failed, given.target_word
    candidates = [(u, v) for u, v in graph.edges if v in failed]
    if not candidates:
        empty = f"No service with a dependency was {target_word}, so there is no edge to rank."
        return GatFindings(target_word, 0, [], [], [], [], empty), {}
    truth = list(
        dict.fromkeys(
            (link.upstream, link.downstream)
            for link in links
            if link.downstream in failed and graph.has_edge(link.upstream, link.downstream)
        )
    )
    analysis = analyse_dependencies(
        graph,
        features,
        failed,
        truth=truth or None,
        seed=given.seed,
        top_k=5,
        betweenness_k=None if graph.number_of_nodes() <= 2000 else 200,
    )
    truth_set = set(truth)
    top = [
        {
            "source": e.source,
            "target": e.target,
            "attention": e.attention,
            "in_cascade": (e.source, e.target) in truth_set,
        }
        for e in analysis.failed_edges[:10]
    ]
    paths = sorted((p for p in analysis.paths if p.hops > 0), key=lambda p: (-p.score, str(p.target)))
    agreement = json.loads(analysis.agreement.to_json(orient="records"))
    att = analysis.agreement
    att = att[(att["ranking"] == "attention") & (att["reference"] == "truth")]
    rho = float(att["spearman"].iloc[0]) if len(att) else math.nan
    overlap = float(att.iloc[0, 3]) if len(att) else math.nan
    found = GatFindings(
        target_word=target_word,
        candidates=len(candidates),
        feature_names=list(analysis.attention.feature_names),
        top_edges=top,
        paths=[{"nodes": list(p.nodes), "score": p.score} for p in paths],
        agreement=agreement,
        verdict=verdict(truth, len(candidates), rho, overlap),
    )
    return found, analysis.attention.edge_scores()
