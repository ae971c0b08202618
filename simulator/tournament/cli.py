"""`simulator tournament`, `simulator evolve` and `simulator strategy register|list|show|evolve|cross`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_DB = "results/strategies.sqlite"


def _store_errors(fn: Any) -> Any:
    """Store and game failures become one `error:` line (bad input: exit 2)."""

    def run(args: argparse.Namespace) -> int:
        from ..store import StoreError
        from .errors import TournamentError
        from .games import GameFailed

        try:
            return fn(args)
        except StoreError as exc:
            raise TournamentError(str(exc)) from None
        except GameFailed as exc:
            print(f"error: {str(exc).splitlines()[0]} (completed games are kept; --resume)",
                  file=sys.stderr)
            return 1

    run.__name__ = fn.__name__
    return run


def _options(args: argparse.Namespace) -> Any:
    from .errors import TournamentError
    from .games import BatchOptions

    if args.workers is not None and args.workers < 1:
        raise TournamentError(f"--workers: must be at least 1, got {args.workers}")
    if args.scheduler and args.backend != "dask":
        raise TournamentError("--scheduler: only applies to --backend dask")
    return BatchOptions(args.backend, args.workers, not args.quiet, args.scheduler)


def check_spec(spec: Any, db: str | None, source: str) -> None:
    """Resolve the players against a read-only registry: bad input fails before anything is
    written (no output folder, no database)."""
    from ..store import Store
    from .formats import make_format
    from .games import make_game
    from .registry import Registry
    from .runner import resolve_entrants

    game = make_game(spec.game, spec.seed, source)
    if game.type == "trading":  # the market window must load and hold data
        from ..finance import FinanceError, load_market, parse_config
        from .errors import TournamentError

        try:
            load_market(parse_config({"market": spec.game.market.model_dump(mode="json")}))
        except FinanceError as exc:
            raise TournamentError(f"{source}: game.market: {exc}") from None
    registry = None
    if db and Path(db).is_file():
        registry = Registry(Store.reader(db))
    try:
        labels = list(resolve_entrants(spec, game, registry, source))
    finally:
        if registry is not None:
            registry.store.close()
    make_format(spec.format, labels)


@_store_errors
def cmd_tournament(args: argparse.Namespace) -> int:
    from ..store import Store
    from .runner import run_tournament
    from .spec import load_spec

    spec = load_spec(args.spec)
    options = _options(args)
    check_spec(spec, args.db, args.spec)
    out = Path(args.out)
    from .runner import prepare_out

    prepare_out(out, args.resume)
    with Store(args.db) as store:
        result = run_tournament(spec, out, options, resume=args.resume, store=store,
                                plots=not args.no_plots, source=args.spec)
    if not args.quiet:
        top = result.standings[:10]
        for s in top:
            print(f"{s['rank']:>3}. {s['player']:<28} score {s['score']:>12.6g}  "
                  f"W/D/L {s['wins']}/{s['draws']}/{s['losses']}  elo {s['elo']:.0f}")
        if result.champion:
            print(f"champion: {result.champion}")
        games = sum(r["player_b"] != "(bye)" for r in result.rows)
        print(f"{games} games -> {out}/matches.csv, standings.csv, standings.md "
              f"({result.tournament_id} in {args.db})")
    return 0


@_store_errors
def cmd_replay_game(args: argparse.Namespace) -> int:
    from ..store import Store
    from .runner import replay_game

    folder = Path(args.folder)
    record = Path(args.record) if args.record else folder / f"match-{args.match}" / "metrics.csv"
    store = Store.reader(args.db) if Path(args.db).is_file() else None
    try:
        report = replay_game(folder, args.match, store, record)
    finally:
        if store is not None:
            store.close()
    print(json.dumps(report, indent=1))
    print(f"wrote {record}")
    return 0 if report["valid"] else 1


@_store_errors
def cmd_evolve(args: argparse.Namespace) -> int:
    from ..store import Store
    from .evolution import evolve
    from .spec import load_spec

    spec = load_spec(args.spec)
    options = _options(args)
    check_spec(spec, args.db, args.spec)
    with Store(args.db) as store:
        log = evolve(spec, Path(args.out), store, args.generations, options, keep=args.keep,
                     resume=args.resume, source=args.spec)
    if not args.quiet:
        for g in log:
            print(f"generation {g['generation']}: leader {g['leader']} "
                  f"(score {g['leader_score']:.6g}); field {', '.join(g['players'])}")
    return 0


def _params(pairs: list[str]) -> dict[str, Any]:
    import yaml

    from .errors import TournamentError

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise TournamentError(f"--param {pair!r}: expected NAME=VALUE, e.g. lookback=20")
        key, value = pair.split("=", 1)
        out[key] = yaml.safe_load(value)
    return out


def _show(entry: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={v}" for k, v in entry["parameters"].items())
    return f"{entry['id']:<32} {params}" + (f"  # {entry['description']}" if entry["description"] else "")


@_store_errors
def cmd_strategy(args: argparse.Namespace) -> int:
    from ..store import Store
    from .errors import TournamentError
    from .registry import Registry, split_ref

    action = args.action
    if action in ("list", "show") and not Path(args.db).is_file():
        raise TournamentError(f"--db {args.db}: no registry there yet (register a strategy first)")
    with Store(args.db) as store:
        registry = Registry(store)
        if action == "register":
            name, version = split_ref(args.ref)
            if version is None:
                raise TournamentError(f"{args.ref}: expected NAME@VERSION, e.g. fast_momentum@1.0.0")
            params = {"game": args.game, "base": args.base, **_params(args.param)}
            entry = registry.register(name, version, params, args.description)
        elif action == "evolve":
            entry = registry.evolve(args.ref, _params(args.param), args.description, args.bump)
        elif action == "cross":
            entry = registry.cross(args.ref, args.other, args.seed, args.name)
        elif action == "list":
            rows = registry.list() if not args.ref else [registry.get(f"{args.ref}@{v}")
                                                         for v in registry.versions(args.ref)]
            if args.json:
                print(json.dumps(rows, indent=1, default=str))
            for row in [] if args.json else rows:
                print(_show(row))
            return 0
        else:  # show
            entry = registry.get(args.ref)
            lineage = registry.lineage(entry["id"])
            if args.json:
                print(json.dumps({**entry, "lineage": lineage}, indent=1, default=str))
                return 0
            print(_show(entry))
            for link in lineage:
                change = f" {link['change']}" if link["change"] else ""
                print(f"  {link['child_id']} <- {link['parent_id']} ({link['relation']}){change}")
            return 0
        print(_show(entry))
    return 0


def _batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=("serial", "processes", "dask"), default="serial")
    p.add_argument("--workers", type=int, help="worker processes (default: one per CPU)")
    p.add_argument("--scheduler", help="dask scheduler address (default: a local cluster)")
    p.add_argument("--db", default=DEFAULT_DB, help=f"strategy registry and results (default {DEFAULT_DB})")
    p.add_argument("--resume", action="store_true", help="continue a stopped run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no standings printed")


def register_cli(sub: Any, commands: dict[str, Any]) -> None:
    p = sub.add_parser(
        "tournament",
        help="play a tournament spec (IPD or trading; round robin, elimination, swiss)",
        description="Play SPEC.yaml through the batch layer; write matches.csv, standings.csv, "
        "standings.md, summary.json and plots to --out. Identical results on any backend and "
        "worker count; a stopped run continues with --resume.",
    )
    p.add_argument("spec", help="tournament spec YAML, e.g. scenarios/tournament_ipd.yaml")
    p.add_argument("--out", default="results/tournament", help="output folder")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    _batch_args(p)
    p.set_defaults(handler=cmd_tournament)
    commands["tournament"] = cmd_tournament

    r = sub.add_parser(
        "tournament-replay",
        help="replay one IPD game of a tournament folder, event by event, with its hash chain",
        description="Play game MATCH of a tournament in FOLDER again from its seed, write every "
        "event to a metrics CSV with a hash chain, and check its scores against matches.csv "
        "(exit 1 if they differ).",
    )
    r.add_argument("folder", help="a tournament --out folder")
    r.add_argument("--match", type=int, required=True, help="the match index in matches.csv")
    r.add_argument("--record", help="metrics CSV to write (default FOLDER/match-N/metrics.csv)")
    r.add_argument("--db", default=DEFAULT_DB, help="registry for name@version players")
    r.set_defaults(handler=cmd_replay_game)
    commands["tournament-replay"] = cmd_replay_game

    e = sub.add_parser(
        "evolve",
        help="generational tournament: top strategies evolved or crossed, bottom replaced",
        description="Play SPEC for --generations generations; after each, the top --keep players "
        "stay, and the bottom are replaced by mutants of the top and crosses of the top two, "
        "registered in --db. Each generation is checkpointed in --out/gen-NNN.",
    )
    e.add_argument("spec")
    e.add_argument("--out", default="results/evolution")
    e.add_argument("--generations", type=int, default=3)
    e.add_argument("--keep", type=int, default=None, help="players kept each generation (default half)")
    _batch_args(e)
    e.set_defaults(handler=cmd_evolve)
    commands["evolve"] = cmd_evolve

    s = sub.add_parser(
        "strategy",
        help="the semver strategy registry: register, list, show, evolve, cross",
        description="Versioned strategies in --db: NAME@VERSION with parameters {game, base, ...}.",
    )
    actions = s.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = actions.add_parser("register", help="register NAME@VERSION")
    reg.add_argument("ref", metavar="NAME@VERSION")
    reg.add_argument("--game", choices=("ipd", "trading"), required=True)
    reg.add_argument("--base", required=True, help="built-in strategy it parameterises, e.g. momentum")
    reg.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    reg.add_argument("--description")
    lst = actions.add_parser("list", help="every strategy, or every version of NAME")
    lst.add_argument("ref", nargs="?", metavar="NAME")
    lst.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one entry (NAME for the latest) and its lineage")
    show.add_argument("ref", metavar="NAME[@VERSION]")
    show.add_argument("--json", action="store_true")
    evo = actions.add_parser("evolve", help="a new version with parameter changes merged")
    evo.add_argument("ref", metavar="NAME[@VERSION]")
    evo.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    evo.add_argument("--bump", choices=("major", "minor", "patch"), help="default: by the kind of change")
    evo.add_argument("--description")
    cross = actions.add_parser("cross", help="a child a_x_b@1.0.0 of two strategies")
    cross.add_argument("ref", metavar="A")
    cross.add_argument("other", metavar="B")
    cross.add_argument("--seed", type=int, default=0)
    cross.add_argument("--name", help="child name (default A_x_B)")
    for a in (reg, lst, show, evo, cross):
        a.add_argument("--db", default=DEFAULT_DB, help=f"registry database (default {DEFAULT_DB})")
    s.set_defaults(handler=cmd_strategy)
    commands["strategy"] = cmd_strategy
