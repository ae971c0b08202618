"""The OttoChain scenario: a validated pydantic config (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ..scenario import Strict, load_yaml, set_dotted, validate

FIBER_TYPES = ("SimpleOrder", "TicTacToe", "TokenEscrow", "Contract", "Voting", "ApprovalWorkflow", "Auction")


class Metagraph(Strict):
    snapshot_interval: float = Field(5.0, gt=0, description="seconds between snapshots (ordinals)")
    submit_latency: float = Field(0.5, ge=0, description="agent -> metagraph delay of a signed message")


class Behaviour(Strict):
    poll_interval: float = Field(4.0, gt=0, description="mean seconds between an agent's polls")
    timeout: float = Field(90.0, gt=0, description="seconds without progress before a party gives up")
    cooperativeness: tuple[float, float] = Field((0.75, 1.0), description="range each agent draws from")
    activity: float = Field(0.5, ge=0, le=1, description="chance per poll to start a fiber while under quota")
    cosign_latency: float = Field(1.0, ge=0, description="delay of an invitation or answer between agents")


class OttoScenario(Strict):
    name: str = "ottochain"
    seed: int = 1
    until: float = Field(1800.0, gt=0)
    mode: Literal["fixed", "upstream"] = "fixed"
    agents: int = Field(40, ge=2)
    fibers_per_agent: int = Field(3, ge=0, description="fibers each agent initiates")
    fiber_mix: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(FIBER_TYPES, 1.0))
    voters: int = Field(3, ge=1, description="voters invited to a Voting fiber")
    bidders: int = Field(3, ge=1, description="bidders invited to an Auction")
    extensions: bool = True
    definitions: str | None = Field(
        None, description="folder of OttoChain definitions; default ../shared/ottochain"
    )
    metagraph: Metagraph = Field(default_factory=Metagraph)
    behaviour: Behaviour = Field(default_factory=Behaviour)

    @model_validator(mode="after")
    def _mix(self) -> OttoScenario:
        bad = sorted(set(self.fiber_mix) - set(FIBER_TYPES))
        if bad:
            raise ValueError(f"fiber_mix: unknown type {bad[0]!r} (allowed: {', '.join(FIBER_TYPES)})")
        if any(w < 0 for w in self.fiber_mix.values()) or not any(self.fiber_mix.values()):
            raise ValueError("fiber_mix: weights must be >= 0 and not all zero")
        low, high = self.behaviour.cooperativeness
        if not 0 <= low <= high <= 1:
            raise ValueError("behaviour.cooperativeness: expected [low, high] within 0..1")
        return self


def load_scenario(path: str | Path | None, overrides: dict[str, Any] | None = None) -> OttoScenario:
    data = load_yaml(path, allow_empty=True) if path else {}
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return validate(OttoScenario, data, str(path or "<defaults>"))
