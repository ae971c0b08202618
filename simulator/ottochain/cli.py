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


def cmd_wallet(args: argparse.Namespace) -> int:
    import json
    import os
    import sys

    from .wallet import Store, Wallet, WalletError, genesis_csv, passphrase_from_env_or_prompt

    action = args.wallet_command
    if action in ("list", "export-genesis") and not os.path.exists(args.store):
        raise WalletError(f"{args.store}: no such wallet store (create one with `simulator wallet generate`)")
    creating = action in ("generate", "import") and not os.path.exists(args.store)
    store = Store(args.store, passphrase_from_env_or_prompt(confirm=creating and sys.stdin.isatty()))
    if action == "generate":
        if args.count < 1:
            raise WalletError(f"--count {args.count}: must be at least 1")
        for _ in range(args.count):
            store.add(Wallet.generate())
        store.save()
        print(f"{args.store}: {args.count} wallets generated, {len(store.entries)} in the store")
    elif action == "import":
        keys = [line.strip() for line in sys.stdin if line.strip() and not line.startswith("#")]
        if not keys:
            raise WalletError("no private keys on standard input (64 hex digits per line)")
        wallets = []
        for n, text in enumerate(keys, 1):
            try:
                wallets.append(Wallet.from_hex(text))
            except WalletError as exc:
                raise WalletError(f"<stdin> line {n}: {exc}") from None
        added = sum(store.add(w) for w in wallets)
        store.save()
        print(f"{args.store}: {added} wallets imported ({len(wallets) - added} already present)")
    elif action == "list":
        rows = [{"id": e["id"], "address": e["address"], "publicKey": e["publicKey"]} for e in store.entries]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                print(f"{r['id']}  {r['address']}  {r['publicKey']}")
    else:
        text = genesis_csv(store.entries, args.balance)
        if args.out:
            from pathlib import Path

            Path(args.out).write_text(text)
            print(f"wrote {len(store.entries)} genesis rows to {args.out}")
        else:
            sys.stdout.write(text)
    return 0


def cmd_ottochain_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .config import load_scenario
    from .run import completion_table, run_scenario

    overrides: dict[str, Any] = {}
    if args.seed is not None:
        overrides["seed"] = args.seed
    base = load_scenario(args.scenario, overrides)
    modes = ["fixed", "upstream"] if args.mode == "both" else [args.mode or base.mode]
    summaries = {}
    for mode in modes:
        out = Path(args.out) / mode if len(modes) > 1 else Path(args.out)
        summaries[mode] = run_scenario(base.model_copy(update={"mode": mode}), out)
        s = summaries[mode]
        if not args.quiet:
            print(f"{mode}: {s['records']:,} records, chain head {s['chain_head']}, wrote {out}/metrics.csv")
    print(completion_table(summaries))
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

    wallet = sub.add_parser(
        "wallet",
        help="OttoChain wallets: generate, import, list, export a genesis CSV",
        description="secp256k1 wallets with DAG addresses, kept in a store encrypted at rest "
        "(scrypt + AES-256-GCM). The passphrase comes from SIMULATOR_WALLET_PASSPHRASE or a prompt; "
        "a wrong passphrase is an error (exit 2). Private keys are never printed or written in clear.",
    )
    wsub = wallet.add_subparsers(dest="wallet_command", required=True, metavar="ACTION")
    gen = wsub.add_parser("generate", help="create N new wallets in the store (made if absent)")
    gen.add_argument("--count", type=int, required=True, help="how many wallets")
    imp = wsub.add_parser("import", help="add wallets from private keys in hex on standard input, one a line")
    lst = wsub.add_parser("list", help="address and public key of each wallet (never the private key)")
    lst.add_argument("--json", action="store_true", help="JSON instead of text")
    exp = wsub.add_parser("export-genesis", help="address,balance CSV for the metagraph's genesis file")
    exp.add_argument("--balance", required=True, help="balance per wallet in OTTO (10000 -> 1000000000000)")
    exp.add_argument("--out", help="write to this file instead of standard output")
    for p in (gen, imp, lst, exp):
        p.add_argument("--store", required=True, help="wallet store file (JSON, encrypted private keys)")
        p.set_defaults(handler=cmd_wallet)
    commands["wallet"] = cmd_wallet

    otto = sub.add_parser(
        "ottochain",
        help="OttoChain world: a seeded population of wallet agents driving seven fiber types",
        description="Run an OttoChain population scenario (YAML) on the kernel.",
    )
    osub = otto.add_subparsers(dest="otto_command", required=True, metavar="ACTION")
    run = osub.add_parser(
        "run",
        help="run a population; write metrics.csv + summary.json; print completion per fiber type",
        description="Agents create fibers (co-signed by every party in the fixed mode, by the initiator "
        "alone in the upstream mode), answer what is pending to them, and give up after timeouts. The "
        "metagraph batches signed messages into snapshots. --mode both runs the two modes on the same seed "
        "into OUT/fixed and OUT/upstream and prints them side by side.",
    )
    run.add_argument("scenario", nargs="?", help="scenario YAML, e.g. scenarios/ottochain_population.yaml")
    run.add_argument("--out", default="results/ottochain", help="run folder (default: results/ottochain)")
    run.add_argument("--mode", choices=("fixed", "upstream", "both"), help="override the scenario's mode")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--quiet", action="store_true", help="only the completion table")
    run.set_defaults(handler=cmd_ottochain_run)
    commands["ottochain"] = cmd_ottochain_run

    traffic = sub.add_parser(
        "traffic",
        help="OttoChain traffic: a persistent population evolving over generations (resumable)",
        description="Run an evolving population of wallet agents (traits, identity and reputation, "
        "a faulty bridge) for N generations. Every generation is checkpointed to OUT/traffic.sqlite "
        "(WAL) and chained by hash; --resume continues from the last checkpoint with the same chain. "
        "Writes OUT/generations.csv, summary.json, report.md with plots, metrics.prom.",
    )
    traffic.add_argument("scenario", nargs="?", help="traffic YAML, e.g. scenarios/ottochain_traffic.yaml")
    traffic.add_argument("--out", default="results/ottochain_traffic", help="run folder")
    traffic.add_argument("--generations", type=int, help="override the number of generations")
    traffic.add_argument("--seed", type=int, help="override the seed")
    traffic.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key")
    traffic.add_argument("--resume", action="store_true", help="continue the run stored in OUT")
    traffic.add_argument(
        "--metrics-port", type=int, help="serve Prometheus /metrics and /health on 127.0.0.1:PORT (0: any)"
    )
    traffic.add_argument("--no-progress", action="store_true", help="no progress bar")
    traffic.set_defaults(handler=cmd_traffic)
    commands["traffic"] = cmd_traffic


def cmd_traffic(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    import yaml

    from ..scenario import ScenarioError
    from ..store import StoreError
    from .metrics import TrafficMetrics
    from .traffic import CSV_NAME, run_traffic
    from .traffic_config import load_traffic
    from .traffic_report import report

    overrides: dict[str, Any] = {}
    for pair in args.set:
        if "=" not in pair:
            raise ScenarioError(f"--set {pair!r}: expected KEY=VALUE, e.g. bridge.error_rate=0.1")
        key, value = pair.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    if args.generations is not None:
        overrides["generations"] = args.generations
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise ScenarioError(f"--metrics-port {args.metrics_port}: expected 0..65535")
    cfg = load_traffic(args.scenario, overrides)
    out = Path(args.out)
    metrics = TrafficMetrics()
    metrics.update(cfg.population, 0, {})
    metrics.health["status"] = "starting"
    if args.metrics_port is not None:
        try:
            port = metrics.serve(args.metrics_port)
        except OSError as exc:
            raise ScenarioError(f"--metrics-port {args.metrics_port}: {exc.strerror or exc}") from None
        print(f"metrics on http://127.0.0.1:{port}/metrics (health: /health)", file=sys.stderr, flush=True)
    try:
        summary = run_traffic(
            cfg, out, resume=args.resume, progress=not args.no_progress,
            on_generation=lambda t, row: metrics.update(len(t.members), t.generation, row),
        )
    except StoreError as exc:  # OUT holds something that is not a run's store
        why = str(exc).split("; --db", 1)[0]
        raise ScenarioError(f"--out {out}: {why}; use a traffic run folder or a new one") from None
    finally:
        metrics.stop()
    metrics.write(out / "metrics.prom")
    report(summary, out / CSV_NAME, out)
    o = summary["outcomes"]
    print(
        f"{summary['generations']} generations, population {summary['population']}, completion "
        f"{o.get('completion_mean', 0):.1%}, fitness "
        f"{o.get('fitness_first_fifth')} -> {o.get('fitness_last_fifth')}, "
        f"chain head {summary['chain_head']}; wrote {out}/{CSV_NAME}, report.md, metrics.prom"
    )
    return 0
