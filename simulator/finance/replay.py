"""Replay a stored simulation from the start or from any checkpoint, and validate the chain.

The stored chain is first checked on its own (each row's data against its state hash, each
parent link). Then a fresh World is restored from checkpoint k (the context, every entity,
the random streams' state, the kernel's sequence number and record chain), the remaining
phases are run again, and the chain `stored[0..k] + replayed[k+1..]` is compared with the
stored one. The report names the first index that differs.

The stored chain must also end in the head recorded for the run (which moves with every
checkpoint batch) and in a head the caller knows (`expect_head`, e.g. from summary.json): the
checkpoints before k are only checked against their own hashes, which a forger can recompute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..store import Store
from .checkpoints import Provenance, restore_world
from .config import FinanceConfig
from .context import SimulationContext
from .executor import PhaseExecutor
from .market import MarketData
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


def _rerun(
    store: Store, sid: str, config: FinanceConfig, market: MarketData, stored: list[str], k: int
) -> list[str]:
    """Restore checkpoint k (or start fresh, k = -1) and re-run to the end; the new hashes."""
    ctx = SimulationContext(config, market, sid)
    new: list[str] = []
    resume_time = 0.0
    if k >= 0:
        rows = (r.payload() for r in store.iter_checkpoints(sid, 0, k + 1))
        resume_time = restore_world(ctx.world, rows, ctx.log_fields)["time"]
    provenance = Provenance(ctx.world, ctx.log_fields, k + 1, stored[k] if k >= 0 else None)
    executor = PhaseExecutor(ctx, provenance, lambda cp: new.append(cp.state_hash), resume_time=resume_time)
    if not ctx.finished:
        ctx.world.spawn(TRADER, executor.behaviour)
        ctx.world.run()
    return new


def replay_simulation(
    store: Store,
    simulation_id: str,
    from_checkpoint: int | str | None = None,
    expect_head: str | None = None,
) -> ReplayReport:
    """Re-run `simulation_id` from its start (or from `from_checkpoint`: an index or an id).

    The stored chain's head must equal the head recorded for the run (and `expect_head`, e.g.
    from the run's summary.json, if given): checkpoints before the replayed part are only
    checked against their own hashes, so a forger who re-hashed the chain after a tampered
    checkpoint would otherwise pass. On a head mismatch the run is replayed from its start to
    name the first checkpoint that differs.
    """
    sim = store.get_simulation(simulation_id)
    config, market = config_of(sim)  # refuses market data that changed since the run
    stored, bad, why = verify_stored(store.iter_checkpoints(simulation_id))
    k = -1 if from_checkpoint is None else store.get_checkpoint(simulation_id, from_checkpoint).phase_index
    head = stored[-1] if stored else None
    anchors = [("recorded for the run", sim.get("chain_head")), ("expected", expect_head)]
    forged = [f"{name} {h[:16]}" for name, h in anchors if h is not None and h != head]
    reason = why
    start = -1 if forged and bad is None else k
    try:
        new = _rerun(store, simulation_id, config, market, stored, start)
    except Exception as exc:
        if bad is None or bad > start:  # not explained by corrupt stored data: a real failure
            raise
        new = []
        reason = f"{why}; replay from it failed: {type(exc).__name__}: {exc}"
    replayed = stored[: start + 1] + new
    valid, first = validate_chain(stored, replayed)
    if bad is not None:
        valid, first = False, bad if first is None else min(first, bad)
    elif forged:
        head_text = head[:16] if head else "none"
        where = f"; replayed from the start, it differs at checkpoint {first}" if first is not None else ""
        valid, first = False, first if first is not None else max(len(stored) - 1, 0)
        reason = (
            f"the stored chain head {head_text} is not the head {' / '.join(forged)}: "
            f"the checkpoints were rewritten{where}"
        )
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
