"""Named random streams: one master seed, independent streams keyed by stable names.

On hot paths, `scale * rng.standard_exponential()` stands for `rng.exponential(scale)`: numpy
computes the latter as exactly that product (`random_exponential` in its distributions.c), so
the draw, the stream's state after it and every output are the same, while the call skips
the parameter checks that make up two thirds of its cost (0.8 us against 0.3 us here). The
scale must be >= 0 (numpy would refuse a negative one); `tests/test_engine.py` pins the
equality. A stream that serves one kind of draw and is never checkpointed can be drawn in
blocks (`RngStreams.exponentials`, `.uniforms`): the same values again, at a fifth of the cost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

import numpy as np

BLOCK = 256
"""Draws a stream drawn in blocks (`RngStreams.exponentials`, `.uniforms`) takes at a time."""


def _spawn_key(name: str) -> tuple[int, ...]:
    digest = hashlib.sha256(name.encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream `name` under master `seed` (independent of creation order)."""
    return np.random.SeedSequence(entropy=seed, spawn_key=_spawn_key(name))


def derive_seeds(seed: int, n: int, name: str = "replications") -> list[int]:
    """`n` child seeds generated up front from a master seed (for batches and tournaments)."""
    words = seed_sequence(seed, name).generate_state(2 * n, np.uint32)
    return [int(words[2 * i]) << 32 | int(words[2 * i + 1]) for i in range(n)]


class RngStreams:
    """Lazily created `numpy.random.Generator`s, one per stable name.

    The state of every stream created so far is exported by `state()` and restored by
    `restore()`, so checkpoints carry it.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}
        self._exponentials: dict[str, Callable[[], float]] = {}
        self._uniforms: dict[str, Callable[[], float]] = {}

    def __call__(self, name: str) -> np.random.Generator:
        gen = self._streams.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(seed_sequence(self.seed, name)))
            self._streams[name] = gen
        return gen

    def exponentials(self, name: str) -> Callable[[], float]:
        """`draw()`: stream `name`'s next `standard_exponential()`, taken from it in blocks.

        The values and their order are those of calling `standard_exponential()` once per
        draw (numpy fills a block with the same draws, one after the other), at a fifth of
        the cost. The stream must serve nothing else, and runs whose streams' state is
        checkpointed cannot use it: its generator is a block ahead of the draws made
        (`state()` refuses such a stream)."""
        draw = self._exponentials.get(name)
        return draw if draw is not None else self._blocks(name, "standard_exponential")

    def uniforms(self, name: str) -> Callable[[], float]:
        """`draw()`: stream `name`'s next `random()` (uniform on [0, 1)), taken in blocks; the
        same values in the same order, with the conditions of `exponentials`."""
        draw = self._uniforms.get(name)
        return draw if draw is not None else self._blocks(name, "random")

    def _blocks(self, name: str, method: str) -> Callable[[], float]:
        mine, other = self._exponentials, self._uniforms
        if method == "random":
            mine, other = other, mine
        if name in other:
            raise ValueError(f"stream {name!r} is already drawn in blocks of another kind than {method}")
        draw = mine[name] = _blocks(getattr(self(name), method)).__next__
        return draw

    def state(self) -> dict[str, Any]:
        """Plain-data state of every stream, sorted by name."""
        blocked = sorted([*self._exponentials, *self._uniforms])
        if blocked:
            raise ValueError(f"streams drawn in blocks have no exact state: {blocked}")
        return {name: self._streams[name].bit_generator.state for name in sorted(self._streams)}

    def restore(self, state: dict[str, Any]) -> None:
        for name, bit_state in state.items():
            self(name).bit_generator.state = bit_state


def _blocks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    """The values of `draw(BLOCK)`, block after block, as Python floats (all in C per value)."""
    return chain.from_iterable(iter(lambda: draw(BLOCK).tolist(), None))
