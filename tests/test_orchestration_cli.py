"""`simulator orchestrate`: bad input, the run folder, verify, and the same bytes on every backend."""

from __future__ import annotations

import json

import pytest
import yaml

from simulator.batch import Task, run_batch
from simulator.cli import main
from simulator.engine import chain_of_file
from simulator.orchestration.run import run_outcomes
from simulator.orchestration.spec import parse_spec

from .conftest import SCENARIOS

DESK = SCENARIOS / "orchestration_desk.yaml"


def desk(count=30):
    data = yaml.safe_load(DESK.read_text())
    data["tasks"]["count"] = count
    return data


def write(tmp_path, mutate):
    data = desk()
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


CASES = {
    "unknown pattern": (
        lambda d: d["patterns"]["planning"].update(pattern="pipeline"),
        "patterns.planning.pattern: unknown pattern 'pipeline' (allowed: sequential, concurrent, group_chat,",
    ),
    "unknown agent": (
        lambda d: d["patterns"]["analysts"]["members"].append("oracle"),
        "patterns.analysts.members[3]: unknown member 'oracle' (agents: macro,",
    ),
    "unknown capability": (
        lambda d: d["tasks"]["kinds"][1]["requires"].append("astrology"),
        "tasks.kinds[1].requires[3]: unknown capability 'astrology' (declared: compliance,",
    ),
    "unknown route agent": (
        lambda d: d["team"][6]["routes"].update(compliance="legal"),
        "team[6].routes.compliance: unknown agent 'legal'",
    ),
    "nesting cycle": (
        lambda d: d["patterns"]["planning"]["members"].append("desk"),
        "patterns.planning.members[1]: nesting cycle desk -> planning -> desk",
    ),
    "max_concurrent 0": (
        lambda d: d["patterns"]["analysts"].update(max_concurrent=0),
        "patterns.analysts.max_concurrent: Input should be greater than 0",
    ),
    "negative arrival rate": (
        lambda d: d["tasks"].update(arrival_rate=-0.5),
        "tasks.arrival_rate: Input should be greater than 0",
    ),
    "negative fault rate": (
        lambda d: d["faults"].update(failure=-0.1),
        "faults.failure: Input should be greater than or equal to 0",
    ),
    "negative latency": (
        lambda d: d["team"][0]["latency"].update(scale=-1),
        "team[0].latency.scale: Input should be greater than or equal to 0",
    ),
    "handoff to nobody": (
        lambda d: d["patterns"]["orders"].update(relations={"trader": []}),
        "patterns.orders.relations.trader: hands to nobody",
    ),
    "handoff to an unknown target": (
        lambda d: d["patterns"]["orders"].update(relations={"trader": ["legal"]}),
        "patterns.orders.relations.trader[0]: unknown handoff target 'legal' (members: trader, compliance)",
    ),
    "unknown key in a pattern": (
        lambda d: d["patterns"]["review"].update(max_stalls=2),
        "patterns.review.max_stalls: unknown key (allowed: members, retries, timeout, pattern, max_stall,",
    ),
    "unknown root": (lambda d: d.update(root="floor"), "root: unknown pattern 'floor'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_is_one_clear_line_exit_2_and_nothing_written(case, tmp_path, capsys):
    mutate, expected = CASES[case]
    path = write(tmp_path, mutate)
    out = tmp_path / "results"
    assert main(["orchestrate", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {path}: ") and expected in err, err
    assert not out.exists()


def test_run_folder_verifies_and_a_changed_record_is_named(tmp_path, capsys):
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(desk(40)))
    out = tmp_path / "run"
    assert main(["orchestrate", str(path), "--out", str(out), "--quiet"]) == 0
    for name in (
        "transcript.jsonl",
        "metrics.csv",
        "tasks.csv",
        "summary.json",
        "makespan.png",
        "agents.png",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert chain_of_file(out / "metrics.csv") == (summary["chain_head"], summary["records"])
    rows = (out / "tasks.csv").read_text().splitlines()
    assert len(rows) == 41 and rows[0].startswith("task,kind,pattern,root,arrived,finished,makespan,success")
    transcript = [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]
    assert len(transcript) == summary["records"]
    kinds = {t["type"] for t in transcript}
    assert {"agent.call", "agent.start", "agent.message", "agent.result", "agent.fault"} <= kinds
    assert main(["verify", str(out)]) == 0
    assert '"valid": true' in capsys.readouterr().out

    transcript = (out / "transcript.jsonl").read_text().splitlines(keepends=True)
    (out / "transcript.jsonl").write_text("".join(transcript[:10] + transcript[11:]))
    assert main(["verify", str(out)]) == 1
    report = capsys.readouterr().out
    assert '"valid": false' in report and '"seq": 11' in report and "transcript.jsonl" in report
    (out / "transcript.jsonl").write_text("".join(transcript))

    lines = (out / "metrics.csv").read_text().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if i > 20 and ",agent.result," in line)
    lines[i] = lines[i].replace("agent.result", "agent.fault", 1)
    (out / "metrics.csv").write_text("".join(lines))
    assert main(["verify", str(out)]) == 1
    report = capsys.readouterr().out
    assert "DIFFERS FROM" in report and '"valid": false' in report


def test_the_same_transcript_and_chain_head_on_serial_processes_and_dask(tmp_path):
    spec = desk(25)
    heads = {}
    for backend in ("serial", "processes", "dask"):
        tasks = [
            Task(index=i, params={**spec, "output_dir": str(tmp_path / backend / str(i))}, seed=seed)
            for i, seed in enumerate((3, 4))
        ]
        results = run_batch(run_outcomes, tasks, backend=backend, workers=2, progress=False)
        assert [r["status"] for r in results] == ["ok", "ok"], results
        heads[backend] = [
            (
                json.loads((tmp_path / backend / str(i) / "summary.json").read_text())["chain_head"],
                (tmp_path / backend / str(i) / "transcript.jsonl").read_bytes(),
                (tmp_path / backend / str(i) / "metrics.csv").read_bytes(),
                results[i]["outcomes"],
            )
            for i in range(2)
        ]
    assert heads["serial"] == heads["processes"] == heads["dask"]
    assert heads["serial"][0][0] != heads["serial"][1][0]  # the seeds matter


def test_replications_as_batch_tasks(tmp_path, capsys):
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(desk(10)))
    out = tmp_path / "batch"
    code = main(
        ["orchestrate", str(path), "--out", str(out), "-n", "2", "--sweep", "faults.failure=0,0.5", "--quiet"]
    )
    assert code == 0
    results = json.loads((out / "batch_results.json").read_text())
    assert len(results) == 4
    by_point = {}
    for r in results:
        by_point.setdefault(r["overrides"]["faults.failure"], []).append(r["outcomes"]["success_rate"])
    assert sum(by_point[0.5]) < sum(by_point[0])
    assert (
        main(
            [
                "orchestrate",
                str(path),
                "--out",
                str(tmp_path / "b2"),
                "--sweep",
                "faults.failure=2",
                "--quiet",
            ]
        )
        == 2
    )
    assert "faults.failure" in capsys.readouterr().err and not (tmp_path / "b2").exists()


def test_spec_round_trips_through_its_summary():
    spec = parse_spec(desk(), "desk")
    assert parse_spec(spec.model_dump(mode="json"), "again") == spec


def test_transcript_lines_say_what_the_records_say_and_background_writes_the_same_bytes(tmp_path):
    from simulator.engine import CsvSink, MemorySink
    from simulator.orchestration.run import JsonlSink, execute, transcript_line

    spec = parse_spec(desk(8), "desk")
    memory = MemorySink()
    execute(spec, [memory])
    for record, data in zip(memory.records, memory.data, strict=True):
        line = transcript_line(data)
        assert (
            line.endswith(b"\n")
            and line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":")).encode() + b"\n"
        )
        item = json.loads(line)
        expected = {k: getattr(record, k) for k in ("seq", "type", "source", "target", "cause", "payload")}
        assert {k: item[k] for k in expected} == expected
        assert abs(item["time"] - record.time) <= 1e-9 * max(1.0, record.time)
    files = {}
    for background in (False, True):
        out = tmp_path / str(background)
        session = execute(
            spec, [CsvSink(out / "metrics.csv"), JsonlSink(out / "transcript.jsonl")], background=background
        )
        files[background] = (
            (out / "metrics.csv").read_bytes(),
            (out / "transcript.jsonl").read_bytes(),
            session.world.chain_head,
        )
    assert files[False] == files[True]
    assert files[False][0] == memory.text().encode()


def test_a_group_chat_spec_with_rules_and_human_input_runs():
    from simulator.engine import MemorySink
    from simulator.orchestration.run import execute

    data = yaml.safe_load((SCENARIOS / "orchestration_stress.yaml").read_text())
    data["root"] = "group_chat"
    data["tasks"]["count"] = 5
    data["patterns"]["group_chat"]["manager"] = {
        "kind": "rules",
        "rules": [
            {"needs": "research", "next": "research_backup"},
            {"after": "research_backup", "next": "strategist"},
        ],
    }
    data["patterns"]["group_chat"]["human_input"] = {"every": 2, "reply": "keep going"}
    memory = MemorySink()
    session = execute(parse_spec(data, "chat"), [memory])
    assert len(session.rows) == 5 and all(r["success"] for r in session.rows)
    selects = [r for r in memory.records if r.type == "chat.select"]
    firsts = [s.payload["speaker"] for s in selects if s.payload["turn"] == 1]
    assert firsts == ["research_backup"] * 5
    assert any("fallback" in s.payload for s in selects)
    assert any(r.type == "chat.human" and r.payload["content"] == "keep going" for r in memory.records)
    bad = {
        **data,
        "patterns": {
            **data["patterns"],
            "group_chat": {
                **data["patterns"]["group_chat"],
                "manager": {"kind": "rules", "rules": [{"next": "nobody"}]},
            },
        },
    }
    with pytest.raises(
        Exception, match=r"patterns.group_chat.manager.rules\[0\].next: 'nobody' is not in the chat"
    ):
        parse_spec(bad, "chat")
