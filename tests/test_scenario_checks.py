"""The infra scenario's cross-checks on small hand-written scenarios: the exact message of each,
the boundary each allows (equal thresholds, a tick as long as the flood, one citizen not
expanded), and the up-front event estimate against a hand computation."""

from __future__ import annotations

import copy
import math

import pytest

from simulator.infra.scenario import expected_work, load_scenario, parse_scenario
from simulator.scenario import ScenarioError

BASE = {
    "name": "tiny",
    "until": 10.0,
    "services": [
        {"id": "power", "capacity": 5},
        {"id": "water", "capacity": 3, "depends_on": ["power"]},
    ],
    "citizens": [{"id": "people", "count": 3, "demand": 0.5, "uses": ["water"]}],
    "agencies": [{"id": "crew", "services": ["power"], "patrol_every": 2.0}],
    "policy": {"review_every": 4.0},
    "stressors": [{"id": "river", "services": ["power", "water"], "duration": 3.0, "tick": 0.25}],
}


def scenario(change=None) -> dict:
    data = copy.deepcopy(BASE)
    if change:
        change(data)
    return data


def refused(data) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "s.yaml")
    return str(caught.value)


def test_the_base_scenario_is_valid():
    s = parse_scenario(scenario(), "s.yaml")
    assert s.citizen_count() == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["citizens"][0].update(uses=["gas"]),
            "s.yaml: citizens[0].uses[0]: unknown service 'gas' (allowed: power, water)",
        ),
        (
            lambda d: d["agencies"][0].update(services=["power", "gas"]),
            "s.yaml: agencies[0].services[1]: unknown service 'gas' (allowed: power, water)",
        ),
        (
            lambda d: d["stressors"][0].update(services=["gas"]),
            "s.yaml: stressors[0].services[0]: unknown service 'gas' (allowed: power, water)",
        ),
        (
            lambda d: d["services"][1].update(depends_on=["gas"]),
            "s.yaml: services[1].depends_on[0]: unknown service 'gas' (allowed: power, water)",
        ),
        (
            lambda d: d["stressors"][0].update(warn=["people", "kids"]),
            "s.yaml: stressors[0].warn[1]: unknown citizen group 'kids' (allowed: people)",
        ),
        (
            lambda d: (d.update(citizens=[]), d["stressors"][0].update(warn=["kids"])),
            "s.yaml: stressors[0].warn[0]: unknown citizen group 'kids' (allowed: none defined)",
        ),
        (
            lambda d: d["services"].append({"id": "people_2", "capacity": 1}),
            "s.yaml: citizens[0]: its 3 citizens are named people_0..people_2, and 'people_2' is already "
            "an id (allowed: unique ids)",
        ),
        (
            lambda d: d["services"].append({"id": "crew", "capacity": 1}),
            "s.yaml: ids must be unique across services, citizens, agencies, stressors and the policy "
            "maker; repeated: crew",
        ),
        (
            lambda d: d["services"].append({"id": "central_policy", "capacity": 1}),
            "repeated: central_policy",
        ),
        (
            lambda d: d["services"][0].update(recover_below=1.5, overload_at=1.0),
            "s.yaml: services[0].recover_below: 1.5 is above overload_at 1 "
            "(allowed: recover_below <= overload_at)",
        ),
        (
            lambda d: d["services"][1].update(overload_at=4.0),
            "s.yaml: services[1].overload_at: 4 is above fail_at 3 (allowed: overload_at <= fail_at)",
        ),
        (
            lambda d: d["services"][0].update(fail_resource=0.6),
            "s.yaml: services[0].fail_resource: 0.6 is above recover_resource 0.5 "
            "(allowed: fail_resource <= recover_resource)",
        ),
        (
            lambda d: d["stressors"][0].update(tick=3.5),
            "s.yaml: stressors[0].tick: 3.5 is longer than the flood's duration 3 "
            "(allowed: tick <= duration)",
        ),
        (
            lambda d: d["services"][0].update(depends_on=["water"]),
            "s.yaml: services[1].depends_on: dependency cycle: water depends on power depends on water "
            "(allowed: dependencies without cycles; a failure needs a first cause)",
        ),
    ],
)
def test_each_cross_check_says_where_and_what_is_allowed(change, message):
    assert message in refused(scenario(change))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["services"][0].update(recover_below=1.0, overload_at=1.0, fail_at=1.0),
        lambda d: d["services"][0].update(fail_resource=0.5, recover_resource=0.5),
        lambda d: d["stressors"][0].update(tick=3.0),
        lambda d: (d["citizens"][0].update(count=1), d["services"].append({"id": "people_0", "capacity": 1})),
    ],
)
def test_the_boundaries_are_allowed(change):
    parse_scenario(scenario(change), "s.yaml")


def test_expected_work_is_requests_patrols_reviews_and_flood_ticks():
    s = parse_scenario(scenario(), "s.yaml")
    flood = s.stressors[0]
    ticks = math.ceil(3.0 / 0.25)
    by_hand = 3 * 0.5 * 10 + 10 / 2.0 + 10 / 4.0 + ticks * 2 * (1 + flood.intensity * flood.surge_rate * 0.25)
    assert expected_work(s) == pytest.approx(by_hand, rel=1e-12)
    short = parse_scenario(scenario(lambda d: d.update(until=1.1)), "s.yaml")
    ticks = math.ceil(1.1 / 0.25)  # the flood outlasts the run: only the run's ticks count
    by_hand = (
        3 * 0.5 * 1.1 + 1.1 / 2.0 + 1.1 / 4.0 + ticks * 2 * (1 + flood.intensity * flood.surge_rate * 0.25)
    )
    assert expected_work(short) == pytest.approx(by_hand, rel=1e-12)
    bare = parse_scenario(scenario(lambda d: d.pop("policy")), "s.yaml")
    assert expected_work(s) - expected_work(bare) == pytest.approx(10 / 4.0)


def test_the_budget_message_quotes_the_estimate_and_the_limit():
    data = scenario(lambda d: d.update(max_events=20))
    work = expected_work(parse_scenario(scenario(), "s.yaml"))
    assert refused(data) == (
        f"s.yaml: until: 10 time units need at least {work:,.3g} events (citizen requests at base demand, "
        "patrols, reviews, flood ticks and surges), more than max_events 20 (allowed: a shorter until, "
        "lower demand, or a larger max_events)"
    )


@pytest.mark.parametrize("key", ["strategy", "initial_capital"])
def test_a_finance_config_is_sent_to_finance_run(tmp_path, key):
    path = tmp_path / "f.yaml"
    path.write_text(f"{key}: x\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    assert (
        str(caught.value) == f"{path}: this is a finance config; run it with `simulator finance-run {path}`"
    )


def test_an_override_error_is_named_as_a_set_flag(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario()))
    assert load_scenario(str(path), {"services.power.capacity": 7}).services[0].capacity == 7
    with pytest.raises(ScenarioError, match=r"^--set "):
        load_scenario(str(path), {"services.gas.capacity": 7})


def test_a_check_across_a_sections_keys_names_the_keys_not_the_whole_section():
    """A model-level check's message is the whole answer: no `<top level>` and no dump of the
    section it was given (for a top-level check, the whole scenario)."""
    import pytest
    from pydantic import model_validator

    from simulator.scenario import ScenarioError, Strict, validate

    class Inner(Strict):
        a: int = 1
        b: int = 2

        @model_validator(mode="after")
        def _order(self):
            if self.a > self.b:
                raise ValueError("a must not exceed b")
            return self

    class Outer(Strict):
        inner: Inner = Inner()
        c: int = 0

        @model_validator(mode="after")
        def _c(self):
            if self.c < 0:
                raise ValueError("c: must be >= 0")
            return self

    with pytest.raises(ScenarioError) as nested:
        validate(Outer, {"inner": {"a": 3}}, "x.yaml")
    assert str(nested.value) == "x.yaml: inner: a must not exceed b"
    with pytest.raises(ScenarioError) as top:
        validate(Outer, {"c": -1}, "x.yaml")
    assert str(top.value) == "x.yaml: c: must be >= 0"
    with pytest.raises(ScenarioError) as field:
        validate(Outer, {"c": "x"}, "x.yaml")
    assert str(field.value).endswith("(got 'x')")  # a field's own value is still shown
