"""Replay a stored simulation from the start or from any checkpoint, and validate the chain.

The stored chain is first checked on its own (each row's data against its state hash, each
parent link). Then a fresh World is restored from checkpoint k (the context, every entity,
the random streams' state, the kernel's sequence number and record chain), the remaining
phases are run again, and the chain `stored[0..k] + replayed[k+1..]` is compared with the
stored one. The report names the first index that differs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..store import Store
from .checkpoints import Provenance, restore_world
from .context import SimulationContext
from .executor import PhaseExecutor
from .runtime import config_of, verify_stored
from .services import TRADER


@dataclass(frozen=True)
class ReplayReport:
    simulation_id: str
    valid: bool
    original_count: int
    replay_count: int
    first_mismatch: int | None
    from_index: int | None
    rerun_count: int
    reason: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def validate_chain(original: list[str], replay: list[str]) -> tuple[bool, int | None]:
    """Strict comparison: (equal, first index that differs, or the shorter length)."""
    for i, (o, r) in enumerate(zip(original, replay, strict=False)):
        if o != r:
            return False, i
    if len(original) != len(replay):
        return False, min(len(original), len(replay))
    return True, None


def replay_simulation(
    store: Store, simulation_id: str, from_checkpoint: int | str | None = None
) -> ReplayReport:
    """Re-run `simulation_id` from its start (or from `from_checkpoint`: an index or an id)."""
    sim = store.get_simulation(simulation_id)
    config, market = config_of(sim)
    stored, bad, why = verify_stored(store.iter_checkpoints(simulation_id))
    k = -1 if from_checkpoint is None else store.get_checkpoint(simulation_id, from_checkpoint).phase_index
    ctx = SimulationContext(config, market, simulation_id)
    new: list[str] = []
    reason = why
    try:
        resume_time = 0.0
        if k >= 0:
            rows = (r.payload() for r in store.iter_checkpoints(simulation_id, 0, k + 1))
            resume_time = restore_world(ctx.world, rows, ctx.log_fields)["time"]
        provenance = Provenance(ctx.world, ctx.log_fields, k + 1, stored[k] if k >= 0 else None)
        executor = PhaseExecutor(
            ctx, provenance, lambda cp: new.append(cp.state_hash), resume_time=resume_time
        )
        if not ctx.finished:
            ctx.world.spawn(TRADER, executor.behaviour)
            ctx.world.run()
    except Exception as exc:
        if bad is None or bad > k:  # not explained by corrupt stored data: a real failure
            raise
        reason = f"{why}; replay from it failed: {type(exc).__name__}: {exc}"
    replayed = stored[: k + 1] + new
    valid, first = validate_chain(stored, replayed)
    if bad is not None:
        valid, first = False, bad if first is None else min(first, bad)
    elif not valid and first is not None:
        if first >= len(stored):
            reason = f"the replay ran past the {len(stored)} stored checkpoints (an interrupted run?)"
        elif first >= len(replayed):
            reason = f"the replay ended after {len(replayed)} checkpoints, the original has {len(stored)}"
        else:
            reason = f"the replay diverged at checkpoint {first}"
    report = ReplayReport(
        simulation_id, valid, len(stored), len(replayed), first, None if k < 0 else k, len(new), reason
    )
    if not store.readonly:
        store.log_event(simulation_id, "replay", "replay", report.as_dict())
    return report
