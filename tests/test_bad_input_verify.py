"""`simulator verify` on broken run folders: one `error:` line, exit 2, no traceback; and on
an altered record, the record and the column that differ."""

from __future__ import annotations

import shutil

import pytest

from simulator.cli import main

from .conftest import SCENARIOS


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify") / "good"
    assert main(["run", str(SCENARIOS / "flood_overload.yaml"), "--out", str(out), "--quiet"]) == 0
    return out


def copy_of(good_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    return folder


def lines_of(folder):
    return (folder / "metrics.csv").read_text().splitlines(keepends=True)


def column(folder, name):
    return lines_of(folder)[0].rstrip("\n").split(",").index(name)


def cut_last_line(folder):
    data = (folder / "metrics.csv").read_bytes()
    (folder / "metrics.csv").write_bytes(data[:-9])


def non_numeric_seq(folder):
    lines = lines_of(folder)
    cells = lines[5].split(",")
    cells[column(folder, "seq")] = "x5"
    lines[5] = ",".join(cells)
    (folder / "metrics.csv").write_text("".join(lines))


def seq_going_back(folder):
    lines = lines_of(folder)
    lines[20], lines[30] = lines[30], lines[20]
    (folder / "metrics.csv").write_text("".join(lines))


CASES = {
    "cut last line": (cut_last_line, "metrics.csv:{n}: the last line is cut off"),
    "non-numeric seq": (non_numeric_seq, "metrics.csv:6: column 'seq' holds b'x5'"),
    "seq going back": (seq_going_back, "metrics.csv:22: column 'seq' holds"),
    "empty metrics.csv": (lambda f: (f / "metrics.csv").write_text(""), "empty or without a header line"),
    "header without seq": (
        lambda f: (f / "metrics.csv").write_text("a,b\n1,2\n"),
        "no 'seq' column in the header",
    ),
    "summary.json not JSON": (lambda f: (f / "summary.json").write_text('{"chain_head": '), "not valid JSON"),
    "summary.json binary": (lambda f: (f / "summary.json").write_bytes(b"\xff\xfe\x00"), "not valid JSON"),
    "summary.json a list": (lambda f: (f / "summary.json").write_text("[]"), "no 'config' mapping"),
    "summary.json bad config": (
        lambda f: (f / "summary.json").write_text('{"config": {"name": "x", "until": -1}}'),
        "summary.json: until: Input should be greater than 0",
    ),
    "missing summary.json": (lambda f: (f / "summary.json").unlink(), "missing summary.json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_folder_is_one_error_line(case, good_run, tmp_path, capsys):
    folder = copy_of(good_run, tmp_path)
    n = len(lines_of(folder))
    damage, expected = CASES[case]
    damage(folder)
    assert main(["verify", str(folder), "--quiet"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), captured.err
    assert expected.format(n=n) in err[0], err[0]
    assert "Traceback" not in captured.err


def test_not_a_folder(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nope")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_an_altered_value_names_its_record_and_column(good_run, tmp_path, capsys):
    folder = copy_of(good_run, tmp_path)
    lines = lines_of(folder)
    at = column(folder, "queue")
    cells = lines[40].split(",")
    cells[at] = str(int(cells[at]) + 77)
    lines[40] = ",".join(cells)
    (folder / "metrics.csv").write_text("".join(lines))
    seq = int(cells[column(folder, "seq")])
    entity = cells[column(folder, "service_id")]
    assert main(["verify", str(folder)]) == 1
    out = capsys.readouterr().out
    assert '"column": "queue"' in out and f'"seq": {seq},' in out and f'"entity": "{entity}"' in out
    assert f"first difference: record {seq}, {entity}, column queue" in out
    assert "DIFFERS FROM summary.json" in out


def test_a_good_folder_verifies(good_run, capsys):
    assert main(["verify", str(good_run)]) == 0  # with the progress bar (hidden: not a terminal)
    out = capsys.readouterr().out
    assert '"valid": true' in out and "matches summary.json" in out


def test_verify_shows_progress_on_a_terminal(good_run, monkeypatch, capsys):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["verify", str(good_run)]) == 0
    shown = terminal.getvalue()
    assert "replay flood_overload" in shown and "20.0/20.0" in shown and "events" in shown
