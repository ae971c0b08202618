"""The post-mortem's three figures, drawn as the report draws them, against the records and a
pinned description (docs/mutation.md).

Each figure is caught as it is saved and described artist by artist (data, colours, labels,
sizes, layout), in matplotlib's own terms rather than pixels, so the pin survives a different
font rasteriser but not a changed plot. What the data should be is checked against the records
(`metrics.csv`, `failure_analysis.json`); the rest is pinned in `tests/golden/plots.json`.
A deliberate change to a figure: `PIN_PLOTS=1 pytest tests/test_mutation_plots.py`, then say
why in the commit (and in CHANGELOG.md if users see it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib
import pytest
from matplotlib import colors as mcolors
from matplotlib.figure import Figure

from simulator.analysis import plots
from simulator.analysis.findings import compute_findings, dependency_graph
from simulator.analysis.run_data import load_run
from simulator.cli import main
from tests.conftest import SCENARIOS

GOLDEN = Path(__file__).parent / "golden" / "plots.json"
RUNS = {"flood_overload": "flood_overload.yaml", "cascade_direct": "cascade_direct.yaml"}


def _num(x) -> float | None:
    x = float(x)
    return None if x != x else float(f"{x:.6g}")


def _nums(values) -> list:
    out = []
    for v in values:
        if hasattr(v, "__len__") and not isinstance(v, str):
            out.append(_nums(v))
        else:
            out.append(_num(v) if isinstance(v, int | float) or hasattr(v, "dtype") else str(v))
    return out


def _colour(c) -> str | list:
    try:
        return mcolors.to_hex(c, keep_alpha=True)
    except (ValueError, TypeError):
        return [mcolors.to_hex(x, keep_alpha=True) for x in c]


def _text(t) -> dict | None:
    if t is None or not t.get_text():
        return None
    return {
        "text": t.get_text(),
        "size": _num(t.get_fontsize()),
        "colour": _colour(t.get_color()),
        "at": _nums(t.get_position()),
        "rotation": _num(t.get_rotation()),
        "ha": t.get_ha(),
        "va": t.get_va(),
        "visible": t.get_visible(),
    }


def _line(ln) -> dict:
    return {
        "x": _nums(ln.get_xdata()),
        "y": _nums(ln.get_ydata()),
        "colour": _colour(ln.get_color()),
        "ls": ln.get_linestyle(),
        "lw": _num(ln.get_linewidth()),
        "marker": str(ln.get_marker()),
        "ms": _num(ln.get_markersize()),
        "mew": _num(ln.get_markeredgewidth()),
        "mfc": _colour(ln.get_markerfacecolor()),
        "mec": _colour(ln.get_markeredgecolor()),
        "drawstyle": ln.get_drawstyle(),
        "alpha": ln.get_alpha(),
        "label": ln.get_label(),
        "z": ln.get_zorder(),
    }


def _patch(p) -> dict:
    out = {
        "kind": type(p).__name__,
        "face": _colour(p.get_facecolor()),
        "edge": _colour(p.get_edgecolor()),
        "lw": _num(p.get_linewidth()),
        "ls": str(p.get_linestyle()),
        "fill": p.get_fill(),
        "alpha": p.get_alpha(),
        "label": p.get_label(),
        "z": p.get_zorder(),
    }
    if hasattr(p, "get_xy") and not hasattr(p, "get_width"):
        out["xy"] = _nums(p.get_xy())
    elif hasattr(p, "get_width"):
        out["xy"] = _nums([p.get_x(), p.get_y(), p.get_width(), p.get_height()])
    if hasattr(p, "_posA_posB"):  # an arrow between two nodes
        out["ends"] = _nums(p._posA_posB)
        out["scale"] = _num(p.get_mutation_scale())
        out["shrink"] = _nums([p.shrinkA, p.shrinkB])
    return out


def _collection(c) -> dict:
    return {
        "kind": type(c).__name__,
        "offsets": _nums(c.get_offsets()),
        "paths": [_nums(p.vertices) for p in c.get_paths()][:200],
        "face": _colour(c.get_facecolor()),
        "edge": _colour(c.get_edgecolor()),
        "lw": _nums(c.get_linewidths()),
        "sizes": _nums(c.get_sizes()) if hasattr(c, "get_sizes") else None,
        "alpha": c.get_alpha(),
        "z": c.get_zorder(),
    }


def _legend(lg) -> dict | None:
    if lg is None:
        return None
    return {
        "labels": [t.get_text() for t in lg.get_texts()],
        "size": _num(lg.get_texts()[0].get_fontsize()) if lg.get_texts() else None,
        "columns": lg._ncols,
        "frame": lg.get_frame_on(),
        "loc": lg._loc,
        "anchor": _nums(lg.get_bbox_to_anchor().transformed(lg.figure.transFigure.inverted()).bounds),
        "handles": [_line(h) if hasattr(h, "get_xdata") else _patch(h) for h in lg.legend_handles],
    }


def _axes(ax) -> dict:
    return {
        "position": [round(v, 3) for v in ax.get_position().bounds],
        "titles": [_text(t) for t in (ax.title, ax._left_title, ax._right_title)],
        "xlabel": _text(ax.xaxis.label),
        "ylabel": _text(ax.yaxis.label),
        "xlim": _nums(ax.get_xlim()),
        "ylim": _nums(ax.get_ylim()),
        "yticks": [_text(t) for t in ax.get_yticklabels()],
        "ticksize": [_num(t.get_fontsize()) for t in ax.get_xticklabels()[:1] + ax.get_yticklabels()[:1]],
        "xgrid": [(ln.get_visible(), _num(ln.get_alpha() or 1)) for ln in ax.get_xgridlines()[:1]],
        "ygrid": [ln.get_visible() for ln in ax.get_ygridlines()[:1]],
        "shared_x": len(ax.get_shared_x_axes().get_siblings(ax)),
        "shared_y": len(ax.get_shared_y_axes().get_siblings(ax)),
        "on": ax.axison,
        "margins": _nums(ax.margins()),
        "lines": [_line(ln) for ln in ax.lines],
        "patches": [_patch(p) for p in ax.patches],
        "collections": [_collection(c) for c in ax.collections],
        "texts": [_text(t) | {"xy": _nums(getattr(t, "xy", ()))} for t in ax.texts],
        "bboxes": [t.get_bbox_patch() and _patch(t.get_bbox_patch()) for t in ax.texts],
        "legend": _legend(ax.get_legend()),
    }


def describe(fig: Figure, dpi) -> dict:
    return {
        "size": _nums(fig.get_size_inches()),
        "dpi": dpi,
        "suptitle": _text(fig._suptitle),
        "legends": [_legend(lg) for lg in fig.legends],
        "axes": [_axes(ax) for ax in fig.axes],
    }


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """{run: {png name: description}} for the reference run and the direct-cascade run."""
    seen: dict[str, dict] = {}
    save = Figure.savefig
    mp = pytest.MonkeyPatch()

    def catch(fig, path, *args, **kwargs):
        seen.setdefault(current, {})[Path(path).name] = describe(fig, kwargs.get("dpi"))
        return save(fig, path, *args, **kwargs)

    mp.setattr(Figure, "savefig", catch)
    try:
        for current, scenario in RUNS.items():  # noqa: B007 - read by catch()
            out = tmp_path_factory.mktemp(current)
            assert main(["run", str(SCENARIOS / scenario), "--out", str(out), "--quiet", "--report"]) == 0
            seen.setdefault(current, {})["folder"] = str(out)
        # a graph over 30 services is drawn small, labelled only on the cascade: the reference
        # run's graph with 31 more services that depend on nothing and never left ok
        current = "flood_overload_big_graph"
        run = load_run(seen["flood_overload"]["folder"])
        graph = dependency_graph(run)
        graph.add_nodes_from(f"zz-{i:02d}" for i in range(31))
        plots.dependency_graph(compute_findings(run), graph, tmp_path_factory.mktemp("big") / "g.png")
    finally:
        mp.undo()
    return seen


def _canonical(value):
    return json.loads(json.dumps(value, default=str))


def test_the_figures_equal_their_pinned_description(drawn):
    got = _canonical({run: {k: v for k, v in d.items() if k != "folder"} for run, d in drawn.items()})
    if os.environ.get("PIN_PLOTS"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps({"matplotlib": matplotlib.__version__, **got}, indent=1, sort_keys=True))
    pinned = json.loads(GOLDEN.read_text())
    if pinned.pop("matplotlib") != matplotlib.__version__:  # its artists' defaults may differ
        pytest.skip(f"pinned with matplotlib {json.loads(GOLDEN.read_text())['matplotlib']}; re-pin")
    for run in RUNS:
        for name in ("service_timelines.png", "status_timeline.png", "dependency_graph.png"):
            assert got[run][name] == pinned[run][name], f"{run}/{name} differs from tests/golden/plots.json"
    assert got["flood_overload_big_graph"] == pinned["flood_overload_big_graph"]


def test_the_stress_lines_are_the_records_held_until_the_end(drawn):
    """Each service panel's red step line is that service's stress_level, row by row."""
    import pandas as pd

    for run in RUNS:
        folder = Path(drawn[run]["folder"])
        states = pd.read_csv(folder / "metrics.csv")
        end = json.loads((folder / "failure_analysis.json").read_text())["end_time"]
        panels = [ax for ax in drawn[run]["service_timelines.png"]["axes"] if ax["titles"][1]]
        assert panels
        for ax in panels:
            service = ax["titles"][1]["text"]
            rows = states[states["service_id"] == service].drop_duplicates("time", keep="last")
            stress = ax["lines"][0]
            assert stress["colour"] == mcolors.to_hex("tab:red", keep_alpha=True)
            assert stress["x"] == _nums(rows["time"].to_list() + [end])
            assert stress["y"] == _nums(rows["stress_level"].to_list() + rows["stress_level"].to_list()[-1:])
            assert stress["drawstyle"] == "steps-post"
