"""What a library user reads: the README's Python example runs as printed, the scenario
reference in docs/ is what the models generate, and every option says what it does."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest

from simulator.cli import build_parser, main
from simulator.schema import DOCS, REFERENCES, check_docs

from .conftest import ROOT


def readme_python() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Use it from Python") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_and_matches_the_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(readme_python(), "README.md", "exec"), namespace)  # noqa: S102 - our own README
    printed = capsys.readouterr().out
    assert printed.count("t=") == 4 and "t=20: " in printed  # four looks, the last at the end
    out = tmp_path / "cli"
    argv = ["run", "scenarios/flood_overload.yaml", "--set", "policy.intervention_delay=6"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert namespace["world"].chain_head == summary["chain_head"]
    events, rows = namespace["events"], namespace["rows"]
    assert len(events) == summary["outcomes"]["events"]
    assert list(events.columns[:3]) == ["seq", "time", "type"]
    assert (out / "metrics.csv").read_text() == namespace["memory"].text()
    assert len(rows) == len((out / "metrics.csv").read_text().splitlines()) - 1


@pytest.mark.parametrize("world", sorted(DOCS))
def test_the_docs_page_is_what_the_models_generate(world):
    assert DOCS[world] not in check_docs(ROOT), (
        f"docs out of date: run `make docs` (or `simulator schema {world} --out {DOCS[world]}`) and commit"
    )


def test_schema_reference_names_every_key():
    from simulator.infra.scenario import InfraScenario, ServiceSpec

    text = REFERENCES["infra"]()
    for model in (InfraScenario, ServiceSpec):
        for name in model.model_fields:
            assert f"| `{name}` |" in text
    assert "| `max_queue` | integer | `100` | >= 0 |" in text
    assert "| `until` | number | **required** | > 0 |" in text


def test_schema_command_prints_markdown_and_json_schema(capsys):
    assert main(["schema", "infra"]) == 0
    assert capsys.readouterr().out.startswith("# Infra scenario reference")
    assert main(["schema", "finance", "--json"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "initial_capital" in schema["properties"]


def options_of(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def subparser(name: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices[name]


@pytest.mark.parametrize("command", ["run", "verify", "batch", "schema"])
def test_every_option_has_help(command):
    missing = [a.dest for a in options_of(subparser(command)) if not a.help or a.help == argparse.SUPPRESS]
    assert not missing, f"{command}: no help for {missing}"


def test_the_backend_option_says_what_each_backend_is(capsys):
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "serial (this process), processes (a local pool) or dask" in text
    assert "--force" in text


def test_the_study_has_its_own_help():
    from experiments.flood_overload import parser

    assert all(a.help for a in options_of(parser()))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "experiments.flood_overload", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("usage: python -m experiments.flood_overload")
    assert "simulator run" not in done.stdout.splitlines()[0]


def test_the_study_forwards_its_options(tmp_path, monkeypatch):
    import experiments.flood_overload as study

    seen: list[list[str]] = []
    monkeypatch.setattr(study, "cli_main", lambda argv: seen.append(argv) or 0)
    assert study.main(["--out", str(tmp_path), "--seed", "3", "--set", "policy.budget=2", "--quiet"]) == 0
    assert seen == [
        ["run", str(study.SCENARIO), "--report", "--out", str(tmp_path), "--seed", "3",
         "--set", "policy.budget=2", "--quiet"]
    ]
