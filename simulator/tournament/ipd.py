"""The iterated prisoner's dilemma, played as a process on the kernel.

A match is a World with two players and a match entity. The match process emits `start`;
each turn is one `turn` event holding both players' simultaneous moves (decided on the
histories so far, noise applied); its reducer appends the moves, scores the turn and returns
the next turn as a follow-up, which therefore carries the turn it answers as its cause. Turn
t is applied at time t - 1; after the last turn the process emits `end`. With a recording
path the match writes a metrics CSV and a hash chain like any run, so it can be replayed and
verified.

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
    world.register("match", "match", {"turn": 0, "turns": length})
    table = rules.table()
    noise = rules.noise
    noise_rng = world.rng("match/noise")
    p1, p2 = PLAYER_IDS
    rng1, rng2 = world.rng(f"player/{p1}"), world.rng(f"player/{p2}")
    params1, params2 = dict(a.params), dict(b.params)
    decide1, decide2 = a.decide, b.decide
    states = world.entities

    def turn_event(turn: int, delay: float) -> list[Event]:
        """Both players' moves for `turn`, decided on the histories so far (noise applied)."""
        h1, h2 = states[p1]["history"], states[p2]["history"]
        m1 = decide1(h1, h2, rng1, params1)
        if noise and noise_rng.random() < noise:
            m1 = D if m1 == C else C
        m2 = decide2(h2, h1, rng2, params2)
        if noise and noise_rng.random() < noise:
            m2 = D if m2 == C else C
        return [Event("turn", "match", "match", {"turn": turn, p1: m1, p2: m2}, delay)]

    def on_start(w: World, ev: Event) -> list[Event]:
        return turn_event(1, 0.0)

    def on_turn(w: World, ev: Event) -> list[Event] | None:
        payload = ev.payload
        m1, m2 = payload[p1], payload[p2]
        pay1, pay2 = table[m1 + m2]
        one, two = w.entity(p1), w.entity(p2)
        one["move"] = m1
        one["history"] += m1
        one["score"] += pay1
        two["move"] = m2
        two["history"] += m2
        two["score"] += pay2
        match = states["match"]
        match["turn"] = turn = payload["turn"]
        return turn_event(turn + 1, 1.0) if turn < match["turns"] else None

    def on_end(w: World, ev: Event) -> None:
        w.entity("match")["finished"] = 1
        w.entity(p1)
        w.entity(p2)

    world.on("start", on_start)
    world.on("turn", on_turn)
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
