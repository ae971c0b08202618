"""pytest plugin for `make mutate` only: run a mutant's tests fastest first.

mutmut runs each mutant's tests with `-x`, in no particular order, so a mutant that the quickest
of its tests would kill may first wait for a slow simulation. This plugin sorts the collected
tests by the duration mutmut measured for them (`mutmut-stats.json`, in mutmut's working
directory); tests it has not timed keep their place at the end. It changes nothing outside a
mutant run (`MUTANT_UNDER_TEST` names a mutant), so the normal suite never sees it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_NOT_A_MUTANT = {"", "fail", "stats", "list_all_tests", "mutant_generation"}


def _durations() -> dict[str, float]:
    try:
        return json.loads(Path("mutmut-stats.json").read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("MUTANT_UNDER_TEST", "") in _NOT_A_MUTANT:
        return
    durations = _durations()
    if durations:
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
