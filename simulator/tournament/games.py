"""Games behind one small interface: `check` a strategy's parameters and `play` a list of games
through `simulator.batch`, reporting each game's outcomes as it completes.

To add a game, subclass `Game`: give it a `type`, its built-in strategies, the columns it adds
to matches.csv and standings.csv, and `play`. `make_game(spec)` builds the game of a spec.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..batch import Task, run_batch
from .formats import Pairing
from .ipd import STRATEGIES, IpdRules, Player, check_params, play_match
from .scoring import composite_score

OnResult = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class Entrant:
    """A tournament player: a label, the game's base strategy and its parameters."""

    label: str
    base: str
    params: dict[str, Any] = field(default_factory=dict)
    strategy_id: str | None = None

    def registry_parameters(self, game: str) -> dict[str, Any]:
        return {"game": game, "base": self.base, **self.params}


@dataclass(frozen=True)
class GameTask:
    """One game to play: its index in the tournament, its pairing and its seed."""

    index: int
    pairing: Pairing
    seed: int


@dataclass
class BatchOptions:
    backend: str = "serial"
    workers: int | None = None
    progress: bool = False
    scheduler: str | None = None

    def kwargs(self) -> dict[str, Any]:
        extra = {"scheduler": self.scheduler} if self.scheduler else {}
        return dict(backend=self.backend, workers=self.workers, progress=self.progress, **extra)


class GameFailed(RuntimeError):
    """A game raised; the games completed before it are kept."""


class Game(ABC):
    type: str = ""
    builtins: tuple[str, ...] = ()
    match_columns: tuple[str, ...] = ()
    """Extra outcome columns of matches.csv."""

    @abstractmethod
    def check(self, base: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The full parameters of strategy `base`; ValueError naming what is wrong."""

    @abstractmethod
    def play(
        self,
        games: Sequence[GameTask],
        entrants: Mapping[str, Entrant],
        options: BatchOptions,
        on_result: OnResult,
        cache: dict[str, Any],
    ) -> None:
        """Play `games`, calling `on_result(index, outcomes)` (score_a, score_b, ...) for each."""

    def standing_columns(
        self, label: str, rows: Sequence[dict[str, Any]], cache: dict[str, Any]
    ) -> dict[str, Any]:
        """The game's own standings columns for `label`, from its rows."""
        return {}


def _raise_failed(results: Sequence[dict[str, Any]]) -> None:
    failed = [r for r in results if r["status"] != "ok"]
    if failed:
        first = failed[0]
        raise GameFailed(f"{len(failed)} game(s) failed; first (#{first['index']}): {first['error']}\n"
                         f"{first['traceback']}")


def check_ipd(base: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Full parameters of IPD strategy `base`; ValueError naming what is wrong."""
    return check_params(base, dict(params))


def check_trading(base: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Full parameters of finance strategy `base`; ValueError naming what is wrong."""
    from ..finance import FinanceError, make_strategy

    try:
        return make_strategy(base, dict(params)).parameters()
    except FinanceError as exc:
        raise ValueError(str(exc)) from None


CHECKS = {"ipd": check_ipd, "trading": check_trading}
"""Parameter checks by game type (the registry validates entries with them)."""


def ipd_match(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Batch run function: one IPD match from plain parameters."""
    rules = IpdRules(**params["rules"])
    a = Player(params["a"][0], params["a"][1], tuple(sorted(params["a"][2].items())))
    b = Player(params["b"][0], params["b"][1], tuple(sorted(params["b"][2].items())))
    return play_match(a, b, rules, seed).outcomes()


def ipd_games(params: dict[str, Any], seed: int) -> dict[str, float]:
    """Batch run function: several IPD matches, each with its own seed; outcomes `i.<name>`."""
    out: dict[str, float] = {}
    for i, game in enumerate(params["games"]):
        one = ipd_match({"rules": params["rules"], "a": game["a"], "b": game["b"]}, game["seed"])
        out.update({f"{i}.{k}": v for k, v in one.items()})
    return out


def chunk_size(n_games: int, options: BatchOptions) -> int:
    """Games per batch task: 1 in serial; else about 8 tasks per worker, at most 64 games."""
    if options.backend == "serial":
        return 1
    workers = options.workers or os.cpu_count() or 1
    return max(1, min(64, math.ceil(n_games / (8 * workers))))


class IpdGame(Game):
    type = "ipd"
    builtins = tuple(STRATEGIES)
    match_columns = ("turns", "cooperations_a", "cooperations_b")

    def __init__(self, spec: Any) -> None:
        self.rules = {
            "turns": spec.turns,
            "noise": spec.noise,
            "payoffs": tuple(spec.payoffs),
            "prob_end": spec.prob_end,
        }

    def check(self, base: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_ipd(base, params)

    def play(self, games, entrants, options, on_result, cache) -> None:
        """Games go to the batch layer in chunks (one task plays several matches), so a worker
        is not idle while the pool hands it the next 2-ms match."""

        def player(label: str) -> list[Any]:
            e = entrants[label]
            return [label, e.base, dict(e.params)]

        size = chunk_size(len(games), options)
        chunks = [games[i:i + size] for i in range(0, len(games), size)]
        tasks = [
            Task(index=k, seed=chunk[0].seed, params={"rules": self.rules, "games": [
                {"a": player(g.pairing.a), "b": player(g.pairing.b), "seed": g.seed} for g in chunk
            ]})
            for k, chunk in enumerate(chunks)
        ]

        def done(result: dict[str, Any]) -> None:
            if result["status"] != "ok":
                return
            out = result["outcomes"]
            for i, g in enumerate(chunks[result["index"]]):
                prefix = f"{i}."
                on_result(g.index, {k[len(prefix):]: v for k, v in out.items() if k.startswith(prefix)})

        results = run_batch(ipd_games, tasks, on_result=done, **options.kwargs())
        _raise_failed(results)

    def standing_columns(self, label, rows, cache) -> dict[str, Any]:
        turns = coops = 0.0
        for r in rows:
            side = "a" if r["player_a"] == label else "b"
            turns += r["turns"]
            coops += r[f"cooperations_{side}"]
        return {"cooperation": coops / turns if turns else 0.0}


class TradingGame(Game):
    type = "trading"
    match_columns = ()

    def __init__(self, spec: Any, seed: int, source: str = "<spec>") -> None:
        from ..engine import derive_seeds
        from ..finance import STRATEGIES as FINANCE
        from ..finance import FinanceError, parse_config
        from .errors import TournamentError
        from .trading import finance_params

        try:  # the window, capital, services and executor settings, checked before any run
            parse_config(finance_params(spec, "buy_and_hold", {}, "check"))
        except FinanceError as exc:
            raise TournamentError(f"{source}: game: {exc}") from None
        self.spec = spec
        self.builtins = tuple(FINANCE)
        self.window_seed = derive_seeds(seed, 1, "trading/window")[0] >> 1  # finance seeds < 2**63

    def check(self, base: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_trading(base, params)

    def runs(self, entrants: Mapping[str, Entrant], options: BatchOptions, cache: dict[str, Any]) -> None:
        """Run every entrant not yet in `cache["runs"]` once, through the batch layer."""
        from .trading import finance_outcomes, finance_params

        runs = cache.setdefault("runs", {})
        todo = [label for label in entrants if label not in runs]
        if not todo:
            return
        tasks = [
            Task(index=i, seed=self.window_seed,
                 params=finance_params(self.spec, entrants[label].base, entrants[label].params, label))
            for i, label in enumerate(todo)
        ]
        on_run = cache.get("on_run")

        def done(result: dict[str, Any]) -> None:
            if result["status"] == "ok":
                label = todo[result["index"]]
                runs[label] = self.score(result["outcomes"])
                if on_run is not None:
                    on_run(label, runs[label])

        results = run_batch(finance_outcomes, tasks, on_result=done, **options.kwargs())
        _raise_failed(results)

    def score(self, outcomes: Mapping[str, float]) -> dict[str, float]:
        w = self.spec.weights
        composite = composite_score(outcomes["roi"], outcomes["sharpe_ratio"], w.roi, w.sharpe)
        return {**outcomes, "composite": composite}

    def play(self, games, entrants, options, on_result, cache) -> None:
        self.runs(entrants, options, cache)
        runs = cache["runs"]
        for g in games:
            on_result(g.index, {"score_a": runs[g.pairing.a]["composite"],
                                "score_b": runs[g.pairing.b]["composite"]})

    def standing_columns(self, label, rows, cache) -> dict[str, Any]:
        run = cache["runs"][label]
        return {
            "roi": run["roi"],
            "sharpe": run["sharpe_ratio"],
            "max_drawdown": run["max_drawdown"],
            "win_rate": run["win_rate"],
            "composite": run["composite"],
        }


def make_game(spec: Any, seed: int, source: str = "<spec>") -> Game:
    if spec.type == "ipd":
        return IpdGame(spec)
    return TradingGame(spec, seed, source)

