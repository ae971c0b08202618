"""Standings from match rows: wins, draws, losses, score, points, Elo, openskill, rank.

A game's winner has the higher score; equal scores draw. Byes count in `byes` and in swiss
`points` (win 1, draw 0.5, bye 1), never in wins or ratings. Rank order: the format's
primary key (round robin: total score; swiss: points; single elimination: the round
reached, the champion beyond the last), then wins, total score, Elo, and the player's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .formats import BYE
from .scoring import Game, elo_ratings, openskill_ratings


def rated_games(rows: Sequence[dict[str, Any]]) -> list[Game]:
    """The played games (not byes) in match order, with a's result."""
    out = []
    for r in sorted(rows, key=lambda r: r["match"]):
        if r["player_b"] == BYE:
            continue
        result = 1.0 if r["winner"] == r["player_a"] else 0.0 if r["winner"] == r["player_b"] else 0.5
        out.append(Game(r["player_a"], r["player_b"], result))
    return out


def compute_standings(
    labels: Sequence[str],
    rows: Sequence[dict[str, Any]],
    format_type: str,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    champion: str | None = None,
) -> list[dict[str, Any]]:
    """One dict per player, ranked; `extra[label]` adds the game's own columns."""
    stats = {
        p: {"player": p, "score": 0.0, "wins": 0, "draws": 0, "losses": 0, "byes": 0, "games": 0,
            "reached": 0}
        for p in labels
    }
    for r in rows:
        a, b = r["player_a"], r["player_b"]
        for p in (a, b):
            if p in stats:
                stats[p]["reached"] = max(stats[p]["reached"], r["round"])
        if b == BYE:
            stats[a]["byes"] += 1
            continue
        for p, score in ((a, r["score_a"]), (b, r["score_b"])):
            s = stats[p]
            s["score"] += score
            s["games"] += 1
            if r["winner"] == "draw":
                s["draws"] += 1
            elif r["winner"] == p:
                s["wins"] += 1
            else:
                s["losses"] += 1
    if champion is not None:
        stats[champion]["reached"] += 1
    games = rated_games(rows)
    elo, _ = elo_ratings(labels, games)
    skill = openskill_ratings(labels, games)
    for p, s in stats.items():
        s["points"] = s["wins"] + 0.5 * s["draws"] + s["byes"]
        s["elo"] = elo[p]
        s["openskill_mu"], s["openskill_sigma"] = skill[p]
        s.update((extra or {}).get(p, {}))
    primary = {"round_robin": "score", "swiss": "points", "single_elimination": "reached"}[format_type]
    ranked = sorted(
        stats.values(),
        key=lambda s: (-s[primary], -s["wins"], -s["score"], -s["elo"], s["player"]),
    )
    out = []
    for rank, s in enumerate(ranked, 1):
        head = {"rank": rank, "player": s["player"], "score": s["score"], "wins": s["wins"],
                "draws": s["draws"], "losses": s["losses"], "elo": s["elo"]}
        rest = {k: v for k, v in s.items() if k not in head}
        if format_type != "single_elimination":
            rest.pop("reached")
        out.append({**head, **rest})
    return out


def elo_history(labels: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """Every player's Elo after each played game, in match order."""
    return elo_ratings(labels, rated_games(rows))[1]
