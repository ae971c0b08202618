"""Pinned chain heads of the reference runs: any change to what they record shows up here.

Changed by issue 15 (citizens as an exact Poisson process whose rate follows panic at every
instant, instead of a rate frozen until each citizen's next request; flood_town and
flood_city now run the population model by size). Previous heads: flood_overload
03f04801..., flood_town 98f26d17..., flood_city to t=200 47df4cac... . Changed again
when the population model's group process took its waits and its uniforms from two streams
drawn in blocks (CHANGELOG.md): flood_town 27985ac3..., flood_city to t=200 a4f0105f...
before. A head changes
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
    ("flood_town", ()): ("d5e3276961c321627a2554bca4b1dfe27658612e11c72fe90254af8c25d5013a", 16650),
    ("flood_city", ("--until", "200")): (
        "35503c7411872fb3580550dbb51f946669695367dee5c9c53bfd79a02292d806",
        56890,
    ),
}


@pytest.mark.parametrize(("scenario", "extra"), list(HEADS))
def test_reference_run_has_its_pinned_chain_head(tmp_path, scenario, extra):
    out = tmp_path / scenario
    assert main(["run", str(SCENARIOS / f"{scenario}.yaml"), "--out", str(out), "--quiet", *extra]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["chain_head"], summary["records"]) == HEADS[(scenario, extra)]
    assert chain_of_file(out / "metrics.csv") == HEADS[(scenario, extra)]
