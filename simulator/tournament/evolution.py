"""Generational tournaments: play, keep the top, replace the bottom with offspring of the top.

Each generation is a tournament in `<out>/gen-NNN` (resumable like any). After it, the top
`keep` players stay; each remaining place goes, in turn, to a mutant of a top player
(`Registry.evolve`: numeric parameters scaled by a lognormal draw from the stream
`evolve/<generation>/<place>`, integers rounded; a minor bump) or to a cross of the top two
(`Registry.cross`, named after the parents' base strategies so names do not grow). `<out>/evolution.json` is
the checkpoint: the generations done and the next field; a resumed run continues from it.
"""

from __future__ import annotations

import json
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import seed_sequence
from ..store import Store
from .games import BatchOptions
from .registry import BUILTIN_VERSION, Registry, RegistryError
from .runner import run_tournament
from .spec import PlayerSpec, TournamentSpec

CHECKPOINT = "evolution.json"


def _ref(registry: Registry, game: str, label: str | PlayerSpec) -> str:
    """A registry reference for a player: built-ins enter the registry at 0.0.0, inline players
    as `name@1.0.0` (or the registered version with the same parameters)."""
    from .games import CHECKS

    if isinstance(label, PlayerSpec):
        try:
            params = {"game": game, "base": label.strategy, **CHECKS[game](label.strategy, label.params)}
        except ValueError as exc:
            raise RegistryError(f"players: {label.name}: {exc}") from None
        versions = registry.versions(label.name)
        for version in reversed(versions):
            entry = registry.get(f"{label.name}@{version}")
            if entry["parameters"] == params:
                return entry["id"]
        if versions:
            raise RegistryError(f"players: {label.name} is registered with other parameters; "
                                "give the new ones another name")
        return registry.register(label.name, "1.0.0", params, "from an evolution spec")["id"]
    if "@" in label or registry.versions(label):
        return registry.get(label)["id"]
    return registry.ensure_builtin(game, label, CHECKS[game](label, {}))


def mutate(registry: Registry, ref: str, rng: np.random.Generator, tries: int = 8) -> str | None:
    """A new minor version of `ref` with its numeric parameters perturbed, or None if it has
    none (or no draw gives valid parameters)."""
    params = registry.get(ref)["parameters"]
    numeric = {k: v for k, v in params.items()
               if isinstance(v, numbers.Real) and not isinstance(v, bool)}
    if not numeric:
        return None
    for _ in range(tries):
        changes: dict[str, Any] = {}
        for key, value in numeric.items():
            if isinstance(value, int):
                changes[key] = max(1, int(round(value * float(rng.lognormal(0.0, 0.25)))))
            elif 0.0 <= value <= 1.0 and params["game"] == "ipd":
                changes[key] = float(min(1.0, max(0.0, value + rng.normal(0.0, 0.15))))
            else:
                changes[key] = float(value * rng.lognormal(0.0, 0.25))
        try:
            return registry.evolve(ref, changes, bump="minor")["id"]
        except RegistryError:
            continue
    return None


def evolve(
    spec: TournamentSpec,
    out: Path,
    store: Store,
    generations: int,
    options: BatchOptions | None = None,
    keep: int | None = None,
    resume: bool = False,
    source: str = "<spec>",
) -> list[dict[str, Any]]:
    """Run `generations` generations; returns one log entry per generation."""
    registry = Registry(store)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT
    state: dict[str, Any] = {"log": [], "players": None}
    if resume and checkpoint.is_file():
        state = json.loads(checkpoint.read_text())
    players = state["players"] or [_ref(registry, spec.game.type, p) for p in spec.players]
    n = len(players)
    keep = keep if keep is not None else max(2, n // 2)
    if not 1 <= keep <= n:
        raise RegistryError(f"--keep: must be between 1 and the field size {n}, got {keep}")
    for g in range(len(state["log"]), generations):
        gen_spec = spec.model_copy(update={"players": players, "name": f"{spec.name}-gen{g:03d}"})
        folder = out / f"gen-{g:03d}"
        result = run_tournament(gen_spec, folder, options, resume=resume, store=store,
                                plots=False, source=f"{source} (generation {g})")
        ranked = [s["player"] for s in result.standings]

        def params_of(ref: str) -> dict[str, Any]:
            return registry.get(ref)["parameters"]

        top = ranked[:keep]
        field = list(top)
        for place in range(n - keep):
            rng = np.random.default_rng(seed_sequence(spec.seed, f"evolve/{g}/{place}"))
            child = None
            if place % 2 == 0:
                child = mutate(registry, top[(place // 2) % keep], rng)
            if child is None and keep >= 2:
                a, b = top[0], top[1 + (place // 2) % (keep - 1)]
                base_a, base_b = (registry.get(x)["parameters"]["base"] for x in (a, b))
                child = registry.cross(a, b, seed=spec.seed + g, name=f"{base_a}_x_{base_b}")["id"]
            if child is None or params_of(child) in [params_of(p) for p in field]:
                child = ranked[keep + place]  # nothing new to try: the player stays
            field.append(child)
        state["log"].append({
            "generation": g,
            "players": players,
            "leader": ranked[0],
            "leader_score": result.standings[0]["score"],
            "tournament_id": result.tournament_id,
        })
        state["players"] = players = field
        tmp = checkpoint.with_name(CHECKPOINT + ".partial")
        tmp.write_text(json.dumps(state, indent=1) + "\n")
        os.replace(tmp, checkpoint)
    return state["log"]


__all__ = ["BUILTIN_VERSION", "evolve", "mutate"]
