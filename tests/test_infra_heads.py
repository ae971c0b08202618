"""Pinned chain heads of the reference runs: any change to what they record shows up here.

Changed by issue 15 (citizens as an exact Poisson process whose rate follows panic at every
instant, instead of a rate frozen until each citizen's next request; flood_town and
flood_city now run the population model by size). Previous heads: flood_overload
03f04801..., flood_town 98f26d17..., flood_city to t=200 47df4cac... . A head changes
only when the model or the record format does: say which and why in CHANGELOG.md.
"""

from __future__ import annotations

import json

import pytest

from simulator.cli import main
from simulator.engine import chain_of_file

from .conftest import SCENARIOS

HEADS = {
    # scenario, extra CLI arguments: chain head, records
    ("flood_overload", ()): ("c288df945da617e209c2146e03e9af9a0d025410f1cb6a21cfb07d88232c932f", 333),
    ("flood_town", ()): ("27985ac3fc6d72a5afd6c3270130df06628f9ec3a7dfbb18ce41fc13006028f4", 16622),
    ("flood_city", ("--until", "200")): (
        "a4f0105f20a66959c3a515784a024fff42a20b377164408225e6dd7ea0d99c9c",
        56736,
    ),
}


@pytest.mark.parametrize(("scenario", "extra"), list(HEADS))
def test_reference_run_has_its_pinned_chain_head(tmp_path, scenario, extra):
    out = tmp_path / scenario
    assert main(["run", str(SCENARIOS / f"{scenario}.yaml"), "--out", str(out), "--quiet", *extra]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["chain_head"], summary["records"]) == HEADS[(scenario, extra)]
    assert chain_of_file(out / "metrics.csv") == HEADS[(scenario, extra)]
