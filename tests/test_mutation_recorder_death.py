"""A background recorder whose child died without a word (killed, out of memory): closing it
raises one clear RecorderError, never an IndexError or a chain built from nothing."""

from __future__ import annotations

import os
import signal

import pytest

from simulator.engine import CsvSink, Event, HashChain
from simulator.engine.recorder import BackgroundRecorder, RecorderError, background_available

from .test_recorder import LAYOUT

pytestmark = pytest.mark.skipif(not background_available(), reason="needs the fork start method")


@pytest.mark.parametrize(
    ("written", "why"),
    [(10, "the background recorder ended without a reply"), (13, "the background recorder failed")],
)
def test_closing_a_recorder_whose_child_was_killed_raises_why(tmp_path, written, why):
    """Killed with every batch handed over, the child never answers `close`; killed with
    records still pending, the parent finds the pipe closed when it hands them over."""
    rec = BackgroundRecorder(LAYOUT, [CsvSink(tmp_path / "m.csv")], HashChain(LAYOUT.header), batch=10)
    rec.open()
    for seq in range(1, written + 1):
        rec.write(seq, float(seq), Event("noop", "b0", "b0"), [])
    os.kill(rec._child.pid, signal.SIGKILL)
    rec._child.join(30)
    with pytest.raises(RecorderError, match=f"^{why}$"):
        rec.close(True)
    assert not rec._child.is_alive()


def test_a_background_recorder_refuses_a_sink_that_wants_records_and_says_why():
    """Records (not bytes) cannot cross to the child: a live subscriber needs the inline
    recorder, and the error says so before any child is started."""
    from simulator.engine import CallbackSink

    why = "^a background recorder takes only sinks that want bytes, not records$"
    with pytest.raises(ValueError, match=why):
        BackgroundRecorder(LAYOUT, [CallbackSink(lambda record, data: None)], HashChain(LAYOUT.header))
