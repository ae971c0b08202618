"""Under any fault rates, seed and pattern, the record stays whole: every call resolves once,
every invocation ends once with a known reason, causes point backwards, counters return to
zero, and every task reports."""

from __future__ import annotations

from collections import Counter

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.engine import MemorySink
from simulator.orchestration import END_REASONS
from simulator.orchestration.run import execute
from simulator.orchestration.spec import PATTERNS, parse_spec

from .conftest import SCENARIOS

BASE = yaml.safe_load((SCENARIOS / "orchestration_stress.yaml").read_text())
rate = st.floats(0.0, 0.3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    root=st.sampled_from(PATTERNS),
    seed=st.integers(0, 2**32),
    failure=rate,
    timeout=rate,
    exception=rate,
)
def test_the_record_is_whole_under_any_faults(root, seed, failure, timeout, exception):
    data = {
        **BASE,
        "root": root,
        "seed": seed,
        "faults": {"failure": failure, "timeout": timeout, "exception": exception},
    }
    data["tasks"] = {**BASE["tasks"], "count": 12, "arrival_rate": 1.0}
    memory = MemorySink()
    session = execute(parse_spec(data, "hypothesis"), [memory])
    records = memory.records
    assert len(session.rows) == 12 and all(r["end_reason"] in END_REASONS for r in session.rows)
    assert all(r.cause is None or r.cause < r.seq for r in records)
    calls = Counter(r.payload["call"] for r in records if r.type == "agent.call")
    resolved = Counter(r.payload["call"] for r in records if r.type in ("agent.result", "agent.fault"))
    assert calls == resolved and set(calls.values()) == {1}
    starts = Counter(r.payload["invocation"] for r in records if r.type == "orch.start")
    ends = [r for r in records if r.type == "orch.end"]
    assert starts == Counter(r.payload["invocation"] for r in ends)
    assert all(r.payload["reason"] in END_REASONS for r in ends)
    assert all(r.payload["success"] == (r.payload["reason"] == "completed") for r in ends)
    world = session.world
    for eid, kind in world.kinds.items():
        if kind in ("agent", "orchestration"):
            state = world.entities[eid]
            assert state["in_flight"] == 0 and state["status"] == "idle"
            done = state["succeeded"] + state["failed"] + state["exceptions"] + state["timeouts"]
            assert done == state["calls"]
    if failure == timeout == exception == 0.0:
        assert all(r["success"] for r in session.rows)
