"""The finance world: seeded payment, bank, legal/compliance and exchange services over real
market history; strategies; the 6-phase executor with SQLite checkpoints and replay.

    from simulator.finance import SimulationRuntime, parse_config, replay_simulation
    from simulator.store import Store

    store = Store("results/finance.sqlite")
    outcome = SimulationRuntime(store).run(parse_config({"strategy": {"name": "momentum"}}))
    report = replay_simulation(store, outcome.simulation_id, from_checkpoint=42)
"""

from .checkpoints import Checkpoint, Provenance, canonical, chain_hash, restore_world
from .config import FinanceConfig, load_config, load_market, parse_config
from .context import PHASES, SimulationContext
from .errors import ConfigError, FinanceError, LedgerError, MarketDataError
from .executor import PhaseExecutor
from .market import ARCH_SERIES, Bars, MarketData, load_arch, load_csv
from .metrics import SimulationResult, max_drawdown, sharpe_ratio
from .replay import ReplayReport, replay_simulation, validate_chain
from .runtime import RunOutcome, SimulationRuntime
from .strategies import RISK_PROFILES, STRATEGIES, Strategy, make_strategy
from .synthetic import synthetic_bars

__all__ = [
    "ARCH_SERIES",
    "PHASES",
    "RISK_PROFILES",
    "STRATEGIES",
    "Bars",
    "Checkpoint",
    "ConfigError",
    "FinanceConfig",
    "FinanceError",
    "LedgerError",
    "MarketData",
    "MarketDataError",
    "PhaseExecutor",
    "Provenance",
    "ReplayReport",
    "RunOutcome",
    "SimulationContext",
    "SimulationResult",
    "SimulationRuntime",
    "Strategy",
    "canonical",
    "chain_hash",
    "load_arch",
    "load_config",
    "load_csv",
    "load_market",
    "make_strategy",
    "max_drawdown",
    "parse_config",
    "replay_simulation",
    "restore_world",
    "sharpe_ratio",
    "synthetic_bars",
    "validate_chain",
]
