"""The evolving population as plain data: traits, fitness and selection.

A member is a dict (`id`, `born`, `traits`, `reputation`, identity flags); a population is a
list of members in id order. Everything here is a pure function of its inputs and a numpy
Generator, so a generation's evolution is reproducible from the checkpointed stream state.

Fitness (the seed's revised function), each term in 0..1:
    0.30 completion rate       completed / fibers the agent was a party to (0 if none)
  + 0.25 reputation            reputation / `identity.reputation_cap` (100), clipped to 0..1
  + 0.20 earnings              min-max of this generation's net token change
  + 0.15 unique counterparties distinct counterparties / the population's most
  + 0.10 fiber diversity       distinct fiber types taken part in / types in play
plus the seed's identity increments: +0.02 per self-attestation, +0.01 per vouch given,
+0.03 per vouch received, +0.05 for a verification (this generation's).

Selection, ranked by fitness (ties by id): the top share keeps its traits and is the parent
pool; the middle keeps its traits; the bottom share keeps its agent (wallet, identity,
reputation) but adopts a mutated crossover of two top parents; the worst share is retired and
replaced by new agents with random traits and fresh wallets. The population size never
changes. Adaptive mutation: the scale grows by half while the best fitness has not improved
for `stagnation` generations (up to 4x the base) and shrinks back toward the base otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .traffic_config import Evolution

SCALARS = ("activity", "risk_tolerance", "cooperativeness", "response_speed")
FITNESS_WEIGHTS = {
    "completion": 0.30,
    "reputation": 0.25,
    "earnings": 0.20,
    "network": 0.15,
    "diversity": 0.10,
}
IDENTITY_BONUS = {"self_attest": 0.02, "vouch_given": 0.01, "vouch_received": 0.03, "verified": 0.05}

Member = dict[str, Any]


def _weights(raw: np.ndarray, types: list[str]) -> dict[str, float]:
    raw = np.clip(raw, 1e-6, None)
    raw = raw / raw.sum()
    out = {t: round(float(w), 6) for t, w in zip(types, raw, strict=True)}
    out[types[-1]] = round(1.0 - sum(out[t] for t in types[:-1]), 6)  # sums to exactly 1
    return out


def random_traits(rng: np.random.Generator, types: list[str], coop: tuple[float, float]) -> dict[str, Any]:
    low, high = coop
    types = sorted(types)  # key order never matters (checkpoints store sorted JSON)
    return {
        "fiber_weights": _weights(rng.dirichlet(np.ones(len(types))), types),
        "activity": round(float(rng.uniform(0.3, 1.0)), 6),
        "risk_tolerance": round(float(rng.uniform(0.0, 1.0)), 6),
        "cooperativeness": round(float(rng.uniform(low, high)), 6),
        "response_speed": round(float(rng.uniform(0.2, 1.0)), 6),
    }


def crossover(a: dict[str, Any], b: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Uniform crossover of the scalar traits; a random blend of the fiber weights."""
    types = sorted(a["fiber_weights"])
    alpha = float(rng.uniform())
    blend = np.array([alpha * a["fiber_weights"][t] + (1 - alpha) * b["fiber_weights"][t] for t in types])
    child = {"fiber_weights": _weights(blend, types)}
    for key in SCALARS:
        child[key] = a[key] if rng.uniform() < 0.5 else b[key]
    return child


def mutate(traits: dict[str, Any], rng: np.random.Generator, scale: float) -> dict[str, Any]:
    types = sorted(traits["fiber_weights"])
    noise = rng.lognormal(0.0, scale * 3, len(types))
    out = {"fiber_weights": _weights(np.array([traits["fiber_weights"][t] for t in types]) * noise, types)}
    for key in SCALARS:
        out[key] = round(float(np.clip(traits[key] + rng.normal(0.0, scale), 0.0, 1.0)), 6)
    return out


def _norm(values: dict[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {k: (max(v, 0.0) / top if top > 0 else 0.0) for k, v in values.items()}


def fitness(
    stats: dict[str, dict[str, Any]], reputation: dict[str, float], n_types: int, rep_cap: float = 100.0
) -> dict[str, float]:
    """Each agent's fitness from its generation stats (see the module docstring)."""
    ids = sorted(stats)
    rep = {a: min(max(reputation[a], 0.0) / rep_cap, 1.0) for a in ids}
    net = _norm({a: float(len(stats[a]["counterparties"])) for a in ids})
    earn = {a: float(stats[a]["earnings"]) for a in ids}
    lo, hi = min(earn.values()), max(earn.values())
    out = {}
    for a in ids:
        s = stats[a]
        completion = s["completed"] / s["fibers"] if s["fibers"] else 0.0
        terms = {
            "completion": completion,
            "reputation": rep[a],
            "earnings": (earn[a] - lo) / (hi - lo) if hi > lo else 0.0,
            "network": net[a],
            "diversity": len(s["types"]) / n_types,
        }
        value = sum(FITNESS_WEIGHTS[k] * v for k, v in terms.items())
        value += sum(IDENTITY_BONUS[k] * s[k] for k in IDENTITY_BONUS)
        out[a] = round(value, 6)
    return out


def shares(n: int, cfg: Evolution) -> tuple[int, int, int]:
    """(top, bottom, replaced) counts for a population of n."""
    top = max(2, round(n * cfg.top)) if cfg.top > 0 else 0
    bottom = round(n * cfg.bottom)
    replaced = min(bottom, round(n * cfg.replace)) if cfg.replace > 0 else 0
    return top, bottom, replaced


def adapt_scale(state: dict[str, Any], best: float, cfg: Evolution) -> None:
    """Update the mutation scale in `state` (keys scale, best, stagnant) after a generation."""
    if best > state["best"] + 1e-9:
        state["best"], state["stagnant"] = best, 0
    else:
        state["stagnant"] += 1
    if not cfg.adaptive:
        state["scale"] = cfg.mutation_scale
    elif state["stagnant"] >= cfg.stagnation:
        state["scale"] = round(min(state["scale"] * 1.5, cfg.mutation_scale * 4), 6)
    else:
        state["scale"] = round(max(state["scale"] * 0.9, cfg.mutation_scale), 6)


def evolve(
    members: list[Member],
    fit: dict[str, float],
    rng: np.random.Generator,
    cfg: Evolution,
    scale: float,
    new_id: Any,
    random_member: Any,
) -> tuple[list[Member], list[str], list[str]]:
    """Next generation's members (same size, id order), the retired ids and the newborn ids.
    `new_id()` gives the next unused agent id; `random_member(aid)` builds a newborn."""
    ranked = sorted(members, key=lambda m: (-fit[m["id"]], m["id"]))
    n = len(ranked)
    top, bottom, replaced = shares(n, cfg)
    parents = ranked[:top]
    out: list[Member] = list(ranked[: n - bottom])
    retired, born = [], []
    for i, m in enumerate(ranked[n - bottom :]):
        if i >= bottom - replaced:
            retired.append(m["id"])
            child = random_member(new_id())
            born.append(child["id"])
            out.append(child)
            continue
        if len(parents) >= 2:
            a, b = rng.choice(len(parents), size=2, replace=False)
            traits = crossover(parents[int(a)]["traits"], parents[int(b)]["traits"], rng)
        else:
            traits = m["traits"]
        out.append({**m, "traits": mutate(traits, rng, scale)})
    out.sort(key=lambda m: m["id"])
    assert len(out) == n
    return out, retired, born
