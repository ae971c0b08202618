"""The family-wise comparison of two samples of runs, against scipy and statsmodels directly,
on hand-made samples whose answer is known; and the samples each model's runs give."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from simulator.engine import derive_seeds
from simulator.infra.equivalence import _half_width, compare, quantities, run_models, worst

A = [
    {"cascade": 1.0, "demand/x": 10.0, "fixed": 3.0, "shifted": 1.0},
    {"cascade": 0.0, "demand/x": 12.0, "fixed": 3.0, "shifted": 1.0},
    {"cascade": 1.0, "demand/x": 11.0, "fixed": 3.0, "shifted": 1.0},
    {"cascade": 1.0, "demand/x": 13.0, "fixed": 3.0, "shifted": 1.0},
]
B = [
    {"cascade": 0.0, "demand/x": 30.0, "fixed": 3.0, "shifted": 2.0},
    {"cascade": 0.0, "demand/x": 31.0, "fixed": 3.0, "shifted": 2.0},
    {"cascade": 1.0, "demand/x": 29.5, "fixed": 3.0, "shifted": 2.0},
]


def test_each_quantity_gets_its_test_and_holm_corrects_the_tested_ones():
    result = compare(A, B, alpha=0.05)
    rows = {r["quantity"]: r for r in result["rows"]}
    assert [r["quantity"] for r in result["rows"]] == ["cascade", "demand/x", "fixed", "shifted"]
    fisher = stats.fisher_exact([[3, 1], [1, 2]]).pvalue
    welch = stats.ttest_ind([10, 12, 11, 13], [30, 31, 29.5], equal_var=False).pvalue
    assert (rows["cascade"]["test"], rows["cascade"]["p"]) == ("fisher", pytest.approx(fisher))
    assert (rows["demand/x"]["test"], rows["demand/x"]["p"]) == ("welch", pytest.approx(welch))
    assert (rows["fixed"]["test"], rows["fixed"]["p"]) == ("constant", 1.0)
    assert (rows["shifted"]["test"], rows["shifted"]["p"]) == ("constant", 0.0)
    reject, adjusted, _, _ = multipletests([fisher, welch, 0.0], alpha=0.05, method="holm")
    for key, adj, rej in zip(["cascade", "demand/x", "shifted"], adjusted, reject, strict=True):
        assert rows[key]["p_holm"] == pytest.approx(adj) and rows[key]["rejected"] == bool(rej)
    assert (rows["fixed"]["p_holm"], rows["fixed"]["rejected"]) == (1.0, False)
    assert result["tests"] == 3 and result["n"] == (4, 3) and result["alpha"] == 0.05
    assert result["agree"] is False
    assert rows["demand/x"]["a_mean"] == 11.5 and rows["demand/x"]["b_mean"] == pytest.approx(30.1666666667)
    assert rows["demand/x"]["a_ci"] == pytest.approx(_half_width(np.array([10, 12, 11, 13.0])))


def test_samples_that_agree_reject_nothing():
    same = [{"cascade": float(i % 2), "demand/x": 10.0 + i, "fixed": 1.0} for i in range(6)]
    result = compare(same, list(reversed(same)))
    assert result["agree"] is True and result["tests"] == 2
    assert all(not r["rejected"] for r in result["rows"])
    only_constant = compare([{"fixed": 1.0}] * 3, [{"fixed": 1.0}] * 2)
    assert only_constant["tests"] == 0 and only_constant["agree"] is True
    assert only_constant["rows"][0]["p_holm"] == 1.0


def test_a_stricter_alpha_rejects_less():
    a = [{"q": v} for v in (10.0, 11.0, 12.0, 13.0)]
    b = [{"q": v} for v in (11.5, 12.5, 13.5, 14.5)]
    p = stats.ttest_ind([10, 11, 12, 13], [11.5, 12.5, 13.5, 14.5], equal_var=False).pvalue
    assert 0.01 < p < 0.5
    assert compare(a, b, alpha=0.5)["agree"] is False
    assert compare(a, b, alpha=0.01)["agree"] is True


def test_the_half_width_is_the_student_t_interval_of_the_mean():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    expected = stats.t.ppf(0.975, 3) * np.std(x, ddof=1) / 2.0
    assert _half_width(x) == pytest.approx(expected, rel=1e-12)
    assert _half_width(x, confidence=0.9) == pytest.approx(stats.t.ppf(0.95, 3) * np.std(x, ddof=1) / 2.0)
    assert math.isnan(_half_width(np.array([1.0])))
    assert _half_width(np.array([1.0, 1.0])) == 0.0


def test_worst_lists_the_comparisons_closest_to_rejection():
    result = {"rows": [{"q": i, "p_holm": p} for i, p in enumerate([0.5, 0.01, 0.9, 0.2, 0.3, 0.04])]}
    assert [r["q"] for r in worst(result)] == [1, 5, 3, 4, 0]
    assert [r["q"] for r in worst(result, k=2)] == [1, 5]


TOWN = {
    "name": "town",
    "until": 6.0,
    "services": [{"id": "power", "capacity": 2}, {"id": "water", "capacity": 1, "depends_on": ["power"]}],
    "citizens": [{"id": "people", "count": 4, "demand": 1.5, "uses": ["water", "power"]}],
    "stressors": [{"id": "river", "services": ["power"], "start": 1.0, "duration": 3.0, "intensity": 2.0}],
}


def test_each_model_runs_over_its_own_derived_seeds():
    got = run_models(TOWN, 2, master_seed=11)
    assert set(got) == {"individual", "population"}
    for i, model in enumerate(("individual", "population")):
        expected = [quantities({**TOWN, "citizen_model": model}, s) for s in derive_seeds(11 + i, 2)]
        assert got[model] == expected
    one = run_models(TOWN, 1, master_seed=11, models=("population",))
    assert list(one) == ["population"] and one["population"] == got["population"][:1]


def test_the_quantities_of_a_run_add_up():
    q = quantities({**TOWN, "citizen_model": "individual"}, 5)
    assert set(q) == {
        "demand/power", "demand/water", "rejected/power", "rejected/water",
        "failure_time/power", "failure_time/water", "total/demand", "total/rejected", "cascade",
    }  # fmt: skip
    assert q["total/demand"] == q["demand/power"] + q["demand/water"] > 0
    assert q["total/rejected"] == q["rejected/power"] + q["rejected/water"]
    assert q["cascade"] in (0.0, 1.0)
    assert all(0.0 <= q[f"failure_time/{s}"] <= 6.0 for s in ("power", "water"))


def test_one_constant_sample_against_a_varying_one_is_a_welch_test():
    """Without scipy's precision-loss warning: the constant sample's variance is exactly 0."""
    import warnings

    a = [{"q": 5.0}] * 4
    b = [{"q": v} for v in (4.0, 6.0, 7.0, 5.5)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = compare(a, b)["rows"][0]
    assert row["test"] == "welch"
    with pytest.warns(RuntimeWarning, match="Precision loss"):  # the reference, computed bare
        want = stats.ttest_ind([5.0] * 4, [4, 6, 7, 5.5], equal_var=False).pvalue
    assert row["p"] == pytest.approx(want)


def test_a_single_run_has_no_interval_and_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(_half_width(np.array([3.0])))


def test_demand_counts_every_request_that_reached_a_service():
    from simulator.infra.build import build_world
    from simulator.infra.scenario import parse_scenario

    busy = {**TOWN, "citizens": [{"id": "people", "count": 6, "demand": 2.0, "uses": ["water", "power"]}]}
    busy.pop("stressors")
    config = {**busy, "citizen_model": "individual", "seed": 2, "recording": {"mode": "off"}}
    w = build_world(parse_scenario(config))
    reached: dict[str, int] = {}
    apply = w.reducers["request"]

    def counting(world, ev):
        reached[ev.target] = reached.get(ev.target, 0) + 1
        return apply(world, ev)

    w.reducers["request"] = counting
    w.run(until=6.0)
    q = quantities({**busy, "citizen_model": "individual"}, 2)
    assert any(w.entities[s]["queue"] > 0 for s in ("power", "water"))  # some still queued at the end
    assert {s: q[f"demand/{s}"] for s in ("power", "water")} == {
        s: float(reached[s]) for s in ("power", "water")
    }
