"""Sweep grids: parsing, YAML files, overrides and the task plan."""

from __future__ import annotations

import pytest

from simulator.batch import (
    apply_overrides,
    load_grid,
    parse_grid,
    parse_grid_arg,
    replication_tasks,
    sweep_tasks,
)
from simulator.engine.rng import derive_seeds

BASE = {"policy": {"intervention_delay": 5, "mode": "reactive"}, "flood": {"peak": 3.0}}


def test_parse_grid_arg_coerces_scalars():
    assert parse_grid_arg("policy.intervention_delay=1,2,3") == (
        "policy.intervention_delay", [1, 2, 3])
    assert parse_grid_arg(" flood.peak = 2.5, 1e-3 ,4") == ("flood.peak", [2.5, 0.001, 4])
    assert parse_grid_arg("x=true,False,null,abc") == ("x", [True, False, None, "abc"])
    assert parse_grid_arg("x=0,false") == ("x", [0, False])  # equal but not the same value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy.delay", "expected 'path=value1,value2"),
        ("policy.delay=", "no values after '='"),
        ("policy.delay=1,,3", "value 2 is empty"),
        ("policy.delay=1,2,", "value 3 is empty"),
        ("=1,2", "empty parameter path"),
        ("policy..delay=1", "segment ''"),
        ("policy.2nd=1", "segment '2nd'"),
        ("pol icy=1", "segment 'pol icy'"),
        ("x=1,2,1", "repeats the value 1"),
    ],
)
def test_malformed_grid_strings_are_rejected(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_grid_arg(text)


def test_parse_grid_rejects_duplicate_keys():
    assert parse_grid(["a=1,2", "b.c=x,y"]) == {"a": [1, 2], "b.c": ["x", "y"]}
    with pytest.raises(ValueError, match="given twice"):
        parse_grid(["a=1", "a=2"])


def test_load_grid_flat_and_nested(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(
        "policy:\n  intervention_delay: [1, 2]\n  mode: [reactive, proactive]\n"
        "flood.peak: [2.5, 3.5]\nroutes: [[a, b], [c]]\n"
    )
    assert load_grid(path) == {
        "policy.intervention_delay": [1, 2],
        "policy.mode": ["reactive", "proactive"],
        "flood.peak": [2.5, 3.5],
        "routes": [["a", "b"], ["c"]],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy:\n  delay: 3\n", "'policy.delay' must map to a list"),
        ("policy:\n  delay: []\n", "'policy.delay' has no values"),
        ("- 1\n- 2\n", "non-empty mapping"),
        ("", "non-empty mapping"),
        ("a.b: [1]\na:\n  b: [2]\n", "'a.b' is given twice"),
    ],
)
def test_load_grid_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_grid(path)
    assert str(path) in str(info.value)


def test_apply_overrides_is_strict_and_copies():
    params = apply_overrides(BASE, {"policy.intervention_delay": 2})
    assert params["policy"]["intervention_delay"] == 2
    assert BASE["policy"]["intervention_delay"] == 5
    with pytest.raises(KeyError, match="no key 'intervention_dealy' under policy"):
        apply_overrides(BASE, {"policy.intervention_dealy": 2})
    with pytest.raises(KeyError, match="'flood.peak.x': flood.peak is not a mapping"):
        apply_overrides(BASE, {"flood.peak.x": 1})
    loose = apply_overrides(BASE, {"new.key": 1}, strict=False)
    assert loose["new"] == {"key": 1}


def test_sweep_plan_is_cartesian_with_common_random_numbers():
    grid = {"policy.intervention_delay": [1, 2, 3], "policy.mode": ["reactive", "proactive"]}
    tasks = sweep_tasks(BASE, grid, replications=2, master_seed=11)
    assert len(tasks) == 12
    assert [t.index for t in tasks] == list(range(12))
    assert [(t.point, t.replication) for t in tasks[:4]] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert tasks[2].overrides == {"policy.intervention_delay": 1, "policy.mode": "proactive"}
    assert tasks[11].params["policy"] == {"intervention_delay": 3, "mode": "proactive"}
    reps = derive_seeds(11, 2, "replications")
    assert [t.seed for t in tasks] == reps * 6
    assert [t.seed for t in replication_tasks(BASE, 2, 11)] == reps


def test_sweep_plan_with_independent_seeds():
    tasks = sweep_tasks(BASE, {"flood.peak": [1.0, 2.0]}, 3, 11, common_random_numbers=False)
    assert len({t.seed for t in tasks}) == 6
    assert [t.seed for t in tasks] == derive_seeds(11, 6, "sweep")


def test_sweep_plan_rejects_bad_grids():
    with pytest.raises(TypeError, match="must be a list"):
        sweep_tasks(BASE, {"flood.peak": "1,2"}, 1, 0)
    with pytest.raises(ValueError, match="no values"):
        sweep_tasks(BASE, {"flood.peak": []}, 1, 0)
    with pytest.raises(KeyError, match="no key 'peek'"):
        sweep_tasks(BASE, {"flood.peek": [1]}, 1, 0)
    with pytest.raises(ValueError, match="at least one replication"):
        sweep_tasks(BASE, {"flood.peak": [1]}, 0, 0)
