"""The condensed timeline's note says what it left out, by kind, and says so when nothing was."""

from __future__ import annotations

from simulator.analysis.findings import TimelineEntry
from simulator.analysis.markdown import TIMELINE_FULL, _condensed


def _entry(i: int, kind: str, service: str | None = None, failed: bool = False) -> TimelineEntry:
    return TimelineEntry(float(i), i, kind, service, f"{kind} {i}", failed)


def test_a_condensed_timeline_that_kept_everything_says_it_left_out_nothing():
    entries = [_entry(i, "decision") for i in range(TIMELINE_FULL + 5)]
    kept, note = _condensed(entries)
    assert kept == entries
    assert f"The run has {TIMELINE_FULL + 5} timeline entries" in note
    assert "Left out: nothing." in note


def test_a_condensed_timeline_counts_what_it_left_out_by_kind():
    entries = [_entry(0, "flood")]
    entries += [_entry(1 + i, "degraded", "a") for i in range(3)]  # the first is kept
    entries += [_entry(10 + i, "recovered", "a") for i in range(2)]
    entries += [_entry(20, "degraded", "b", failed=True), _entry(21, "recovered", "b", failed=True)]
    kept, note = _condensed(entries)
    assert [e.seq for e in kept] == [0, 1, 20, 21]
    assert (
        "Left out: 2 later overload steps of episodes that never failed; "
        "2 recoveries from overload-only episodes." in note
    )
