"""Do the individual and population citizen models give the same results? A family-wise test.

Each model runs the same scenario over its own seeds (disjoint, derived up front). Compared,
per service: demand (requests that reached it), rejections and the time of its first failure
(censored at the end of the run when it never failed); per run: whether a cascade happened,
total demand and total rejections. Means are compared with Welch's t-test, the cascade
frequency with Fisher's exact test, and the family of p-values is corrected with Holm's
step-down method: the models agree when no comparison is rejected at family-wise level
`alpha`. Quantities constant and equal in both samples are reported and not tested.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ..batch import replications
from .build import build_world
from .scenario import parse_scenario

MODELS = ("individual", "population")


def quantities(config: Mapping[str, Any], seed: int) -> dict[str, float]:
    """One run, recording off: the compared quantities (a picklable batch task)."""
    config = {**config, "seed": int(seed), "recording": {**config.get("recording", {}), "mode": "off"}}
    scenario = parse_scenario(config, "<equivalence task>")
    w = build_world(scenario)
    w.run(until=scenario.until)
    out: dict[str, float] = {}
    cascade = False
    for eid, kind in w.kinds.items():
        if kind != "service":
            continue
        s = w.entities[eid]
        out[f"demand/{eid}"] = float(s["started"] + s["queue"] + s["rejected"])
        out[f"rejected/{eid}"] = float(s["rejected"])
        first = s["first_failure_at"]
        out[f"failure_time/{eid}"] = float(w.now if first is None else first)
        cascade = cascade or s["cascade_failures"] > 0
    out["total/demand"] = sum(v for k, v in out.items() if k.startswith("demand/"))
    out["total/rejected"] = sum(v for k, v in out.items() if k.startswith("rejected/"))
    out["cascade"] = float(cascade)
    return out


def run_models(
    config: Mapping[str, Any],
    n: int,
    master_seed: int,
    backend: str = "serial",
    workers: int | None = None,
    models: Sequence[str] = MODELS,
) -> dict[str, list[dict[str, float]]]:
    """`n` runs of each model, over disjoint seeds (master seed `master_seed` for the
    individual model, `master_seed + 1` for the population), so the two samples are
    independent; on any batch backend."""
    out = {}
    for model in models:
        i = MODELS.index(model)
        results = replications(
            quantities,
            {**config, "citizen_model": model},
            n,
            master_seed + i,
            backend=backend,
            workers=workers,
            progress=False,
        )
        failed = [r for r in results if r["status"] != "ok"]
        if failed:
            raise RuntimeError(f"{model}: {len(failed)} run(s) failed: {failed[0].get('error')}")
        out[model] = [r["outcomes"] for r in results]
    return out


def compare(
    a: Sequence[Mapping[str, float]], b: Sequence[Mapping[str, float]], alpha: float = 0.05
) -> dict[str, Any]:
    """Holm-corrected comparison of two samples of runs (lists of `quantities` dicts)."""
    rows: list[dict[str, Any]] = []
    for key in sorted(a[0]):
        x = np.array([r[key] for r in a], dtype=float)
        y = np.array([r[key] for r in b], dtype=float)
        row: dict[str, Any] = {
            "quantity": key,
            "a_mean": float(x.mean()),
            "b_mean": float(y.mean()),
            "a_ci": _half_width(x),
            "b_ci": _half_width(y),
        }
        if key == "cascade":
            table = [[int(x.sum()), len(x) - int(x.sum())], [int(y.sum()), len(y) - int(y.sum())]]
            row["test"], row["p"] = "fisher", float(stats.fisher_exact(table).pvalue)
        elif x.std() == 0 and y.std() == 0:
            row["test"], row["p"] = "constant", 1.0 if x[0] == y[0] else 0.0
        else:
            with warnings.catch_warnings():  # a constant sample's variance is exactly 0, not a loss
                warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
                row["test"], row["p"] = "welch", float(stats.ttest_ind(x, y, equal_var=False).pvalue)
        rows.append(row)
    tested = [r for r in rows if not (r["test"] == "constant" and r["p"] == 1.0)]
    if tested:
        reject, adjusted, _, _ = multipletests([r["p"] for r in tested], alpha=alpha, method="holm")
        for r, rej, adj in zip(tested, reject, adjusted, strict=True):
            r["p_holm"], r["rejected"] = float(adj), bool(rej)
    for r in rows:
        r.setdefault("p_holm", 1.0)
        r.setdefault("rejected", False)
    return {
        "alpha": alpha,
        "n": (len(a), len(b)),
        "tests": len(tested),
        "agree": not any(r["rejected"] for r in rows),
        "rows": rows,
    }


def _half_width(x: np.ndarray, confidence: float = 0.95) -> float:
    """Half-width of the Student t interval of the mean."""
    if len(x) < 2:
        return math.nan
    return float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def worst(result: Mapping[str, Any], k: int = 5) -> list[dict[str, Any]]:
    """The `k` comparisons closest to rejection."""
    return sorted(result["rows"], key=lambda r: r["p_holm"])[:k]
