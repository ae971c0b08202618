"""`simulator verify`'s first checks on a run folder's files, each on a small hand-written file:
the exact message, and the boundaries that pass (equal seqs, the header's last column)."""

from __future__ import annotations

import os

import pytest

from simulator.infra.run import check_metrics, differing_column, read_summary
from simulator.scenario import ScenarioError


def refused(fn, path) -> str:
    with pytest.raises(ScenarioError) as caught:
        fn(path)
    return str(caught.value)


def write(tmp_path, data: bytes):
    path = tmp_path / "metrics.csv"
    path.write_bytes(data)
    return path


def test_a_well_formed_file_counts_its_lines_and_allows_equal_seqs(tmp_path):
    path = write(tmp_path, b"time,seq,x\n0.5,1,a\n0.5,1,b\n1.0,2,c\n")
    assert check_metrics(path) == 4
    assert check_metrics(write(tmp_path, b"time,seq,x\n")) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "{p}: empty or without a header line; is this a run's metrics.csv?"),
        (b"time,seq", "{p}: empty or without a header line; is this a run's metrics.csv?"),
        (b"t\xff,seq\n", "{p}:1: the header is not UTF-8 text; is this a metrics.csv?"),
        (b"a,b,c,d,e,f,g,h,i\n", "{p}: no 'seq' column in the header (got a, b, c, d, e, f, g, h, ...)"),
        (b"time,seq,x\n1,1,a\n2,2,b", "{p}:3: the last line is cut off (no newline): truncated"),
        (
            b"time,seq,x\n1,1,a\n2,x,b\n",
            "{p}:3: column 'seq' holds b'x' (allowed: a record number, never going back)",
        ),
        (
            b"time,seq,x\n1,5,a\n2,4,b\n",
            "{p}:3: column 'seq' holds b'4' after 5 (allowed: a record number, never going back)",
        ),
        (b"time,seq,x\n1\n", "{p}:2: column 'seq' holds b'' (allowed: a record number, never going back)"),
        (
            b"time,seq,x\n1,2\n",
            "{p}:2: column 'seq' holds b'2\\n' (allowed: a record number, never going back)",
        ),
    ],
)
def test_a_malformed_metrics_file_is_named_at_its_line(tmp_path, data, message):
    path = write(tmp_path, data)
    assert refused(check_metrics, path) == message.format(p=path)


def test_a_metrics_file_that_cannot_be_opened(tmp_path):
    path = tmp_path / "missing.csv"
    assert refused(check_metrics, path) == f"{path}: cannot read it (No such file or directory)"


def test_a_summary_that_cannot_be_used_says_why(tmp_path):
    path = tmp_path / "summary.json"
    assert refused(read_summary, tmp_path) == f"{path}: cannot read it (No such file or directory)"
    path.write_text("{nope")
    message = refused(read_summary, tmp_path)
    assert message.startswith(f"{path}: not valid JSON (") and message.endswith("); is this a run folder?")
    path.write_bytes(b"\xff\xfe")
    assert refused(read_summary, tmp_path).endswith("); is this a run folder?")
    for text in ("[1]", '{"config": 3}', "{}"):
        path.write_text(text)
        assert refused(read_summary, tmp_path) == (
            f"{path}: no 'config' mapping; a run's summary.json holds the resolved scenario"
        )
    path.write_text('{"config": {}}')
    assert read_summary(tmp_path) == {"config": {}}


def test_the_first_differing_column_and_its_entity():
    header = b"time,event_type,source,service_id,status,seq\n"
    a = b"1.0,tick,x,water,ok,3\n1.0,tick,x,power,ok,3\n"
    b = b"1.0,tick,x,water,ok,3\n1.0,tick,x,power,failed,3\n"
    assert differing_column(header, a, b) == ("status", "power")
    assert differing_column(header, a, a) == ("", "")
    assert differing_column(header, a, a + b"1.0,tick,x,gas,ok,3\n") == ("<rows carried>", "")
    assert differing_column(header, a, a.replace(b",3\n", b",3,9\n", 1)) == ("<number of columns>", "water")
    assert differing_column(b"time\n", b"1,2\n", b"1,3\n") == ("column 2", "")
    assert differing_column(b"a,b,c,id\n", b"1,2,3,x\n", b"1,2,4,x\n") == ("c", "x")  # four cells


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_summary(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("{}")
    path.chmod(0)
    assert refused(read_summary, tmp_path) == f"{path}: cannot read it (Permission denied)"
