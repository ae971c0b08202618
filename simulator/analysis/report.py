"""The post-mortem of a recorded run: compute the findings once, then render them as
failure_analysis.md, failure_analysis.json and PNG plots."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pandas as pd

from ..runs import write_atomic, write_json
from . import markdown, plots
from .findings import Findings, compute_findings
from .run_data import AnalysisError, RunData, load_run
from .whatif import Rerun, compare, parse_what_ifs

STAGES = ("load", "episodes", "cascade", "policy", "damage", "graph attention", "plots", "write")


class Progress:
    """A stage bar on stderr (none when quiet or when stderr is not a terminal)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, desc="report", unit="stage", file=sys.stderr, disable=None, leave=False
            )
        self.started = False

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            if self.started:
                self.bar.update(1)
            self.bar.set_postfix_str(name)
        self.started = True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.close()


@dataclass
class PlotInput:
    """The part of the records the plots draw, kept when the rest is dropped."""

    plotted: list[str]  # services drawn in the small multiples
    states: pd.DataFrame  # service rows of the plotted and the affected services
    graph: nx.DiGraph


def plot_input(f: Findings, run: RunData, graph: nx.DiGraph) -> PlotInput:
    states = run.states()
    plotted = plots.most_affected(f, states)
    drawn = set(plotted) | set(f.affected()[: plots.MAX_ROWS])
    return PlotInput(plotted, states[states["service_id"].isin(drawn)], graph)


def write_plots(f: Findings, given: PlotInput, folder: Path) -> list[str]:
    """The three PNGs; returns the services drawn in the small multiples."""
    plots.service_timelines(f, given.states, given.plotted, folder / "service_timelines.png")
    plots.status_timeline(f, given.states, folder / "status_timeline.png")
    plots.dependency_graph(f, given.graph, folder / "dependency_graph.png")
    return given.plotted


def build_report(
    folder: str | Path,
    what_ifs: Sequence[str] = (),
    rerun: Rerun | None = None,
    quiet: bool = True,
) -> Path:
    """Write `<folder>/failure_analysis.md`, `.json` and the plots; return the .md path.

    `what_ifs` (`KEY=VALUE` each) re-run the recorded scenario through `rerun` (a callable
    from the CLI layer: resolved config -> outcomes) and table them beside the recorded run.
    Nothing is written if loading, a what-if or a re-run fails.
    """
    if what_ifs and rerun is None:
        raise AnalysisError("what-if replays need a re-run function (the CLI passes one)")
    folder = Path(folder)
    progress = Progress(len(STAGES) + (len(what_ifs) + 1 + (len(what_ifs) > 1) if what_ifs else 0), quiet)
    try:
        progress("load")
        run = load_run(folder)
        changes = parse_what_ifs(run.config, list(what_ifs))
        kept: list[PlotInput] = []

        def records_done(f: Findings, graph: nx.DiGraph) -> None:
            kept.append(plot_input(f, run, graph))
            run.drop_records()  # the graph attention's torch never sits beside the records

        findings = compute_findings(run, progress, records_done)
        if changes:
            recorded = run.summary["outcomes"] | {"last_failure_cleared_at": findings.failure_cleared_at}
            findings.what_if = compare(run.config, recorded, changes, rerun, progress)
        progress("plots")
        plotted = write_plots(findings, kept[0], folder)
        progress("write")
        write_atomic(folder / "failure_analysis.md", markdown.render(findings, plotted))
        write_json(folder / "failure_analysis.json", findings.to_json())
    finally:
        progress.close()
    return folder / "failure_analysis.md"
