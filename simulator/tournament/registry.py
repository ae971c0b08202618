"""The strategy registry: versioned strategies in the store's `strategies` table.

An entry is `name@version` (semver) with parameters `{game, base, ...the base's parameters}`
and a description. Versions of a name only increase. `evolve` merges parameter changes into
the latest version and bumps it by the kind of change: a new base, game or parameter set is
a major bump, changed values a minor one, a description only a patch. `cross` averages the
numeric parameters of two entries (integers rounded) and picks the others with a seeded
stream; the child is `a_x_b@1.0.0`. Parents are kept in `strategy_lineage`.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import semver

from ..engine import seed_sequence
from ..store import Store
from .errors import TournamentError

GAMES = ("ipd", "trading")
BUILTIN_VERSION = "0.0.0"
"""Built-in strategies at their defaults enter the table at 0.0.0 when a tournament uses them."""


class RegistryError(TournamentError):
    """A bad version, a duplicate, a version that does not increase, an unknown entry."""


def parse_version(version: str) -> semver.Version:
    try:
        return semver.Version.parse(version)
    except (ValueError, TypeError):
        raise RegistryError(f"version {version!r}: not a semantic version (e.g. 1.0.0)") from None


def check_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Validate `{game, base, ...}` against the game's strategy; full parameters back."""
    from .games import CHECKS

    params = dict(parameters)
    game = params.pop("game", None)
    base = params.pop("base", None)
    if game not in GAMES:
        raise RegistryError(f"parameters.game: {game!r} is not a game (allowed: {', '.join(GAMES)})")
    try:
        full = CHECKS[game](str(base), params)
    except ValueError as exc:
        raise RegistryError(f"parameters: {exc}") from None
    return {"game": game, "base": base, **full}


def split_ref(ref: str) -> tuple[str, str | None]:
    name, _, version = ref.partition("@")
    return name, version or None


class Registry:
    """Register, look up, evolve and cross strategies stored in a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def versions(self, name: str) -> list[str]:
        """Every version of `name`, lowest first (semver order)."""
        found = [r["version"] for r in self.store.list_strategies(name)]
        return sorted(found, key=semver.Version.parse)

    def latest(self, name: str) -> dict[str, Any]:
        versions = self.versions(name)
        if not versions:
            raise RegistryError(f"unknown strategy {name!r} in {self.store.path}")
        return self.get(f"{name}@{versions[-1]}")

    def get(self, ref: str) -> dict[str, Any]:
        """An entry by `name@version`, or `name` for its latest version."""
        name, version = split_ref(ref)
        if version is None:
            return self.latest(name)
        parse_version(version)
        rows = [r for r in self.store.list_strategies(name) if r["version"] == version]
        if not rows:
            known = ", ".join(self.versions(name)) or "none"
            raise RegistryError(f"unknown strategy {name}@{version} (versions of {name}: {known})")
        return {**rows[0], "parents": self.store.get_parents(rows[0]["id"])}

    def list(self) -> list[dict[str, Any]]:
        rows = self.store.list_strategies()
        return sorted(rows, key=lambda r: (r["name"], semver.Version.parse(r["version"])))

    def register(
        self,
        name: str,
        version: str,
        parameters: Mapping[str, Any],
        description: str | None = None,
        parents: tuple[tuple[str, str, dict[str, Any]], ...] = (),
    ) -> dict[str, Any]:
        """Add `name@version`; `parents` are (parent id, relation, change) for the lineage."""
        if not name or "@" in name or "," in name or name.strip() != name:
            raise RegistryError(f"name {name!r}: must be non-empty, without '@', ',' or spaces around")
        new = parse_version(version)
        existing = self.versions(name)
        if version in existing:
            raise RegistryError(f"{name}@{version} is already registered")
        if existing and new <= semver.Version.parse(existing[-1]):
            raise RegistryError(
                f"{name}@{version}: version does not increase on the latest, {existing[-1]}"
            )
        full = check_parameters(parameters)
        sid = self.store.register_strategy(name, version, full, description)
        for parent, relation, change in parents:
            self.store.add_lineage(sid, parent, relation, change)
        return self.get(sid)

    def ensure_builtin(self, game: str, base: str, params: Mapping[str, Any]) -> str:
        """The id of built-in `base` at its defaults (registered at 0.0.0 on first use)."""
        full = {"game": game, "base": base, **params}
        sid = f"{base}@{BUILTIN_VERSION}"
        if not self.store.conn.execute("SELECT 1 FROM strategies WHERE id = ?", (sid,)).fetchone():
            self.store.register_strategy(base, BUILTIN_VERSION, full, "built-in, default parameters")
        return sid

    def evolve(
        self, ref: str, changes: Mapping[str, Any], description: str | None = None, bump: str | None = None
    ) -> dict[str, Any]:
        """A new version of `ref`'s name: `changes` merged into `ref`'s parameters, the bump
        chosen by the kind of change unless `bump` (major, minor, patch) says."""
        parent = self.get(ref)
        old = parent["parameters"]
        merged = {**old, **changes}
        if merged.get("base") != old.get("base"):  # another base: its own parameter set
            merged = {"game": merged["game"], "base": merged["base"],
                      **{k: v for k, v in changes.items() if k not in ("game", "base")}}
        merged = check_parameters(merged)
        if bump is None:
            if set(merged) != set(old) or merged["base"] != old["base"] or merged["game"] != old["game"]:
                bump = "major"
            elif merged != old:
                bump = "minor"
            else:
                bump = "patch"
        if bump not in ("major", "minor", "patch"):
            raise RegistryError(f"bump {bump!r}: allowed: major, minor, patch")
        latest = semver.Version.parse(self.versions(parent["name"])[-1])
        version = str(getattr(latest, f"bump_{bump}")())
        change = {k: merged[k] for k in merged if old.get(k) != merged[k]}
        return self.register(
            parent["name"], version, merged, description or parent["description"],
            parents=((parent["id"], f"evolve:{bump}", change),),
        )

    def cross(self, ref_a: str, ref_b: str, seed: int = 0, name: str | None = None) -> dict[str, Any]:
        """A child of two entries: numeric parameters averaged (integers rounded), the others
        drawn from a stream seeded by `seed` and the parents' ids. Same game required."""
        a, b = self.get(ref_a), self.get(ref_b)
        pa, pb = a["parameters"], b["parameters"]
        if pa["game"] != pb["game"]:
            raise RegistryError(f"cannot cross {a['id']} ({pa['game']}) with {b['id']} ({pb['game']})")
        rng = __import__("numpy").random.default_rng(seed_sequence(seed, f"cross/{a['id']}/{b['id']}"))
        base = pa["base"] if pa["base"] == pb["base"] or rng.random() < 0.5 else pb["base"]
        child: dict[str, Any] = {"game": pa["game"], "base": base}
        from_base = pa if pa["base"] == base else pb
        for key in from_base:
            if key in ("game", "base"):
                continue
            va, vb = pa.get(key, from_base[key]), pb.get(key, from_base[key])
            numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (va, vb))
            if numeric:
                mean = (va + vb) / 2
                child[key] = int(round(mean)) if isinstance(va, int) and isinstance(vb, int) else mean
            else:
                child[key] = va if rng.random() < 0.5 else vb
        child_name = name or f"{a['name']}_x_{b['name']}"
        existing = self.versions(child_name)
        version = str(semver.Version.parse(existing[-1]).bump_minor()) if existing else "1.0.0"
        description = f"cross of {a['id']} and {b['id']}"
        return self.register(
            child_name, version, child, description,
            parents=((a["id"], "cross", {}), (b["id"], "cross", {})),
        )

    def lineage(self, ref: str) -> list[dict[str, Any]]:
        """Every ancestry link above `ref`, breadth first: child, parent, relation, change."""
        start = self.get(ref)["id"]
        out, queue, seen = [], [start], {start}
        while queue:
            current = queue.pop(0)
            for link in self.store.get_parents(current):
                out.append(link)
                if link["parent_id"] not in seen:
                    seen.add(link["parent_id"])
                    queue.append(link["parent_id"])
        return out
