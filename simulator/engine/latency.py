"""Latency is a system property: a delay per channel (source kind -> target kind, event type)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Distribution = Literal["fixed", "exponential", "uniform", "normal", "lognormal"]
ANY = "*"


@dataclass(frozen=True, eq=False)
class Channel:
    """delay = base + a draw from `dist` (with `scale`) + `congestion` x events in flight.

    Channels compare by identity: two channels with equal settings still count their
    events in flight separately.

    - fixed: no draw; exponential: mean `scale`; uniform: [0, scale);
    - normal: |N(0, scale)|; lognormal: |exp(N(0, scale)) - 1|, a heavy right tail.

    Every draw is >= 0, so a delay never schedules an event in the past.
    """

    base: float = 0.0
    dist: Distribution = "fixed"
    scale: float = 0.0
    congestion: float = 0.0

    def __post_init__(self) -> None:
        for name in ("base", "scale", "congestion"):
            if getattr(self, name) < 0:
                raise ValueError(f"latency {name} must be >= 0, got {getattr(self, name)}")

    def sample(self, rng: np.random.Generator, in_flight: int) -> float:
        delay = self.base + self.congestion * in_flight
        if self.dist == "fixed" or self.scale == 0.0:
            return delay
        if self.dist == "exponential":
            return delay + self.scale * rng.standard_exponential()  # rng.exponential(scale), see rng.py
        if self.dist == "uniform":
            return delay + rng.random() * self.scale
        if self.dist == "normal":
            return delay + abs(rng.normal(0.0, self.scale))
        return delay + abs(float(np.expm1(rng.normal(0.0, self.scale))))


class LatencyModel:
    """Channels keyed by (source kind, target kind, event type), `*` matching anything.

    The most specific match wins: a pattern naming more of the three beats one naming fewer;
    between patterns naming as many, the target kind counts most, then the source kind, then
    the event type. In full, first match wins: (s, t, e), (s, t, *), (*, t, e), (s, *, e),
    (*, t, *), (s, *, *), (*, *, e), then the default. Lookups are cached; congestion counts
    events in flight per channel.
    """

    def __init__(
        self,
        channels: dict[tuple[str, str, str], Channel] | None = None,
        default: Channel | None = None,
    ) -> None:
        self.channels = dict(channels or {})
        self.default = default or Channel()
        self._cache: dict[tuple[str, str, str], Channel] = {}
        self.in_flight: dict[Channel, int] = {}

    def draws_only_exponentials(self) -> bool:
        """Whether every draw of this model is a standard exponential (channels fixed or
        exponential), so that its stream may be drawn in blocks (`RngStreams.exponentials`)."""
        channels = (self.default, *self.channels.values())
        return all(c.dist in ("fixed", "exponential") or c.scale == 0.0 for c in channels)

    def set(self, source: str, target: str, event: str, channel: Channel) -> None:
        self.channels[(source, target, event)] = channel
        self._cache.clear()

    def channel(self, source: str, target: str, event: str) -> Channel:
        key = (source, target, event)
        found = self._cache.get(key)
        if found is None:
            found = self.default
            for candidate in (
                key,
                (source, target, ANY),
                (ANY, target, event),
                (source, ANY, event),
                (ANY, target, ANY),
                (source, ANY, ANY),
                (ANY, ANY, event),
            ):
                if candidate in self.channels:
                    found = self.channels[candidate]
                    break
            self._cache[key] = found
        return found
