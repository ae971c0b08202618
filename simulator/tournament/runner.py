"""Run a tournament: plan rounds, fan games out through `simulator.batch`, stream completed
games to a journal (and the store), then write matches.csv, standings.csv, standings.md,
summary.json and the plots.

Seeds are derived up front, per round, from the tournament seed (`tournament/round/<r>`),
and game `i` of a round always gets seed `i`, so results never depend on the backend, the
worker count or the order in which games complete. Every completed game is appended to
`journal.jsonl` as it arrives; a stopped tournament resumed with `resume=True` replans the
same rounds and plays only the games the journal lacks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import derive_seeds
from .errors import TournamentError
from .formats import BYE, SingleElimination, make_format, winner_of
from .games import BatchOptions, Entrant, Game, GameTask, make_game
from .spec import PlayerSpec, TournamentSpec
from .standings import compute_standings

MATCH_COLUMNS = ("match", "round", "table", "repetition", "player_a", "player_b", "score_a",
                 "score_b", "winner", "seed")
JOURNAL = "journal.jsonl"
OUTPUTS = ("matches.csv", "standings.csv", "standings.md", "summary.json")


@dataclass
class TournamentResult:
    spec: TournamentSpec
    rows: list[dict[str, Any]]
    standings: list[dict[str, Any]]
    champion: str | None
    tournament_id: str | None
    out: Path | None


class Stop(Exception):
    """Raised by `stop_after` to simulate an interrupted tournament (tests)."""


def spec_digest(spec: TournamentSpec) -> str:
    text = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def resolve_entrants(
    spec: TournamentSpec, game: Game, registry: Any | None, source: str
) -> dict[str, Entrant]:
    """Each player's label, base and full parameters; one-line errors naming `players[i]`."""
    out: dict[str, Entrant] = {}
    for i, entry in enumerate(spec.players):
        where = f"{source}: players[{i}]"
        if isinstance(entry, PlayerSpec):
            label, base, params, sid = entry.name, entry.strategy, entry.params, None
        elif entry in game.builtins:
            label, base, params, sid = entry, entry, {}, None
        elif registry is not None and ("@" in entry or registry.versions(entry)):
            from .registry import RegistryError

            try:
                found = registry.get(entry)
            except RegistryError as exc:
                raise TournamentError(f"{where}: {exc}") from None
            p = dict(found["parameters"])
            if p.pop("game") != game.type:
                raise TournamentError(f"{where}: {found['id']} is a strategy for another game")
            label, base, params, sid = entry, p.pop("base"), p, found["id"]
        else:
            hint = " or name@version from the registry" if registry is not None else \
                " (name@version needs a registry: --db)"
            raise TournamentError(
                f"{where}: unknown strategy {entry!r} (allowed: {', '.join(game.builtins)}{hint})"
            )
        if base not in game.builtins:
            raise TournamentError(
                f"{where}: unknown strategy {base!r} (allowed: {', '.join(game.builtins)})"
            )
        try:
            full = game.check(base, params)
        except ValueError as exc:
            raise TournamentError(f"{where}: {exc}") from None
        if label in out:
            raise TournamentError(f"{where}: {label!r} appears twice (give it another name)")
        out[label] = Entrant(label, base, full, sid)
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "%.10g" % value  # noqa: UP031 - deterministic float text
    return "" if value is None else str(value)


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_fmt(r.get(c)) for c in columns])
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text)
    os.replace(tmp, path)


class Journal:
    """Completed games (and trading runs), one JSON line each, flushed as they arrive."""

    def __init__(self, path: Path, digest: str, resume: bool) -> None:
        self.path = path
        self.games: dict[int, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, float]] = {}
        self.tournament_id: str | None = None
        if resume and path.is_file():
            self._load(digest)
            self.handle = open(path, "a")  # noqa: SIM115 - closed in close()
        else:
            self.handle = open(path, "w")  # noqa: SIM115
            self.add({"kind": "spec", "digest": digest})

    def _load(self, digest: str) -> None:
        lines = self.path.read_text().splitlines()
        for n, line in enumerate(lines):
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                if n == len(lines) - 1:  # a line cut by the stop: drop it
                    break
                raise TournamentError(f"{self.path}:{n + 1}: not a journal line") from None
            kind = item.get("kind")
            if kind == "spec" and item["digest"] != digest:
                raise TournamentError(
                    f"{self.path}: written by another spec; resume needs the same spec"
                )
            if kind == "game":
                self.games[item["row"]["match"]] = item["row"]
            elif kind == "run":
                self.runs[item["label"]] = item["outcomes"]
            elif kind == "store":
                self.tournament_id = item["tournament_id"]
        with open(self.path, "w") as handle:  # rewrite without a cut last line
            handle.write("".join(line + "\n" for line in lines if _is_json(line)))

    def add(self, item: dict[str, Any]) -> None:
        self.handle.write(json.dumps(item, sort_keys=True) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def prepare_out(out: Path, resume: bool) -> None:
    """Refuse to overwrite a folder that holds a tournament unless resuming it."""
    if out.exists() and not out.is_dir():
        raise TournamentError(f"--out {out}: exists and is not a folder")
    held = [name for name in (JOURNAL, *OUTPUTS) if (out / name).exists()]
    if held and not resume:
        raise TournamentError(
            f"--out {out}: already holds a tournament ({held[0]}); pass --resume to continue it "
            "or choose another folder"
        )


def run_tournament(
    spec: TournamentSpec,
    out: str | Path | None = None,
    options: BatchOptions | None = None,
    *,
    resume: bool = False,
    store: Any | None = None,
    plots: bool = True,
    stop_after: int | None = None,
    source: str = "<spec>",
) -> TournamentResult:
    """Play `spec`; with `out`, journal games there and write the outputs. `store` (a
    `simulator.store.Store`) resolves name@version players and receives the results."""
    from .registry import Registry

    options = options or BatchOptions()
    registry = Registry(store) if store is not None else None
    game = make_game(spec.game, spec.seed, source)
    entrants = resolve_entrants(spec, game, registry, source)
    labels = list(entrants)
    folder = Path(out) if out is not None else None
    digest = spec_digest(spec)
    if folder is not None:
        prepare_out(folder, resume)
        folder.mkdir(parents=True, exist_ok=True)
    journal = Journal(folder / JOURNAL, digest, resume) if folder is not None else None
    tournament_id = journal.tournament_id if journal else None
    try:
        if store is not None:
            tournament_id = _open_in_store(store, registry, spec, entrants, game, tournament_id, journal)
        fmt = make_format(spec.format, seeded(spec, labels, entrants, store, tournament_id))
        cache: dict[str, Any] = {"runs": dict(journal.runs) if journal else {}}
        if journal is not None:
            cache["on_run"] = lambda label, outcomes: journal.add(
                {"kind": "run", "label": label, "outcomes": outcomes}
            )
        done = journal.games if journal else {}
        rows = _play_rounds(spec, game, fmt, entrants, options, cache, done, journal, store,
                            tournament_id, stop_after)
    finally:
        if journal is not None:
            journal.close()
    champion = fmt.champion(rows) if isinstance(fmt, SingleElimination) else None
    extra = {p: game.standing_columns(p, [r for r in rows if p in (r["player_a"], r["player_b"])
                                          and r["player_b"] != BYE], cache)
             for p in labels}
    table = compute_standings(labels, rows, fmt.type, extra, champion)
    if store is not None:
        _save_standings(store, tournament_id, table, entrants, game)
    result = TournamentResult(spec, rows, table, champion, tournament_id, folder)
    if folder is not None:
        write_outputs(result, game, digest)
        if plots:
            from .plots import write_plots

            write_plots(folder, labels, rows, table)
    return result


def _play_rounds(spec, game, fmt, entrants, options, cache, done, journal, store, tournament_id,
                 stop_after) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    first_index = 0
    played = 0
    round_no = 1
    while (plan := fmt.pairings(round_no, rows)) is not None:
        seeds = derive_seeds(spec.seed, len(plan), f"tournament/round/{round_no}")
        by_index: dict[int, dict[str, Any]] = {}
        todo: list[GameTask] = []
        for i, (p, seed) in enumerate(zip(plan, seeds, strict=True)):
            index = first_index + i
            base = {"match": index, "round": p.round, "table": p.table, "repetition": p.repetition,
                    "player_a": p.a, "player_b": p.b if p.b is not None else BYE}
            if p.b is None:
                by_index[index] = {**base, "score_a": None, "score_b": None, "winner": p.a, "seed": None}
            elif index in done:
                kept = done[index]
                if (kept["player_a"], kept["player_b"], kept["seed"]) != (p.a, p.b, seed):
                    raise TournamentError(f"{JOURNAL}: game {index} does not match the plan; "
                                          "start again in a new folder")
                by_index[index] = kept
            else:
                todo.append(GameTask(index, p, seed))
        tasks = {t.index: t for t in todo}

        def on_result(index: int, outcomes: dict[str, float], tasks=tasks, by_index=by_index) -> None:
            nonlocal played
            task = tasks[index]
            p = task.pairing
            row = {"match": index, "round": p.round, "table": p.table, "repetition": p.repetition,
                   "player_a": p.a, "player_b": p.b, "score_a": outcomes["score_a"],
                   "score_b": outcomes["score_b"], "winner": winner_of(outcomes["score_a"],
                   outcomes["score_b"], p.a, p.b), "seed": task.seed}
            row.update({c: outcomes[c] for c in game.match_columns})
            by_index[index] = row
            if journal is not None:
                journal.add({"kind": "game", "row": row})
            if store is not None:
                store.log_event(tournament_id, "game", "tournament", row)
            played += 1
            if stop_after is not None and played >= stop_after:
                raise Stop(f"stopped after {played} games")

        if todo:
            game.play(todo, entrants, options, on_result, cache)
        rows.extend(by_index[i] for i in sorted(by_index))
        first_index += len(plan)
        round_no += 1
    return rows


def seeded(spec: TournamentSpec, labels: list[str], entrants: dict[str, Entrant], store: Any | None,
           tournament_id: str | None) -> list[str]:
    """Players in seed order: as given, or (elimination with `seeding: rating`) by their latest
    Elo in the store's earlier tournaments (1500 without one), ties kept in the given order."""
    if getattr(spec.format, "seeding", "order") != "rating" or store is None:
        return labels
    ids = [entrants[p].strategy_id for p in labels]
    ratings = store.latest_ratings([i for i in ids if i], before=tournament_id)
    elo = {p: ratings.get(entrants[p].strategy_id or "", 1500.0) for p in labels}
    return sorted(labels, key=lambda p: -elo[p])


def _open_in_store(store, registry, spec, entrants, game, tournament_id, journal) -> str:
    for label, e in entrants.items():
        if e.strategy_id is None:
            defaults = game.check(e.base, {})
            if e.params == defaults and label == e.base:
                sid = registry.ensure_builtin(game.type, e.base, e.params)
            else:
                sid = store.register_strategy(label, "0.0.0", e.registry_parameters(game.type),
                                              f"from tournament {spec.name}")
            entrants[label] = Entrant(label, e.base, e.params, sid)
    if tournament_id is None:
        tournament_id = store.create_tournament(spec.name, spec.model_dump(mode="json"))
        if journal is not None:
            journal.add({"kind": "store", "tournament_id": tournament_id})
    store.update_tournament_status(tournament_id, "running")
    return tournament_id


def _save_standings(store, tournament_id, table, entrants, game) -> None:
    rows = []
    for s in table:
        rows.append({
            **s,
            "strategy_id": entrants[s["player"]].strategy_id,
            "roi": s.get("roi", 0.0),
            "sharpe": s.get("sharpe", 0.0),
            "composite": s.get("composite", s["score"]),
        })
    store.save_standings(tournament_id, rows)
    store.update_tournament_status(tournament_id, "completed")


def standings_columns(table: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for s in table for k in s))


def write_outputs(result: TournamentResult, game: Game, digest: str) -> None:
    folder = result.out
    assert folder is not None
    match_cols = [*MATCH_COLUMNS, *game.match_columns]
    _write(folder / "matches.csv", csv_text(result.rows, match_cols))
    cols = standings_columns(result.standings)
    _write(folder / "standings.csv", csv_text(result.standings, cols))
    _write(folder / "standings.md", standings_markdown(result, cols))
    summary = {
        "name": result.spec.name,
        "seed": result.spec.seed,
        "spec": result.spec.model_dump(mode="json"),
        "spec_digest": digest,
        "games": sum(r["player_b"] != BYE for r in result.rows),
        "byes": sum(r["player_b"] == BYE for r in result.rows),
        "leader": result.standings[0]["player"],
        "champion": result.champion,
        "tournament_id": result.tournament_id,
    }
    _write(folder / "summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")


def standings_markdown(result: TournamentResult, cols: Sequence[str]) -> str:
    spec = result.spec
    lines = [
        f"# {spec.name}: standings",
        "",
        f"{spec.game.type} game, {spec.format.type.replace('_', ' ')}, seed {spec.seed}, "
        f"{sum(r['player_b'] != BYE for r in result.rows)} games.",
        "",
    ]
    if result.champion:
        lines += [f"Champion: **{result.champion}**.", ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for s in result.standings:
        cells = [f"{v:.6g}" if isinstance(v, float) else str(v) for v in (s.get(c) for c in cols)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Rank: the format's primary key (round robin: total score; swiss: points; "
              "single elimination: round reached), then wins, score, Elo, name.", ""]
    return "\n".join(lines)


def replay_game(folder: Path, match: int, store: Any | None, record: Path) -> dict[str, Any]:
    """Play game `match` of the IPD tournament in `folder` again, recording every event to
    `record` (metrics CSV + hash chain), and compare its scores with matches.csv."""
    from ..engine import chain_of_file
    from .games import IpdGame
    from .ipd import IpdRules, Player, play_match
    from .registry import Registry
    from .spec import parse_spec

    summary_path, matches_path = folder / "summary.json", folder / "matches.csv"
    for path in (summary_path, matches_path):
        if not path.is_file():
            raise TournamentError(f"{folder}: missing {path.name}; is this a tournament folder?")
    spec = parse_spec(json.loads(summary_path.read_text())["spec"], str(summary_path))
    game = make_game(spec.game, spec.seed, str(summary_path))
    if not isinstance(game, IpdGame):
        raise TournamentError(f"{folder}: only IPD games replay event by event "
                              "(trading runs replay with `simulator replay`)")
    with matches_path.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["match"] == str(match)]
    if not rows or rows[0]["player_b"] == BYE:
        raise TournamentError(f"{matches_path}: no played game with match = {match}")
    row = rows[0]
    entrants = resolve_entrants(spec, game, Registry(store) if store else None, str(summary_path))
    a, b = (entrants[row[k]] for k in ("player_a", "player_b"))
    result = play_match(Player(a.label, a.base, tuple(sorted(a.params.items()))),
                        Player(b.label, b.base, tuple(sorted(b.params.items()))),
                        IpdRules(**game.rules), int(row["seed"]), record=record)
    head, count = chain_of_file(record)
    recorded = (float(row["score_a"]), float(row["score_b"]))
    return {
        "match": match,
        "players": [a.label, b.label],
        "scores": [result.score_a, result.score_b],
        "matches_csv": list(recorded),
        "valid": recorded == (float(result.score_a), float(result.score_b)) and head == result.chain_head,
        "records": count,
        "chain_head": head,
    }
