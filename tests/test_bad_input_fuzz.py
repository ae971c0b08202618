"""Any value in any place of a scenario: the run either completes or is refused with one
`error:` line and exit code 2. Never a traceback, never a run that does not end."""

from __future__ import annotations

import math
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.cli import main

from .conftest import SCENARIOS

BASE = yaml.safe_load((SCENARIOS / "flood_overload.yaml").read_text())
NASTY = [
    -1, 0, 1, 0.5, 1e-300, 1e300, 10**30, -(10**30), math.inf, -math.inf, math.nan,
    True, False, None, "", "x", "a,b", "transport", [], {}, ["transport"], [1, 2], {"a": 1},
]


def leaves(node, path=()):
    """Every (path, value) in nested dicts and lists, containers included."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))


PATHS = [path for path, _ in leaves(BASE) if path]


def put(data, path, value):
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),  # more: FUZZ_EXAMPLES=3000 pytest ...
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(NASTY)), min_size=1, max_size=3))
def test_any_value_anywhere_runs_or_is_one_error_line(tmp_path_factory, capsys, changes):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for path, value in changes:
        try:
            put(data, path, value)
        except (KeyError, IndexError, TypeError):  # an earlier change replaced a parent
            pass
    data["max_events"] = 20_000  # a run that grows past this stops with an error line
    folder = tmp_path_factory.mktemp("fuzz")
    scenario = folder / "s.yaml"
    scenario.write_text(yaml.safe_dump(data))
    code = main(["run", str(scenario), "--out", str(folder / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (0, 2), (changes, err)
    if code == 2:
        assert len(err) == 1 and err[0].startswith("error: "), (changes, err)
        assert not (folder / "out").exists()
    else:
        assert (folder / "out" / "summary.json").is_file()
