"""Composite scores and ratings: Elo (K = 32, start 1500) and an openskill second opinion.

composite = w_roi x clamp(ROI x 100, +-100) + w_sharpe x clamp(Sharpe x 33.33, +-100), with
weights 0.6 and 0.4 unless a tournament sets its own. Ratings are applied in match order
(the `match` index), so they do not depend on which backend finished a match first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def clamp(x: float, bound: float = 100.0) -> float:
    return max(-bound, min(bound, x))


def composite_score(roi: float, sharpe: float, w_roi: float = 0.6, w_sharpe: float = 0.4) -> float:
    """0.6 x clamp(ROI x 100, +-100) + 0.4 x clamp(Sharpe x 33.33, +-100) by default."""
    return w_roi * clamp(roi * 100.0) + w_sharpe * clamp(sharpe * 33.33)


ELO_K = 32.0
ELO_START = 1500.0


def elo_expected(r_a: float, r_b: float) -> float:
    return 1.0 / (1.0 + 10.0 ** ((r_b - r_a) / 400.0))


def elo_update(r_a: float, r_b: float, result_a: float, k: float = ELO_K) -> tuple[float, float]:
    """New ratings after one game; `result_a` is 1 (a won), 0.5 (draw) or 0 (a lost)."""
    expected = elo_expected(r_a, r_b)
    delta = k * (result_a - expected)
    return r_a + delta, r_b - delta


@dataclass(frozen=True)
class Game:
    """One rated game: the two players and a's result (1, 0.5 or 0)."""

    a: str
    b: str
    result_a: float


def elo_ratings(
    players: Iterable[str], games: Iterable[Game], k: float = ELO_K
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Final ratings and the ratings after each game (for the Elo-over-matches plot)."""
    ratings = {p: ELO_START for p in players}
    history = []
    for g in games:
        ratings[g.a], ratings[g.b] = elo_update(ratings[g.a], ratings[g.b], g.result_a, k)
        history.append(dict(ratings))
    return ratings, history


def openskill_ratings(players: Iterable[str], games: Iterable[Game]) -> dict[str, tuple[float, float]]:
    """(mu, sigma) per player from openskill's Plackett-Luce model, games in order."""
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    ratings = {p: model.rating(name=p) for p in players}
    for g in games:
        ranks = [0, 0] if g.result_a == 0.5 else [0, 1] if g.result_a == 1.0 else [1, 0]
        (new_a,), (new_b,) = model.rate([[ratings[g.a]], [ratings[g.b]]], ranks=ranks)
        ratings[g.a], ratings[g.b] = new_a, new_b
    return {p: (float(r.mu), float(r.sigma)) for p, r in ratings.items()}
