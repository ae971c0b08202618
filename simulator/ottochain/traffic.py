"""The traffic run: a persistent population evolving over generations, checkpointed to the
store after every generation and resumable after a crash.

Generation g runs one episode (`TrafficWorld`) seeded from (seed, g), computes fitness and
reputation from its facts, evolves the population with the `evolution` stream and writes a
checkpoint: the population, identity records, trust edges, mutation state and every RNG
stream's state, as canonical JSON, hashed onto the previous checkpoint's hash
(`h_g = sha256(h_{g-1} + data_g)`). Checkpoint 0 is the initial population. Resuming loads
the last checkpoint and continues; since all state crosses generations as data, the resumed
run's chain equals the uninterrupted run's.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import RngStreams
from ..runs import versions, write_json
from ..scenario import ScenarioError
from ..store import Store
from ..store.chain import verify_stored
from .config import FIBER_TYPES
from .identity import identity_id, next_reputation
from .population import SCALARS, adapt_scale, evolve, fitness, random_traits
from .traffic_config import TrafficScenario
from .traffic_world import TrafficWorld
from .wallet import Wallet

STORE = "traffic.sqlite"
CSV_NAME = "generations.csv"
PHASE = "generation"
COLUMNS = [
    "generation",
    "population",
    "born",
    "retired",
    "fitness_avg",
    "fitness_max",
    "fitness_min",
    "mutation_scale",
    "initiated",
    "created",
    "completed",
    "completion",
    *[f"completion_{t}" for t in FIBER_TYPES],
    "attestations",
    "attestations_per_agent",
    "attestations_lifetime_per_agent",
    "vouches",
    "reputation_avg",
    "reputation_queries",
    "bridge_requests",
    "bridge_failures",
    "backoff_ms",
    "held_polls",
    "duplicates",
    "double_applied",
    "lost",
    "outstanding",
    "snapshot_ordinal",
    "snapshot_lag",
    "producing",
    *[f"trait_{k}" for k in SCALARS],
    *[f"weight_{t}" for t in FIBER_TYPES],
    "episode_head",
]


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def episode_seed(seed: int, generation: int) -> int:
    return int(np.random.SeedSequence([seed, generation]).generate_state(1)[0])


class Traffic:
    """State between generations (plain data) and the loop that advances it."""

    def __init__(self, cfg: TrafficScenario) -> None:
        self.cfg = cfg
        self.rng = RngStreams(cfg.seed)
        self.wallets: dict[str, Wallet] = {}
        self.generation = 0
        self.next_id = 1
        self.members: list[dict[str, Any]] = []
        self.identities: dict[str, dict[str, Any]] = {}
        self.edges: list[list[Any]] = []
        self.mutation = {"scale": cfg.evolution.mutation_scale, "best": -1.0, "stagnant": 0}
        self.row: dict[str, Any] = {}
        self._wallet_store: Any = None

    # -- population ----------------------------------------------------------------------------
    def new_id(self) -> str:
        aid = f"agent_{self.next_id:05d}"
        self.next_id += 1
        return aid

    def newborn(self, aid: str) -> dict[str, Any]:
        self.wallet(aid)  # owns its wallet from birth (a store too small fails here)
        traits = random_traits(
            self.rng("evolution"), self.cfg.fiber_types, self.cfg.behaviour.cooperativeness
        )
        return {
            "id": aid,
            "born": self.generation,
            "traits": traits,
            "reputation": self.cfg.identity.base,
            "attestations": 0,
            "attested": False,
            "verified": False,
        }

    def wallet(self, aid: str) -> Wallet:
        """The agent's wallet: its entry in the wallet store (agent_0000N -> the Nth), or one
        derived from the seed and its id. The same at every restart; ids are never reused."""
        if aid not in self.wallets:
            if self.cfg.wallet_store:
                self.wallets[aid] = self._stored_wallet(aid)
            else:
                self.wallets[aid] = Wallet.from_seed_bytes(f"{self.cfg.seed}/traffic/{aid}".encode())
        return self.wallets[aid]

    def _stored_wallet(self, aid: str) -> Wallet:
        from .wallet import Store as WalletStore
        from .wallet import WalletError, passphrase_from_env_or_prompt

        if self._wallet_store is None:
            path = self.cfg.wallet_store
            if not Path(path).is_file():
                raise WalletError(f"wallet_store: {path}: no such wallet store")
            self._wallet_store = WalletStore(path, passphrase_from_env_or_prompt())
        store = self._wallet_store
        index = int(aid.rsplit("_", 1)[1]) - 1
        if index >= len(store.entries):
            raise WalletError(
                f"wallet_store: {store.path} holds {len(store.entries)} wallets; {aid} needs wallet "
                f"#{index + 1} (add more with `simulator wallet generate --count N --store {store.path}`)"
            )
        return store.wallet_at(index)

    def genesis(self) -> None:
        self.members = [self.newborn(self.new_id()) for _ in range(self.cfg.population)]

    def state(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "next_id": self.next_id,
            "members": self.members,
            "identities": self.identities,
            "edges": self.edges,
            "mutation": self.mutation,
            "rng": _jsonable(self.rng.state()),
            "row": self.row,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.generation, self.next_id = data["generation"], data["next_id"]
        self.members, self.identities, self.edges = data["members"], data["identities"], data["edges"]
        self.mutation, self.row = data["mutation"], data["row"]
        self.rng.restore(data["rng"])

    # -- one generation ----------------------------------------------------------------------------
    def step(self, sinks: list | None = None) -> dict[str, Any]:
        """Run generation g+1: its episode, fitness, evolution; return its CSV row.

        The cyclic collector is off for the whole generation and collects the youngest
        generation once at its end. An episode's World is full of cycles (processes, closures)
        and all its objects are young then, so that one pass frees them; a collection during
        the generation, while the World is alive, would only promote them, to be traversed
        again by older collections (about 8% of a generation's time)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._advance(sinks)
        finally:
            if collecting:
                gc.collect(0)
                gc.enable()

    def _advance(self, sinks: list | None) -> dict[str, Any]:
        cfg = self.cfg
        self.generation += 1
        ids = [m["id"] for m in self.members]
        sim = TrafficWorld(
            cfg,
            episode_seed(cfg.seed, self.generation),
            self.members,
            {a: self.wallet(a) for a in ids},
            self.identities,
            self.edges,
            sinks,
        )
        sim.world.run(until=cfg.episode)
        facts = sim.facts()
        per = facts["agents"]
        rep = {m["id"]: next_reputation(m["reputation"], per[m["id"]], cfg.identity) for m in self.members}
        for m in self.members:  # identity standing: the seed's bonus for being attested/verified
            f = per[m["id"]]
            f["self_attest"] = int(m["attested"] or f["self_attest"] > 0)
            f["verified"] = int(m.get("verified", False) or f["verified"] > 0)
        fit = fitness(per, rep, len(cfg.fiber_types), cfg.identity.reputation_cap)
        for m in self.members:
            f = per[m["id"]]
            m["verified"] = bool(f["verified"])
            m["reputation"] = rep[m["id"]]
            m["attestations"] += facts["agents"][m["id"]]["new_attestations"]
            m["attested"] = bool(f["self_attest"])
        self.identities = {k: v for k, v in facts["identities"].items()}
        adapt_scale(self.mutation, max(fit.values()), cfg.evolution)
        row = self._row(sim, facts, fit)
        self.members, retired, born = evolve(
            self.members,
            fit,
            self.rng("evolution"),
            cfg.evolution,
            self.mutation["scale"],
            self.new_id,
            self.newborn,
        )
        alive = {m["id"] for m in self.members}
        for aid in retired:
            self.identities.pop(identity_id(aid), None)
            self.wallets.pop(aid, None)
        self.edges = merge_edges(self.edges, facts["vouches"], alive, cfg.identity.decay)
        row.update(born=len(born), retired=len(retired), population=len(self.members))
        self.row = row
        return row

    def _row(self, sim: TrafficWorld, facts: dict[str, Any], fit: dict[str, float]) -> dict[str, Any]:
        by_type = facts["by_type"]
        created = sum(r["created"] for r in by_type.values())
        completed = sum(r["completed"] for r in by_type.values())
        initiated = sum(sum(d.values()) for d in facts["initiated"].values())
        values = list(fit.values())
        n = len(self.members)
        b = facts["bridge"]
        lifetime = round(float(np.mean([m["attestations"] for m in self.members])), 6)  # since birth
        row: dict[str, Any] = {
            "generation": self.generation,
            "fitness_avg": round(float(np.mean(values)), 6),
            "fitness_max": max(values),
            "fitness_min": min(values),
            "mutation_scale": self.mutation["scale"],
            "initiated": initiated,
            "created": created,
            "completed": completed,
            "completion": round(completed / created, 6) if created else 0.0,
        }
        for t in FIBER_TYPES:
            r = by_type.get(t)
            row[f"completion_{t}"] = round(r["completed"] / r["created"], 6) if r and r["created"] else ""
        row.update(
            attestations=facts["attestations"],
            attestations_per_agent=round(facts["attestations"] / n, 6),  # this generation's
            attestations_lifetime_per_agent=lifetime,
            vouches=len(facts["vouches"]),
            reputation_avg=round(float(np.mean([m["reputation"] for m in self.members])), 6),
            reputation_queries=facts["reputation_queries"],
            bridge_requests=b["requests"],
            bridge_failures=b["outage"] + b["error"] + b["timeout"],
            backoff_ms=facts["backoff_ms"],
            held_polls=facts["held_polls"],
            duplicates=facts["duplicates"],
            double_applied=facts["double_applied"],
            lost=facts["lost"],
            outstanding=facts["outstanding"],
            snapshot_ordinal=facts["health"]["ordinal"],
            snapshot_lag=facts["health"]["lag"],
            producing=int(facts["health"]["producing"]),
        )
        for k in SCALARS:
            row[f"trait_{k}"] = round(float(np.mean([m["traits"][k] for m in self.members])), 6)
        for t in FIBER_TYPES:  # the heritable fiber preferences: what evolution selects
            weights = [m["traits"]["fiber_weights"].get(t, 0.0) for m in self.members]
            row[f"weight_{t}"] = round(float(np.mean(weights)), 6)
        row["episode_head"] = sim.world.chain_head or ""
        row["_per_type"] = {
            t: {
                "initiated": sum(d.get(t, 0) for d in facts["initiated"].values()),
                "completed": by_type.get(t, {}).get("completed", 0),
            }
            for t in FIBER_TYPES
        }
        return row


MIN_TRUST = 0.1


def merge_edges(old: list[list[Any]], new: list[list[Any]], alive: set[str], decay: float) -> list[list[Any]]:
    """The trust graph's edges after a generation: old vouches fade by `decay` (dropped below
    0.1, so the graph and the checkpoints stay bounded), this generation's renew them; edges of
    retired agents go."""
    best: dict[tuple[str, str], float] = {}
    for src, dst, w in old:
        if src in alive and dst in alive and w * decay >= MIN_TRUST:
            best[(src, dst)] = round(float(w) * decay, 6)
    for src, dst, w in new:
        if src in alive and dst in alive:
            best[(src, dst)] = max(best.get((src, dst), 0.0), float(w))
    return [[s, d, w] for (s, d), w in sorted(best.items())]


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(state, default=int))


def csv_line(row: dict[str, Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([row.get(c, "") for c in COLUMNS])
    return buf.getvalue()


# -- the run with its checkpoints ---------------------------------------------------------------
def run_traffic(
    cfg: TrafficScenario,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = False,
    on_generation: Callable[[Traffic, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) to `cfg.generations`; write generations.csv and summary.json (the CLI adds
    report.md, its plots and metrics.prom)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / STORE)
    try:
        sims = [s for s in store.list_simulations() if s["name"] == cfg.name]
        traffic = Traffic(cfg)
        config = cfg.model_dump(mode="json")
        check = {k: v for k, v in config.items() if k != "generations"}
        if sims and not resume:
            raise ScenarioError(
                f"{out / STORE}: already holds run {cfg.name!r}; pass --resume or a new --out"
            )
        if sims:
            sid = sims[0]["id"]
            stored = store.get_simulation(sid)["config"]
            if {k: v for k, v in stored.items() if k != "generations"} != check:
                raise ScenarioError(f"--resume: {out / STORE} holds a run with another configuration")
        else:
            traffic.genesis()  # first: a wallet store that cannot serve fails before anything is stored
            seed = cfg.seed if -(2**63) <= cfg.seed < 2**63 else None  # SQLite INTEGER; config keeps it
            sid = store.create_simulation(config, 0.0, name=cfg.name, seed=seed)
        if sims and store.count_checkpoints(sid):
            hashes, bad, why = verify_stored(store.iter_checkpoints(sid))
            if bad is not None:
                raise ScenarioError(
                    f"--resume: {out / STORE}: {why}; the run cannot continue from a damaged chain "
                    "(start again with a new --out)"
                )
            traffic.restore(store.get_checkpoint(sid, -1).payload())
            head = hashes[-1]
            rows = store.checkpoint_objects(sid, "$.row", 1)  # not every checkpoint parsed whole
        else:  # a new run, or one killed before its first checkpoint
            if sims:
                traffic.genesis()
            head = _checkpoint(store, sid, traffic, None)
            rows = []
        csv_path = out / CSV_NAME
        with open(csv_path, "w", newline="") as fh:
            fh.write(",".join(COLUMNS) + "\n")
            fh.writelines(csv_line(r) for r in rows)
            fh.flush()
            from tqdm import tqdm

            bar = tqdm(
                total=cfg.generations,
                initial=traffic.generation,
                desc="generations",
                unit="gen",
                disable=not progress,
            )
            if on_generation:  # replay what a resumed run already did, then the start state
                for r in rows:
                    on_generation(traffic, r)
                on_generation(traffic, {})
            while traffic.generation < cfg.generations:
                row = traffic.step()
                head = _checkpoint(store, sid, traffic, head)
                fh.write(csv_line(row))
                fh.flush()
                rows.append(row)
                bar.update()
                bar.set_postfix(fitness=row["fitness_avg"], completion=row["completion"])
                if on_generation:
                    on_generation(traffic, row)
            bar.close()
        summary = {
            "scenario": cfg.name,
            "world": "ottochain-traffic",
            "seed": cfg.seed,
            "config": config,
            "versions": versions("cryptography", "pydantic", "networkx", "prometheus-client"),
            "chain_head": head,
            "generations": traffic.generation,
            "population": len(traffic.members),
            "outcomes": outcomes(rows),
            "errors": [],
        }
        store.update_simulation(sid, status="completed", chain_head=head, result=summary["outcomes"])
        write_json(out / "summary.json", summary)
        return summary
    finally:
        store.close()


def _checkpoint(store: Store, sid: str, traffic: Traffic, parent: str | None) -> str:
    data = canonical(traffic.state())
    head = hashlib.sha256(((parent or "") + data).encode()).hexdigest()
    g = traffic.generation
    store.save_checkpoints([(f"{sid}:{g:06d}", sid, PHASE, g, g, None, float(g), head, parent, data)])
    return head


def outcomes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {}
    first, last = rows[0], rows[-1]
    k = max(1, len(rows) // 5)
    return {
        "generations": len(rows),
        "population_min": min(r["population"] for r in rows),
        "population_max": max(r["population"] for r in rows),
        "completion_mean": round(float(np.mean([r["completion"] for r in rows])), 4),
        "fitness_first": first["fitness_avg"],
        "fitness_last": last["fitness_avg"],
        "fitness_first_fifth": round(float(np.mean([r["fitness_avg"] for r in rows[:k]])), 4),
        "fitness_last_fifth": round(float(np.mean([r["fitness_avg"] for r in rows[-k:]])), 4),
        "attestations_per_agent": last["attestations_per_agent"],
        "bridge_failures": sum(r["bridge_failures"] for r in rows),
        "lost": sum(r["lost"] for r in rows),
        "double_applied": sum(r["double_applied"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
    }


def task_folder(cfg: TrafficScenario) -> str:
    digest = hashlib.sha256(canonical(cfg.model_dump(mode="json")).encode()).hexdigest()[:10]
    return f"{digest}-seed-{cfg.seed}"


def traffic_task(params: dict[str, Any], seed: int) -> dict[str, float]:
    """A `simulator.batch` run function: `params` = {"scenario": {...traffic keys...}, "out":
    folder}; runs with `seed` into `<out>/<config digest>-seed-<seed>` (one folder per sweep
    point and seed) and returns numeric outcomes (the chain head's first 48 bits as `head48`,
    so backends can be compared)."""
    from ..scenario import validate

    data = dict(params.get("scenario") or {})
    data["seed"] = seed
    cfg = validate(TrafficScenario, data, "<batch task>")
    summary = run_traffic(cfg, Path(params["out"]) / task_folder(cfg))
    out: dict[str, float] = {k: float(v) for k, v in summary["outcomes"].items()}
    out["head48"] = float(int(summary["chain_head"][:12], 16))
    return out


def traffic_outcomes(params: dict[str, Any], seed: int) -> dict[str, float]:
    """The batch worlds registry's run function (`ottochain_traffic`): `params` is a traffic
    scenario as `load_traffic(path).model_dump(mode="json")` gives it; the run's folder (its
    checkpoint store) is temporary, only the numeric outcomes come back."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="traffic-") as tmp:
        return traffic_task({"scenario": params, "out": tmp}, seed)
