"""SimulationRuntime: run a finance simulation, or resume an interrupted one, against a Store.

A run registers its strategy and simulation (full resolved config plus a fingerprint of the
market data it saw), drives the executor, and streams checkpoints to SQLite in batches. If the
run fails, the checkpoints taken so far are written (a consistent prefix) and the simulation
is marked failed; `resume` continues from the last stored checkpoint and its chain equals the
uninterrupted run's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine import Sink
from ..store import CheckpointWriter, Store
from ..store.chain import verify_stored
from .checkpoints import Checkpoint, Provenance, canonical, restore_world
from .config import FinanceConfig, load_market, parse_config
from .context import SimulationContext
from .errors import FinanceError, MarketDataError
from .executor import PhaseExecutor
from .market import MarketData
from .metrics import SimulationResult
from .services import TRADER


@dataclass
class RunOutcome:
    simulation_id: str
    status: str
    result: SimulationResult
    hashes: list[str] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)


def stored_config(config: FinanceConfig, market: MarketData) -> dict[str, Any]:
    return {**config.resolved(), "data_digest": market.digest}


def config_of(simulation: dict[str, Any]) -> tuple[FinanceConfig, MarketData]:
    """Rebuild a stored simulation's config and market data; refuse data that changed."""
    data = dict(simulation["config"])
    digest = data.pop("data_digest", None)
    config = parse_config(data)
    market = load_market(config)
    if digest is not None and market.digest != digest:
        raise MarketDataError(
            f"simulation {simulation['id']}: its market data changed since it was recorded "
            f"(digest {market.digest[:12]} != recorded {digest[:12]})"
        )
    return config, market


def strategy_version(ctx: SimulationContext) -> tuple[str, str, dict[str, Any]]:
    """(name, semver with a build tag of the parameters, parameters)."""
    params = ctx.strategy.parameters()
    tag = hashlib.sha256(canonical(params).encode()).hexdigest()[:8]
    return ctx.strategy.name, f"{ctx.strategy.version}+{tag}", params


class SimulationRuntime:
    """Runs simulations; keeps the ones in progress in `active`."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self.active: dict[str, SimulationContext] = {}

    def get_simulation(self, simulation_id: str) -> SimulationContext:
        return self.active[simulation_id]

    def run(
        self,
        config: FinanceConfig,
        *,
        stop_after: int | None = None,
        sinks: Sequence[Sink] = (),
        keep: bool = False,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        market: MarketData | None = None,
        tournament_id: str | None = None,
    ) -> RunOutcome:
        """Run from the start. `stop_after` checkpoints interrupts it (for resume tests)."""
        market = market or load_market(config)
        ctx = SimulationContext(config, market, "local", sinks)
        name, version, params = strategy_version(ctx)
        if self.store is not None:
            ctx.strategy_id = self.store.register_strategy(name, version, params, ctx.strategy.description)
            ctx.simulation_id = self.store.create_simulation(
                stored_config(config, market),
                config.initial_capital,
                name=config.name,
                seed=config.seed,
                strategy_id=ctx.strategy_id,
                tournament_id=tournament_id,
            )
            self.store.log_event(
                ctx.simulation_id,
                "simulation_started",
                "runtime",
                {"name": config.name, "seed": config.seed, "strategy": ctx.strategy_id},
            )
        else:
            ctx.strategy_id = f"{name}@{version}"
        provenance = Provenance(ctx.world, ctx.log_fields)
        return self._drive(ctx, provenance, 0.0, stop_after, keep, on_checkpoint)

    def resume(
        self,
        simulation_id: str,
        *,
        stop_after: int | None = None,
        sinks: Sequence[Sink] = (),
        keep: bool = False,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
    ) -> RunOutcome:
        """Continue a stored simulation from its last checkpoint."""
        store = self._need_store()
        sim = store.get_simulation(simulation_id)
        if sim["status"] == "completed":
            raise FinanceError(f"simulation {simulation_id} is completed: nothing to resume (replay checks)")
        config, market = config_of(sim)
        hashes, bad, why = verify_stored(store.iter_checkpoints(simulation_id))
        if bad is not None:
            raise FinanceError(f"cannot resume {simulation_id}: {why}")
        ctx = SimulationContext(config, market, simulation_id, sinks)
        ctx.strategy_id = sim["strategy_id"] or ""
        resume_time = 0.0
        if hashes:
            rows = (r.payload() for r in store.iter_checkpoints(simulation_id))
            resume_time = restore_world(ctx.world, rows, ctx.log_fields)["time"]
        provenance = Provenance(ctx.world, ctx.log_fields, len(hashes), hashes[-1] if hashes else None)
        store.claim_simulation(simulation_id)
        store.log_event(simulation_id, "simulation_resumed", "runtime", {"from_index": len(hashes) - 1})
        return self._drive(ctx, provenance, resume_time, stop_after, keep, on_checkpoint)

    def _need_store(self) -> Store:
        if self.store is None:
            raise FinanceError("this needs a store (--db PATH)")
        return self.store

    def _drive(
        self,
        ctx: SimulationContext,
        provenance: Provenance,
        resume_time: float,
        stop_after: int | None,
        keep: bool,
        on_checkpoint: Callable[[Checkpoint], None] | None,
    ) -> RunOutcome:
        sid = ctx.simulation_id
        writer: CheckpointWriter | None = None
        if self.store is not None:
            writer = self.store.checkpoint_writer(sid, ctx.config.executor.checkpoint_batch)
        kept: list[Checkpoint] = []

        def taken(cp: Checkpoint) -> None:
            if writer is not None:
                writer.add(cp.row(sid))
            if keep:
                kept.append(cp)
            if on_checkpoint is not None:
                on_checkpoint(cp)

        executor = PhaseExecutor(ctx, provenance, taken, resume_time=resume_time, stop_after=stop_after)
        self.active[sid] = ctx
        try:
            if not ctx.finished:
                ctx.world.spawn(TRADER, executor.behaviour)
                ctx.world.run()
            if writer is not None:
                writer.flush()
        except BaseException as exc:
            if writer is not None and self.store is not None:
                try:
                    writer.flush()
                finally:
                    # Ctrl-C stops a healthy run: it can be resumed as it is
                    stopped = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                    self.store.update_simulation(sid, status=stopped)
                    self.store.log_event(
                        sid,
                        f"simulation_{stopped}",
                        "runtime",
                        {"error": f"{type(exc).__name__}: {exc}", "checkpoints": provenance.index},
                    )
            raise
        finally:
            self.active.pop(sid, None)
        status = "completed" if ctx.finished else "interrupted"
        result = ctx.compute_metrics(checkpoints=provenance.index, chain_head=provenance.parent)
        if self.store is not None:
            done = status == "completed"
            self.store.update_simulation(
                sid,
                status=status,
                chain_head=provenance.parent,
                final_capital=result.final_capital if done else None,
                result=result.model_dump() if done else None,
            )
            self.store.log_event(sid, f"simulation_{status}", "runtime", result.summary())
        return RunOutcome(sid, status, result, list(provenance.hashes), kept)
