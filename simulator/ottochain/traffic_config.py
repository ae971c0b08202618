"""The traffic scenario: a persistent evolving population (validated; unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ..scenario import Strict, load_yaml, set_dotted, validate
from .config import FIBER_TYPES, Behaviour, Metagraph, OttoScenario


class Evolution(Strict):
    top: float = Field(0.20, ge=0, le=1, description="share that reproduces by crossover")
    bottom: float = Field(0.20, ge=0, le=1, description="share that adopts mutated offspring traits")
    replace: float = Field(0.05, ge=0, le=1, description="worst share replaced by new random agents")
    mutation_scale: float = Field(0.10, gt=0, le=1, description="base std of a trait mutation")
    adaptive: bool = Field(True, description="raise the scale while the best fitness stagnates")
    stagnation: int = Field(3, ge=1, description="generations without a new best before raising")


class Identity(Strict):
    base: float = 10.0
    per_completion: float = 5.0
    per_vouch: float = 2.0
    per_violation: float = -10.0
    decay: float = Field(0.9, ge=0, le=1, description="share of reputation above base kept per generation")
    verify_probability: float = Field(0.8, ge=0, le=1, description="chance a newborn verifies")
    trust_depth: int = Field(2, ge=1, description="trust-graph depth an agent prefers counterparties within")
    reputation_cap: float = Field(100.0, gt=0, description="reputation that counts as 1.0 in fitness")


class Bridge(Strict):
    latency: float = Field(0.2, ge=0, description="seconds agent -> bridge")
    error_rate: float = Field(0.0, ge=0, le=1, description="chance a request fails outright")
    timeout_rate: float = Field(0.0, ge=0, le=1, description="chance a forwarded request's answer is lost")
    outage_fraction: float = Field(0.0, ge=0, lt=1, description="share of time the bridge is down")
    outage_period: float = Field(120.0, gt=0, description="seconds per outage cycle")
    breaker_threshold: int = Field(3, ge=1, description="consecutive failures that open the breaker")
    stall_fraction: float = Field(
        0.0, ge=0, lt=1, description="share of each outage period the metagraph seals no snapshot"
    )


class TrafficScenario(Strict):
    name: str = "ottochain_traffic"
    seed: int = 1
    mode: Literal["fixed", "upstream"] = "fixed"
    population: int = Field(40, ge=4, le=100_000, description="agents alive at every generation")
    generations: int = Field(10, ge=1)
    episode: float = Field(600.0, gt=0, le=86_400, description="simulated s per generation (a day at most)")
    initiate_window: float = Field(0.4, gt=0, le=1, description="share of the episode agents start fibers in")
    fibers_per_agent: int = Field(1, ge=0, description="fibers an agent may start per generation")
    fiber_types: list[str] = Field(default_factory=lambda: list(FIBER_TYPES))
    voters: int = Field(3, ge=1)
    bidders: int = Field(3, ge=1)
    extensions: bool = True
    definitions: str | None = None
    wallet_store: str | None = Field(
        None,
        description="encrypted wallet store (`simulator wallet generate`); agent_0000N owns its Nth "
        "wallet. Passphrase: SIMULATOR_WALLET_PASSPHRASE. Default: wallets derived from the seed",
    )
    metagraph: Metagraph = Field(default_factory=Metagraph)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    evolution: Evolution = Field(default_factory=Evolution)
    identity: Identity = Field(default_factory=Identity)
    bridge: Bridge = Field(default_factory=Bridge)

    @model_validator(mode="after")
    def _check(self) -> TrafficScenario:
        bad = sorted(set(self.fiber_types) - set(FIBER_TYPES))
        if bad or not self.fiber_types:
            raise ValueError(f"fiber_types: unknown or empty {bad} (allowed: {', '.join(FIBER_TYPES)})")
        e = self.evolution
        if e.top + e.bottom > 1 or e.replace > e.bottom:
            raise ValueError("evolution: need top + bottom <= 1 and replace <= bottom")
        if max(self.voters, self.bidders) >= self.population:
            raise ValueError("voters/bidders: must be fewer than the population")
        return self

    def episode_scenario(self, seed: int) -> OttoScenario:
        """The part-1 scenario one generation's episode runs on."""
        return OttoScenario(
            name=f"{self.name}-episode",
            seed=seed,
            until=self.episode,
            mode=self.mode,
            agents=self.population,
            fibers_per_agent=self.fibers_per_agent,
            fiber_mix={t: 1.0 for t in self.fiber_types},
            voters=self.voters,
            bidders=self.bidders,
            extensions=self.extensions,
            definitions=self.definitions,
            metagraph=self.metagraph,
            behaviour=self.behaviour,
        )


def load_traffic(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrafficScenario:
    data = load_yaml(path, allow_empty=True) if path else {}
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return validate(TrafficScenario, data, str(path or "<defaults>"))
