"""failure_analysis.md: a post-mortem generated from a recorded run, every figure from records."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import networkx as nx
import pandas as pd

from ..runs import write_atomic, write_json
from . import plots
from .cascade import CascadeLink, cascade, roots
from .episodes import episodes, service_effects
from .graph_metrics import node_features_from_metrics
from .policy_timeline import decisions, first_reports
from .run_data import RunData, load_run

MAX_PLOTTED = 8


def dependency_graph(run: RunData) -> nx.DiGraph:
    """Edge u -> v when v depends on u, with the interaction flows seen along it."""
    g = nx.DiGraph()
    for svc in run.config["services"]:
        g.add_node(svc["id"], sector=svc.get("sector", "general"))
    for svc in run.config["services"]:
        for dep in svc.get("depends_on", []):
            g.add_edge(dep, svc["id"], flows=0)
    events = run.events
    flows = events[events["event_type"].isin(["dependency_degraded", "dependency_restored"])]
    for (u, v), n in flows.groupby(["source", "target"]).size().items():
        if g.has_edge(u, v):
            g.edges[u, v]["flows"] = int(n)
    requests = events[events["event_type"] == "request"].groupby("target").size()
    for node in g.nodes:
        g.nodes[node]["requests"] = int(requests.get(node, 0))
    return g


def _num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append(
            "| " + " | ".join(_num(v) if isinstance(v, float) or v is None else str(v) for v in row) + " |"
        )
    return "\n".join(lines)


def _gat_section(
    run: RunData, graph: nx.DiGraph, links: list[CascadeLink], figures: dict
) -> tuple[list[str], dict]:
    from .gat import analyse_dependencies

    end = float(run.summary["outcomes"]["end_time"])
    features, failure_times = node_features_from_metrics(run.states(), horizon=end)
    for node in graph.nodes:  # services never written (changed mode, never touched) stayed idle
        features.setdefault(
            node,
            {
                "peak_stress": 0.0,
                "mean_stress": 0.0,
                "min_resource": 1.0,
                "time_above_threshold": 0.0,
                "time_to_first_failure": end,
            },
        )
    failed = failure_times
    target_word = "failed"
    if not failed:
        overloaded = {e.service: e.start for e in episodes(run)}
        failed, target_word = dict(sorted(overloaded.items())), "overloaded"
    candidates = [(u, v) for u, v in graph.edges if v in failed]
    truth = list(
        dict.fromkeys(
            (link.upstream, link.downstream)
            for link in links
            if link.downstream in failed and graph.has_edge(link.upstream, link.downstream)
        )
    )
    lines = ["## Graph reasoning (an untrained GAT, interpretive only)", ""]
    if not candidates:
        lines += [f"No service with a dependency was {target_word}, so there is no edge to rank.", ""]
        return lines, {"attention": {}}
    analysis = analyse_dependencies(
        graph,
        features,
        failed,
        truth=truth or None,
        seed=run.summary["seed"] % 2**32,
        top_k=5,
        betweenness_k=None if graph.number_of_nodes() <= 2000 else 200,
    )
    scores = analysis.attention.edge_scores()
    figures["gat_top_edges"] = [
        [e.source, e.target, round(e.attention, 6)] for e in analysis.failed_edges[:10]
    ]
    lines += [
        "One `GATConv` layer (torch-geometric, 4 heads, weights drawn from the run's seed "
        f"{run.summary['seed']}, never trained) reads each service's features from the records "
        f"({', '.join(analysis.attention.feature_names)}). Its attention over the edges into "
        f"{target_word} services is compared below with the true causal cascade and with two simple "
        "baselines. It never fed back into the run.",
        "",
        f"Edges into {target_word} services, by mean attention over heads:",
        "",
        "| rank | dependency -> dependent | attention | in the real cascade |",
        "|---|---|---|---|",
    ]
    truth_set = set(truth)
    for i, e in enumerate(analysis.failed_edges[:10], 1):
        lines.append(
            f"| {i} | {e.source} -> {e.target} | {e.attention:.3f} | "
            f"{'yes' if (e.source, e.target) in truth_set else 'no'} |"
        )
    lines += [
        "",
        "Dominant dependency paths (highest product of attention back to a root, through "
        "dependencies that failed first):",
        "",
    ]
    paths = [p for p in analysis.paths if p.hops > 0]
    for p in paths[:6]:
        lines.append(f"- {' -> '.join(map(str, p.nodes))} (score {p.score:.3f})")
    if not paths:
        lines.append(f"- none: no {target_word} service had a dependency that was {target_word} before it")
    agreement = analysis.agreement
    lines += [
        "",
        "Agreement between rankings (Spearman rank correlation, top-5 overlap):",
        "",
        _table(agreement),
        "",
    ]
    figures["agreement"] = json.loads(agreement.to_json(orient="records"))
    att_truth = agreement[(agreement["ranking"] == "attention") & (agreement["reference"] == "truth")]
    n = len(candidates)
    if not truth:
        verdict = (
            "The run's cascade has no dependency link into a failed service, so there is no ground "
            "truth for the attention to match; read the ranking as structure only."
        )
    elif n < 3:
        verdict = (
            f"Only {n} candidate edge(s): any ranking puts the true edge on top, so agreement here "
            "says nothing about the attention's insight."
        )
    else:
        rho = float(att_truth["spearman"].iloc[0]) if len(att_truth) else math.nan
        overlap = float(att_truth.iloc[0, 3]) if len(att_truth) else math.nan
        strength = "weak or none" if not rho > 0.3 else "moderate" if rho < 0.6 else "strong"
        verdict = (
            f"Plainly: the attention's agreement with what really happened is {strength} "
            f"(Spearman {_num(rho)}, top-5 overlap {_num(overlap)} over {n} candidate edges). "
            "An untrained layer's attention reflects random projections of the features, not "
            "learned causality; the cause links above are the ground truth."
        )
    lines += [verdict, ""]
    figures["gat_verdict"] = verdict
    return lines, {"attention": scores}


def build_report(folder: str | Path) -> Path:
    """Write `<folder>/failure_analysis.md` (+ .json with its figures, + PNG plots)."""
    run = load_run(folder)
    folder = Path(folder)
    out = run.summary["outcomes"]
    end = float(out["end_time"])
    eps = episodes(run)
    effects = service_effects(run, eps)
    links = cascade(run)
    causes = roots(run)
    decs = decisions(run)
    reports = first_reports(run)
    graph = dependency_graph(run)
    states = run.states()
    stressors = run.config.get("stressors", [])
    flood = (stressors[0]["start"], stressors[0]["start"] + stressors[0]["duration"]) if stressors else None

    figures: dict = {
        "events": int(out["events"]),
        "end_time": end,
        "seed": run.summary["seed"],
        "chain_head": run.summary["chain_head"],
        "unmet_demand": int(out["unmet_demand"]),
        "services": json.loads(effects.to_json(orient="records")),
        "episodes": [asdict(e) for e in eps],
        "cascade": [asdict(link) | {"delay": link.delay} for link in links],
        "decisions": [asdict(d) for d in decs],
    }
    cfg = run.config
    lines = [
        f"# Failure analysis: {run.summary['scenario']}",
        "",
        f"Generated by `simulator report` from `{folder}/metrics.csv` ({out['events']:,} applied events, "
        f"seed {run.summary['seed']}, chain head `{run.summary['chain_head'][:16]}...`). Every figure below is "
        "computed from those records; `failure_analysis.json` holds them in machine-readable form.",
        "",
        "## Scenario",
        "",
        cfg.get("description", "").strip() or "(no description)",
        "",
        f"- {len(cfg['services'])} services, {sum(c.get('count', 1) for c in cfg.get('citizens', []))} citizens, "
        f"{len(cfg.get('agencies', []))} agencies, policy: "
        + (
            f"intervention delay {cfg['policy']['intervention_delay']}, budget {cfg['policy']['budget']}"
            if cfg.get("policy")
            else "none"
        ),
    ]
    for s in stressors:
        lines.append(
            f"- flood `{s['id']}`: intensity {s['intensity']}, t={s['start']} for {s['duration']}, "
            f"reaching {len(s['services'])} services {s['spread']} apart"
        )
    lines += [
        f"- run ended at t={end:g}; unmet demand {out['unmet_demand']:,} requests "
        f"({out['unmet_share']:.1%} of those decided)",
        "",
        "## Timeline",
        "",
        "| time | seq | what happened |",
        "|---|---|---|",
    ]
    key = []
    if flood:
        key.append((flood[0], 0, "flood begins"))
        key.append((flood[1], 0, "flood recedes"))
    for _, r in causes.iterrows():
        key.append((r["time"], r["seq"], f"**{r['service']}** {r['became']} (trigger: {r['trigger']})"))
    for d in decs:
        key.append(
            (
                d.decided_at,
                d.seq,
                f"policy decides for {', '.join(d.targets)} (on information from t={d.based_on:g})",
            )
        )
        for target, t in sorted(d.applied.items(), key=lambda kv: kv[1]):
            key.append((t, 0, f"intervention reaches {target}"))
    for e in eps:
        if e.end is not None:
            key.append((e.end, 0, f"{e.service} back to ok"))
    key.sort(key=lambda k: (k[0], k[1]))
    shown = key if len(key) <= 60 else key[:60]
    for t, seq, text in shown:
        lines.append(f"| {t:.3f} | {seq or ''} | {text} |")
    if len(key) > len(shown):
        lines.append(f"| ... | | {len(key) - len(shown)} more entries in failure_analysis.json |")
    figures["timeline"] = [list(k) for k in key]

    plotted = (
        effects.sort_values(["time_not_ok", "peak_stress"], ascending=False)["service"]
        .head(MAX_PLOTTED)
        .tolist()
        if len(effects) > MAX_PLOTTED
        else run.services
    )
    plotted = [s for s in run.services if s in plotted and (states["service_id"] == s).any()]
    plots.timelines(states, plotted, eps, decs, flood, end, folder / "service_timelines.png")
    lines += [
        "",
        "## Service-level effects",
        "",
        _table(effects.sort_values(["time_not_ok", "service"], ascending=[False, True]).head(25)),
        "",
        "![stress and resource per service](service_timelines.png)"
        + ("" if len(plotted) == len(run.services) else f" (the {len(plotted)} most affected services)"),
        "",
        "## Policy dynamics",
        "",
    ]
    if reports:
        lines += [
            "When the policy maker first heard of trouble (through agency reports):",
            "",
            "| service | observed at | report arrived | status seen | actually degraded at |",
            "|---|---|---|---|---|",
        ]
        for service, (seen, arrived, status) in sorted(reports.items(), key=lambda kv: kv[1][1])[:20]:
            # the start of the episode the agency saw (episodes are in order of start)
            began = [e.start for e in eps if e.service == service and e.start <= seen]
            lines.append(
                f"| {service} | {seen:.3f} | {arrived:.3f} | {status} | {_num(began[-1] if began else None)} |"
            )
        lines.append("")
    if decs:
        lines += [
            "| decided at | based on information from | staleness | first effect | institutional latency "
            "| targets |",
            "|---|---|---|---|---|---|",
        ]
        for d in decs:
            latency = None if d.first_effect is None else d.first_effect - d.decided_at
            lines.append(
                f"| {d.decided_at:.3f} | {d.based_on:.3f} | {d.staleness:.3f} | {_num(d.first_effect)} | "
                f"{_num(latency)} | {', '.join(d.targets[:8])}{' ...' if len(d.targets) > 8 else ''} |"
            )
        first_fail = out.get("first_failure_at")
        if first_fail is not None:
            lines += [
                "",
                f"The first failure came at t={first_fail:.3f}; the first decision at "
                f"t={decs[0].decided_at:.3f}, and its first effect at t={_num(decs[0].first_effect)}.",
            ]
    else:
        lines.append("The policy maker never decided to intervene.")
    lines += ["", "## Causal cascade", ""]
    if links:
        direct = [link for link in links if link.via == "direct"]
        lines += [
            f"{len(links)} degradations were caused or aggravated by a dependency: {len(direct)} directly "
            "(the dependency's own degradation event tipped the service over), "
            f"{len(links) - len(direct)} as a contributing condition (the service ran on capacity cut by a "
            "degraded dependency when something else tipped it).",
            "",
            "| upstream -> downstream | how | became | upstream degraded at (seq) | downstream at (seq) | delay | root cause |",
            "|---|---|---|---|---|---|---|",
        ]
        for link in links[:30]:
            lines.append(
                f"| {link.upstream} -> {link.downstream} | {link.via} | {link.status} | "
                f"{link.upstream_time:.3f} (#{link.upstream_seq}) | {link.downstream_time:.3f} "
                f"(#{link.downstream_seq}) | {link.delay:.3f} | {link.root} |"
            )
        if len(links) > 30:
            lines.append(f"| ... {len(links) - 30} more in failure_analysis.json | | | | | | |")
    else:
        lines.append("No degradation passed along a dependency: every failure had its own cause.")
    lines += ["", "Root causes of all degradations:", ""]
    for root, n in causes["root"].value_counts().sort_index().items():
        lines.append(f"- {root}: {n}")
    lines.append("")

    gat_lines, gat = _gat_section(run, graph, links, figures)
    lines += gat_lines
    status = {}
    for e in eps:
        status[e.service] = (
            "failed" if e.worst == "failed" or status.get(e.service) == "failed" else "overloaded"
        )
    plots.dependency_graph(
        graph,
        gat["attention"],
        {(link.upstream, link.downstream) for link in links},
        status,
        folder / "dependency_graph.png",
    )
    lines += ["![dependency graph](dependency_graph.png)", "", "## Characterisation", ""]
    failed_services = sorted({e.service for e in eps if e.worst == "failed"})
    recovered = out["recovered"]
    lines.append(
        f"{len(failed_services)} of {len(run.services)} services failed"
        + (
            f" ({', '.join(failed_services[:10])}{' ...' if len(failed_services) > 10 else ''})"
            if failed_services
            else ""
        )
        + f"; {len({e.service for e in eps})} left `ok` at least once. "
        + ("Degradation spread along dependencies. " if links else "Failures stayed local. ")
        + (
            f"The policy acted {decs[0].decided_at - out['first_failure_at']:.3g} time units after the first "
            "failure, on information already stale, and its help arrived after institutional latency. "
            if decs and out.get("first_failure_at") is not None
            else ""
        )
        + (
            "By the end every service was back to ok: recovery."
            if recovered
            else f"At the end {', '.join(out['final_failed']) or 'some services'} had not recovered: collapse."
        )
    )
    lines += [
        "",
        "## Limitations",
        "",
        "- A simulation of stylised services, not calibrated to any real city; it shows failure modes, not forecasts.",
        "- Causes are exact for this run (the kernel records them); other seeds give other cascades: use "
        "`simulator batch` for distributions.",
        "- The GAT is untrained and interpretive: its attention is a function of random weights and the "
        "recorded features. Where it agrees with the cascade it is not evidence of insight.",
        "- In runs recorded in `changed` mode, a service's state is known at its own rows and snapshots; "
        "features are computed from those step samples.",
        "",
    ]
    write_atomic(folder / "failure_analysis.md", "\n".join(lines))
    write_json(folder / "failure_analysis.json", figures)
    return folder / "failure_analysis.md"
