"""Tournament errors: bad input is a `ScenarioError` (one `error:` line, exit 2)."""

from __future__ import annotations

from ..scenario import ScenarioError


class TournamentError(ScenarioError):
    """A bad spec, an unknown strategy, an impossible format: the message names the path."""
