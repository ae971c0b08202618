from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


@pytest.fixture
def flood_overload_path() -> Path:
    return SCENARIOS / "flood_overload.yaml"
