"""The iterated prisoner's dilemma, played as a process on the kernel.

A match is a World with two players and a match entity. The match process emits `start`;
each `move` is an event whose reducer appends the move to the player's history and, once
both moves of a turn are in, scores the turn and returns the next turn's two moves as
follow-ups, each carrying the completing move as its cause (a move answers the previous
turn). After the last turn the process emits `end`. With a recording path the match writes a
metrics CSV and a hash chain like any run, so it can be replayed and verified.

Strategies are pure functions of the two histories (strings of "C"/"D") and a named random
stream; their names and behaviour follow the Axelrod library's players of the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import CsvSink, Event, RecordLayout, Sink, World

C, D = "C", "D"
Decide = Callable[[str, str, np.random.Generator, dict[str, Any]], str]


def cooperator(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return C


def defector(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return D


def tit_for_tat(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return opp[-1] if opp else C


def suspicious_tit_for_tat(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return opp[-1] if opp else D


def grudger(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return D if D in opp else C


def alternator(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return D if me and me[-1] == C else C


def tit_for_two_tats(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return D if opp[-2:] == "DD" else C


def two_tits_for_tat(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    return D if D in opp[-2:] else C


def win_stay_lose_shift(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    """Pavlov: cooperate first, then cooperate exactly when both made the same move."""
    if not me:
        return C
    return C if me[-1] == opp[-1] else D


def go_by_majority(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    """Cooperate while the opponent has cooperated at least as often as it defected."""
    defections = opp.count(D)
    return C if len(opp) - defections >= defections else D


def random_player(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    """Cooperate with probability `p` (default 0.5), drawn from the player's own stream."""
    return C if rng.random() < p.get("p", 0.5) else D


def memory_one(me: str, opp: str, rng: np.random.Generator, p: dict[str, Any]) -> str:
    """Cooperate with a probability set by the last turn (p_cc, p_cd, p_dc, p_dd); the first
    move cooperates with probability `first`. The evolvable family (TFT is 1,0,1,0)."""
    if not me:
        prob = p.get("first", 1.0)
    else:
        prob = p[f"p_{me[-1].lower()}{opp[-1].lower()}"]
    if prob >= 1.0:
        return C
    if prob <= 0.0:
        return D
    return C if rng.random() < prob else D


STRATEGIES: dict[str, Decide] = {
    "cooperator": cooperator,
    "defector": defector,
    "tit_for_tat": tit_for_tat,
    "grudger": grudger,
    "alternator": alternator,
    "tit_for_two_tats": tit_for_two_tats,
    "two_tits_for_tat": two_tits_for_tat,
    "suspicious_tit_for_tat": suspicious_tit_for_tat,
    "win_stay_lose_shift": win_stay_lose_shift,
    "go_by_majority": go_by_majority,
    "random": random_player,
    "memory_one": memory_one,
}

DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "random": {"p": 0.5},
    "memory_one": {"first": 1.0, "p_cc": 1.0, "p_cd": 0.0, "p_dc": 1.0, "p_dd": 0.0},
}


def check_params(base: str, params: dict[str, Any]) -> dict[str, float]:
    """The full parameters of IPD strategy `base` (defaults filled in); ValueError when a key
    is unknown or a probability is outside [0, 1]."""
    if base not in STRATEGIES:
        raise ValueError(f"unknown IPD strategy {base!r} (allowed: {', '.join(STRATEGIES)})")
    allowed = DEFAULT_PARAMS.get(base, {})
    out = dict(allowed)
    for key, value in params.items():
        if key not in allowed:
            raise ValueError(
                f"{base}: unknown parameter {key!r} (allowed: {', '.join(allowed) or 'none'})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{base}.{key}: must be a probability in [0, 1], got {value!r}")
        out[key] = float(value)
    return out


@dataclass(frozen=True)
class Player:
    """A player: a strategy function by name, with its parameters."""

    label: str
    base: str
    params: tuple[tuple[str, float], ...] = ()

    @property
    def decide(self) -> Decide:
        return STRATEGIES[self.base]


@dataclass(frozen=True)
class IpdRules:
    """Payoffs (R, S, T, P), turns, noise and an optional seeded match length."""

    turns: int = 200
    noise: float = 0.0
    payoffs: tuple[int | float, int | float, int | float, int | float] = (3, 0, 5, 1)
    prob_end: float | None = None

    def table(self) -> dict[str, tuple[float, float]]:
        r, s, t, p = self.payoffs
        return {"CC": (r, r), "CD": (s, t), "DC": (t, s), "DD": (p, p)}


LAYOUT = RecordLayout(kinds=("player",), fields=("strategy", "move", "score"), id_column="player_id")
PLAYER_IDS = ("p1", "p2")


@dataclass(frozen=True)
class MatchResult:
    """What a match produced: scores, turns played, cooperation counts, chain head."""

    score_a: float
    score_b: float
    turns: int
    cooperations_a: int
    cooperations_b: int
    history_a: str
    history_b: str
    chain_head: str | None = None

    def outcomes(self) -> dict[str, float]:
        return {
            "score_a": float(self.score_a),
            "score_b": float(self.score_b),
            "turns": float(self.turns),
            "cooperations_a": float(self.cooperations_a),
            "cooperations_b": float(self.cooperations_b),
        }


def match_length(rules: IpdRules, rng: np.random.Generator) -> int:
    """`turns`, or with `prob_end` a geometric draw (at least 1, at most `turns`)."""
    if rules.prob_end is None:
        return rules.turns
    return int(min(rules.turns, rng.geometric(rules.prob_end)))


def build_match(
    a: Player, b: Player, rules: IpdRules, seed: int, sinks: Iterable[Sink] = ()
) -> World:
    """A World holding one match, ready to run."""
    sinks = list(sinks)
    world = World(seed=seed, layout=LAYOUT if sinks else None, sinks=sinks)
    players = {PLAYER_IDS[0]: a, PLAYER_IDS[1]: b}
    for pid, player in players.items():
        world.register(pid, "player", {"strategy": player.label, "move": "", "score": 0, "history": ""})
    length = match_length(rules, world.rng("match/length"))
    world.register("match", "match", {"turn": 0, "turns": length, "pending": ""})
    table = rules.table()
    noise = rules.noise
    noise_rng = world.rng("match/noise")
    rngs = {pid: world.rng(f"player/{pid}") for pid in players}
    params = {pid: dict(p.params) for pid, p in players.items()}
    decide = {pid: p.decide for pid, p in players.items()}
    states = world.entities
    p1, p2 = PLAYER_IDS

    def moves(turn: int, delay: float) -> list[Event]:
        h1, h2 = states[p1]["history"], states[p2]["history"]
        out = []
        for pid, me, opp in ((p1, h1, h2), (p2, h2, h1)):
            move = decide[pid](me, opp, rngs[pid], params[pid])
            if noise and noise_rng.random() < noise:
                move = D if move == C else C
            out.append(Event("move", pid, "match", {"turn": turn, "move": move}, delay))
        return out

    def on_start(w: World, ev: Event) -> list[Event]:
        return moves(1, 0.0)

    def on_move(w: World, ev: Event) -> list[Event] | None:
        player = w.entity(ev.source)
        move = ev.payload["move"]
        player["move"] = move
        player["history"] += move
        match = states["match"]
        if not match["pending"]:
            match["pending"] = move
            return None
        first, match["pending"] = match["pending"], ""
        pay1, pay2 = table[first + move]
        w.entity(p1)["score"] += pay1
        w.entity(p2)["score"] += pay2
        match["turn"] = turn = ev.payload["turn"]
        return moves(turn + 1, 1.0) if turn < match["turns"] else None

    def on_end(w: World, ev: Event) -> None:
        w.entity("match")["finished"] = 1
        w.entity(p1)
        w.entity(p2)

    world.on("start", on_start)
    world.on("move", on_move)
    world.on("end", on_end)

    def process(ctx: Any) -> Any:
        ctx.emit("start", "match")
        yield ctx.wait(length)
        ctx.emit("end", "match")

    world.spawn("match", process)
    return world


def play_match(
    a: Player, b: Player, rules: IpdRules, seed: int, record: str | Path | None = None
) -> MatchResult:
    """Play one match; with `record`, write its metrics CSV there (and return its chain head)."""
    sinks = [CsvSink(record)] if record is not None else []
    world = build_match(a, b, rules, seed, sinks)
    world.run()
    s1, s2 = world.entities[PLAYER_IDS[0]], world.entities[PLAYER_IDS[1]]
    return MatchResult(
        score_a=s1["score"],
        score_b=s2["score"],
        turns=world.entities["match"]["turn"],
        cooperations_a=s1["history"].count(C),
        cooperations_b=s2["history"].count(C),
        history_a=s1["history"],
        history_b=s2["history"],
        chain_head=world.chain_head,
    )
