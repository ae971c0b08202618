"""OttoChain commands: `fiber test|check`, `wallet generate|import|list|export-genesis`,
`ottochain run`. Bad input is one `error:` line and exit code 2 (ScenarioError)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


def cmd_fiber_test(args: argparse.Namespace) -> int:
    from .testflow import run_example

    ok = True
    for path in args.example:
        ok &= run_example(path, extensions=not args.no_extensions)
    return 0 if ok else 1


def cmd_fiber_check(args: argparse.Namespace) -> int:
    from .definition import Machine, load_definition

    for path in args.definition:
        d = load_definition(path, extensions=not args.no_extensions)
        if isinstance(d, Machine):
            finals = [s for s, f in d.states.items() if f]
            print(
                f"{path}: {d.name}: {len(d.states)} states (initial {d.initial}, final {', '.join(finals)}), "
                f"{len(d.transitions)} transitions"
            )
        else:
            print(f"{path}: script {d.name}")
    return 0


def register_cli(sub: Any, commands: dict[str, Handler]) -> None:
    fiber = sub.add_parser(
        "fiber",
        help="OttoChain fiber definitions: run example test flows, check definitions",
        description="Work with OttoChain fiber (state machine) definitions.",
    )
    fsub = fiber.add_subparsers(dest="fiber_command", required=True, metavar="ACTION")
    test = fsub.add_parser(
        "test",
        help="run the testFlows of an example.json step by step",
        description="Run each testFlow of an OttoChain example file and print every step's outcome. "
        "Exit 0 when every expected state (and expected rejection) is reached, 1 otherwise. Step fields "
        'beyond upstream: "signer" (owner index or name), "expectRejected" (a reason such as '
        '"not signed by owner"), "signers" on a create step, "sequence" on an event step.',
    )
    test.add_argument("example", nargs="+", help="example.json file(s)")
    test.add_argument(
        "--no-extensions",
        action="store_true",
        help="strict engine: size, getKey, setKey, deleteKey, cat over arrays, $timestamp are errors",
    )
    test.set_defaults(handler=cmd_fiber_test)
    chk = fsub.add_parser(
        "check",
        help="load definition(s) and report states and transitions, or the first problem",
        description="Load and validate definitions; a problem is one error line naming file and JSON path.",
    )
    chk.add_argument("definition", nargs="+", help="definition JSON file(s)")
    chk.add_argument(
        "--no-extensions", action="store_true", help="strict engine semantics (no SDK extensions)"
    )
    chk.set_defaults(handler=cmd_fiber_check)
    commands["fiber"] = cmd_fiber_test
