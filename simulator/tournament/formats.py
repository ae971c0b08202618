"""Tournament formats: round robin, single elimination and swiss.

A format plans one round at a time from the results of the rounds before it
(`pairings(round, rows)`), so a stopped tournament is replanned exactly on resume. A pairing
plays `repetitions` games; its result is decided by games won, then total score.

- **round robin**: one round holding every pair (and each player against itself with
  `self_play`), `repetitions` times, repetition-major.
- **single elimination**: a standard bracket of the next power of two, seeded in the order
  given (seed 1 first), so seeds 1 and 2 can meet only in the final; the top seeds get the
  byes. A drawn pairing goes to the better (lower-numbered) seed.
- **swiss**: ceil(log2 N) rounds by default. Players are ranked by points (win 1, draw 0.5,
  bye 1), then seed. With an odd field the lowest-ranked player without a bye gets one (a
  bye is worth a win). Then, down the ranking, each unpaired player meets the best-ranked
  player it has not met, backtracking when stuck; if that search runs long, a maximum-weight
  perfect matching (networkx, nodes in rank order) over the pairs that have not met decides,
  weighted to pair equal scores. Both are deterministic. No player meets another twice or
  gets two byes.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import TournamentError

BYE = "(bye)"


@dataclass(frozen=True)
class Pairing:
    """A game to play: `b is None` is a bye for `a` (recorded, never played)."""

    round: int
    table: int
    repetition: int
    a: str
    b: str | None


def winner_of(score_a: float, score_b: float, a: str, b: str) -> str:
    """The higher score wins; equal scores are a draw ("draw")."""
    return a if score_a > score_b else b if score_b > score_a else "draw"


def table_results(rows: Sequence[dict[str, Any]]) -> dict[tuple[int, int], dict[str, Any]]:
    """Per (round, table): players, games won by each, total scores, whether a bye."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        key = (r["round"], r["table"])
        t = out.setdefault(
            key,
            {"a": r["player_a"], "b": r["player_b"], "wins_a": 0, "wins_b": 0, "score_a": 0.0,
             "score_b": 0.0, "bye": r["player_b"] == BYE},
        )
        if t["bye"]:
            continue
        t["score_a"] += r["score_a"]
        t["score_b"] += r["score_b"]
        t["wins_a"] += r["winner"] == r["player_a"]
        t["wins_b"] += r["winner"] == r["player_b"]
    return out


def pairing_outcome(t: dict[str, Any]) -> float:
    """a's result over a table: 1 (won), 0.5 (drawn), 0 (lost); by games won, then score."""
    if t["bye"]:
        return 1.0
    key_a, key_b = (t["wins_a"], t["score_a"]), (t["wins_b"], t["score_b"])
    return 1.0 if key_a > key_b else 0.0 if key_b > key_a else 0.5


class Format(ABC):
    """Plans rounds of pairings from the results so far."""

    type: str = ""

    def __init__(self, players: Sequence[str], repetitions: int = 1) -> None:
        self.players = list(players)
        self.repetitions = repetitions
        self.seed_of = {p: i for i, p in enumerate(self.players, 1)}

    @abstractmethod
    def pairings(self, round: int, rows: Sequence[dict[str, Any]]) -> list[Pairing] | None:
        """Round `round`'s pairings given every row of earlier rounds; None when finished."""

    def _games(self, round: int, tables: Sequence[tuple[str, str | None]]) -> list[Pairing]:
        out = []
        for rep in range(self.repetitions):
            for i, (a, b) in enumerate(tables):
                if b is None and rep > 0:
                    continue
                out.append(Pairing(round, i, rep, a, b))
        return out


class RoundRobin(Format):
    type = "round_robin"

    def __init__(self, players: Sequence[str], repetitions: int = 1, self_play: bool = False) -> None:
        super().__init__(players, repetitions)
        pairs = itertools.combinations_with_replacement if self_play else itertools.combinations
        self.tables = list(pairs(self.players, 2))

    def pairings(self, round: int, rows: Sequence[dict[str, Any]]) -> list[Pairing] | None:
        return self._games(1, self.tables) if round == 1 else None


def bracket_order(size: int) -> list[int]:
    """Seed numbers in bracket slot order for a power-of-two `size` (1 and 2 in opposite
    halves): 1, 8, 4, 5, 2, 7, 3, 6 for 8."""
    order = [1]
    while len(order) < size:
        n = 2 * len(order) + 1
        order = [s for seed in order for s in (seed, n - seed)]
    return order


class SingleElimination(Format):
    type = "single_elimination"

    def __init__(self, players: Sequence[str], repetitions: int = 1) -> None:
        super().__init__(players, repetitions)
        self.size = 1 << max(1, math.ceil(math.log2(len(self.players))))
        self.rounds = int(math.log2(self.size))

    def advancing(self, round: int, rows: Sequence[dict[str, Any]]) -> list[str]:
        """The players in slot order who won their tables in `round`."""
        tables = table_results([r for r in rows if r["round"] == round])
        out = []
        for key in sorted(tables):
            t = tables[key]
            result = pairing_outcome(t)
            if result == 0.5:  # a drawn table goes to the better seed
                result = 1.0 if self.seed_of[t["a"]] < self.seed_of[t["b"]] else 0.0
            out.append(t["a"] if result == 1.0 else t["b"])
        return out

    def pairings(self, round: int, rows: Sequence[dict[str, Any]]) -> list[Pairing] | None:
        if round > self.rounds:
            return None
        if round == 1:
            n = len(self.players)
            slots = [self.players[s - 1] if s <= n else None for s in bracket_order(self.size)]
        else:
            slots = self.advancing(round - 1, rows)
        tables: list[tuple[str, str | None]] = []
        for a, b in zip(slots[::2], slots[1::2], strict=True):
            if a is None:  # only the first round has empty slots; a top seed meets them
                a, b = b, a
            tables.append((a, b))  # type: ignore[arg-type]
        return self._games(round, tables)

    def champion(self, rows: Sequence[dict[str, Any]]) -> str:
        (champion,) = self.advancing(self.rounds, rows)
        return champion


def max_swiss_rounds(n: int) -> int:
    """Rounds possible without a rematch (or a second bye): n - 1, or n for an odd field."""
    return n if n % 2 else n - 1


class Swiss(Format):
    type = "swiss"

    def __init__(self, players: Sequence[str], repetitions: int = 1, rounds: int | None = None) -> None:
        super().__init__(players, repetitions)
        n = len(self.players)
        self.rounds = rounds if rounds is not None else max(1, math.ceil(math.log2(n)))
        if self.rounds > max_swiss_rounds(n):
            raise TournamentError(
                f"format.rounds: {self.rounds} rounds need more pairings than {n} players allow "
                f"(at most {max_swiss_rounds(n)} without a rematch)"
            )

    def points(self, rows: Sequence[dict[str, Any]]) -> dict[str, float]:
        pts = dict.fromkeys(self.players, 0.0)
        for t in table_results(rows).values():
            result = pairing_outcome(t)
            pts[t["a"]] += result
            if not t["bye"]:
                pts[t["b"]] += 1.0 - result
        return pts

    def pairings(self, round: int, rows: Sequence[dict[str, Any]]) -> list[Pairing] | None:
        if round > self.rounds:
            return None
        pts = self.points(rows)
        ranked = sorted(self.players, key=lambda p: (-pts[p], self.seed_of[p]))
        met = {frozenset((r["player_a"], r["player_b"])) for r in rows}
        had_bye = {r["player_a"] for r in rows if r["player_b"] == BYE}
        tables = _pair_in_order(ranked, met, had_bye) or _pair_by_matching(ranked, pts, met, had_bye)
        if tables is None:
            raise TournamentError(f"swiss: round {round}: no pairing is left without a rematch")
        return self._games(round, tables)


Tables = list[tuple[str, str | None]]


def _pair_in_order(ranked: list[str], met: set[frozenset[str]], had_bye: set[str],
                   budget: int = 20_000) -> Tables | None:
    """Pair down the ranking: each unpaired player meets the best-ranked player it has not
    met (backtracking when stuck); the bye goes to the lowest-ranked player without one.
    None when `budget` steps find nothing (the matching fallback then decides)."""
    steps = 0

    def pair(rest: list[str]) -> list[tuple[str, str]] | None:
        nonlocal steps
        if not rest:
            return []
        first, others = rest[0], rest[1:]
        for i, partner in enumerate(others):
            steps += 1
            if steps > budget:
                return None
            if frozenset((first, partner)) in met:
                continue
            tail = pair(others[:i] + others[i + 1:])
            if tail is not None:
                return [(first, partner), *tail]
        return None

    if len(ranked) % 2 == 0:
        found = pair(ranked)
        return list(found) if found is not None else None
    for bye in reversed(ranked):
        if bye in had_bye:
            continue
        found = pair([p for p in ranked if p != bye])
        if found is not None:
            return [*found, (bye, None)]
        if steps > budget:
            return None
    return None


def _pair_by_matching(ranked: list[str], pts: dict[str, float], met: set[frozenset[str]],
                      had_bye: set[str]) -> Tables | None:
    """A maximum-weight perfect matching (networkx; nodes in rank order) over the pairs that
    have not met, weighted to pair equal scores and neighbours in the ranking."""
    import networkx as nx

    rank = {p: i for i, p in enumerate(ranked)}
    big = 10 ** 9
    graph = nx.Graph()
    graph.add_nodes_from(ranked)
    for a, b in itertools.combinations(ranked, 2):
        if frozenset((a, b)) not in met:
            gap = round_half(pts[a] - pts[b])
            graph.add_edge(a, b, weight=big - 10_000 * gap * gap - abs(rank[a] - rank[b]))
    if len(ranked) % 2:
        graph.add_node(BYE)
        for p in ranked:
            if p not in had_bye:
                graph.add_edge(p, BYE, weight=big - 10_000 * round_half(pts[p]) ** 2 + rank[p])
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    if 2 * len(matching) != graph.number_of_nodes():
        return None
    tables: Tables = []
    for u, v in matching:
        if BYE in (u, v):
            tables.append((v if u == BYE else u, None))
        else:
            tables.append((u, v) if rank[u] < rank[v] else (v, u))
    tables.sort(key=lambda t: (t[1] is None, rank[t[0]]))
    return tables


def round_half(x: float) -> int:
    """Points come in halves: twice the value, as an exact integer."""
    return int(round(2 * x))


def make_format(spec: Any, players: Sequence[str]) -> Format:
    kind = spec.type
    if kind == "round_robin":
        return RoundRobin(players, spec.repetitions, spec.self_play)
    if kind == "single_elimination":
        return SingleElimination(players, spec.repetitions)
    if kind == "swiss":
        return Swiss(players, spec.repetitions, spec.rounds)
    raise TournamentError(f"format.type: unknown format {kind!r}")
