"""Tournament specs: YAML validated on load, every error one line naming the path.

    name: ipd-classic
    seed: 1
    game: {type: ipd, turns: 200, noise: 0.0}
    format: {type: round_robin, repetitions: 5}
    players: [tit_for_tat, defector, grudger]

Players are a game's built-in strategy names, registered strategies as `name@version` (or
`name` for its latest version) looked up in the registry database (`--db`), or mappings
`{name: label, strategy: base, params: {...}}`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from ..scenario import Strict, dotted, load_yaml
from .errors import TournamentError
from .formats import max_swiss_rounds


class IpdGameSpec(Strict):
    type: Literal["ipd"]
    turns: int = Field(200, ge=1, le=1_000_000)
    noise: float = Field(0.0, ge=0.0, le=1.0)
    prob_end: float | None = Field(None, gt=0.0, le=1.0, description="seeded match length")
    payoffs: tuple[float, float, float, float] = (3, 0, 5, 1)


class WeightsSpec(Strict):
    roi: float = Field(0.6, ge=0)
    sharpe: float = Field(0.4, ge=0)


class MarketSpec(Strict):
    symbols: list[str] = ["sp500"]
    start: date | None = None
    end: date | None = None
    csv: dict[str, str] = {}
    synthetic: dict[str, dict[str, Any]] = {}


class TradingGameSpec(Strict):
    type: Literal["trading"]
    market: MarketSpec = MarketSpec()
    initial_capital: float = Field(100_000.0, gt=0)
    services: dict[str, Any] = {}
    executor: dict[str, Any] = {}
    weights: WeightsSpec = WeightsSpec()


class RoundRobinSpec(Strict):
    type: Literal["round_robin"]
    repetitions: int = Field(1, ge=1, le=100_000)
    self_play: bool = False


class EliminationSpec(Strict):
    type: Literal["single_elimination"]
    repetitions: int = Field(1, ge=1, le=100_000)
    seeding: Literal["order", "rating"] = Field(
        "order", description="bracket seeds: the players' order, or their latest Elo in the store"
    )


class SwissSpec(Strict):
    type: Literal["swiss"]
    repetitions: int = Field(1, ge=1, le=100_000)
    rounds: int | None = Field(None, ge=1)


class PlayerSpec(Strict):
    name: str = Field(min_length=1)
    strategy: str = Field(min_length=1)
    params: dict[str, Any] = {}


GameSpec = Annotated[IpdGameSpec | TradingGameSpec, Field(discriminator="type")]
FormatSpec = Annotated[RoundRobinSpec | EliminationSpec | SwissSpec, Field(discriminator="type")]


class TournamentSpec(Strict):
    name: str = Field("tournament", min_length=1)
    seed: int = Field(0, ge=0, lt=2**63)
    game: GameSpec
    format: FormatSpec
    players: list[str | PlayerSpec] = Field(min_length=2)



TAGS = {"ipd", "trading", "round_robin", "single_elimination", "swiss", "str", "PlayerSpec"}


def _describe(exc: ValidationError) -> str:
    """The first error as `path: problem`, without pydantic's union tags in the path."""
    errors = exc.errors()
    first = next((e for e in errors if e["type"] != "string_type"), errors[0])
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p in TAGS))
    path = dotted(loc)
    kind = first["type"]
    if kind == "union_tag_invalid":
        allowed = first["ctx"]["expected_tags"].replace("'", "")
        return f"{path}.type: unknown {path} type {first['ctx']['tag']!r} (allowed: {allowed})"
    if kind == "union_tag_not_found":
        return f"{path}.type: required key is missing"
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    if kind == "missing":
        return f"{path}: required key is missing"
    return f"{path}: {first['msg']} (got {first.get('input')!r})"


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> TournamentSpec:
    """Validate a spec mapping; `TournamentError` (one line naming the path) otherwise."""
    try:
        spec = TournamentSpec.model_validate(data)
    except ValidationError as exc:
        raise TournamentError(f"{source}: {_describe(exc)}") from None
    fmt, n = spec.format, len(spec.players)
    if isinstance(fmt, SwissSpec) and fmt.rounds is not None and fmt.rounds > max_swiss_rounds(n):
        raise TournamentError(
            f"{source}: format.rounds: {fmt.rounds} swiss rounds need more pairings than {n} "
            f"players allow (at most {max_swiss_rounds(n)} without a rematch)"
        )
    return spec


def load_spec(path: str | Path) -> TournamentSpec:
    data = load_yaml(path, "tournament spec", TournamentError)
    return parse_spec(data, str(path))
