"""The post-mortem a user reads, pinned: `simulator run --report` of the reference runs must write
exactly the pinned `failure_analysis.md` and `failure_analysis.json` (docs/mutation.md: the
surviving wording mutants of `analysis.markdown` changed headings, blank lines and column names
that no property test reads).

The runs' records are pinned by their chain heads (tests/test_golden.py), so these files change
only when the report's wording or arithmetic does. A deliberate change is re-pinned with
`PIN_REPORTS=1 pytest tests/test_mutation_report.py` and explained in CHANGELOG.md.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from simulator.cli import main
from tests.conftest import SCENARIOS

GOLDEN = Path(__file__).parent / "golden" / "reports"
RUNS = ("cascade_direct", "flood_overload")


_BUILT: dict[str, tuple[str, str]] = {}


def report_of(name: str, tmp_path_factory) -> tuple[str, str]:
    """(markdown, json text) of `name`'s report, its folder written as `RUN`. Built by the
    first test that asks for it (not by a shared fixture), so mutmut ties the report's code to
    the test that checks it."""
    if name not in _BUILT:
        out = tmp_path_factory.mktemp(name)
        assert main(["run", str(SCENARIOS / f"{name}.yaml"), "--out", str(out), "--quiet", "--report"]) == 0
        _BUILT[name] = tuple(
            (out / f"failure_analysis.{ext}").read_text().replace(str(out), "RUN") for ext in ("md", "json")
        )
    return _BUILT[name]


@pytest.mark.parametrize("name", RUNS)
def test_the_report_is_the_pinned_one(name, tmp_path_factory):
    markdown, data = report_of(name, tmp_path_factory)
    if os.environ.get("PIN_REPORTS"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        (GOLDEN / f"{name}.md").write_text(markdown)
        (GOLDEN / f"{name}.json").write_text(data)
    pinned = (GOLDEN / f"{name}.md").read_text()
    assert markdown == pinned, f"{name}: failure_analysis.md differs from the pin"
    assert json.loads(data) == json.loads((GOLDEN / f"{name}.json").read_text())


@pytest.mark.parametrize("name", RUNS)
def test_every_heading_and_table_is_well_formed_markdown(name, tmp_path_factory):
    """A heading stands alone between blank lines; a table's rows have its header's columns."""
    lines = report_of(name, tmp_path_factory)[0].splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("#")]
    assert len(headings) >= 8
    for i in headings:
        assert lines[i + 1] == "", f"no blank line after {lines[i]!r}"
        assert i == 0 or lines[i - 1] == "", f"no blank line before {lines[i]!r}"
    cells = [(i, line.count(" | ")) for i, line in enumerate(lines) if line.startswith("| ")]
    for (i, n), (j, m) in zip(cells, cells[1:], strict=False):
        if j == i + 1 or (j == i + 2 and re.fullmatch(r"(\|---)+\|", lines[i + 1])):
            assert n == m, f"row {j} has {m + 1} cells, the row above {n + 1}"
