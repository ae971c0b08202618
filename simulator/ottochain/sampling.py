"""numpy's weighted draws and linear quantile, in plain Python for short lists.

`Generator.choice(n, p=...)` and `np.quantile` cost 20-300 microseconds each on a list of a
few hundred numbers, mostly array set-up; an agent starting a fiber makes three such calls.
These functions take the same draws from the same stream (`rng.random()`, one double per
draw, as `Generator.random(k)` fills k doubles) and compute the same floats in the same
order (a running cumulative sum divided by its last value, searched to the right; numpy's
`_lerp`), so they return exactly what numpy returns (tested against numpy on random
inputs) and a run's record is unchanged.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np


def _cdf(p: Sequence[float]) -> list[float]:
    cdf = list(accumulate(float(x) for x in p))
    last = cdf[-1]
    return [c / last for c in cdf]


def weighted_index(rng: np.random.Generator, p: Sequence[float]) -> int:
    """`int(rng.choice(len(p), p=p))`."""
    return bisect_right(_cdf(p), rng.random())


def weighted_sample(rng: np.random.Generator, p: Sequence[float], size: int) -> list[int]:
    """`list(rng.choice(len(p), size=size, replace=False, p=p))`: numpy's rejection loop
    (draw the missing count, zero the weights already found, keep the first occurrence of
    each new index in draw order)."""
    if sum(1 for x in p if x > 0) < size:
        raise ValueError("Fewer non-zero entries in p than size")
    weights = [float(x) for x in p]
    found: list[int] = []
    while len(found) < size:
        draws = [rng.random() for _ in range(size - len(found))]
        for i in found:
            weights[i] = 0.0
        cdf = _cdf(weights)
        seen: set[int] = set()
        for u in draws:
            i = bisect_right(cdf, u)
            if i not in seen:
                seen.add(i)
                found.append(i)
    return found


def quantile(values: Sequence[float], q: float) -> float:
    """`float(np.quantile(values, q))` (method "linear")."""
    return sorted_quantile(sorted(float(v) for v in values), q)


def sorted_quantile(xs: Sequence[float], q: float) -> float:
    """`quantile` of floats already sorted."""
    n = len(xs)
    v = (n - 1) * q
    if v >= n - 1:
        return xs[-1]
    if v < 0:
        return xs[0]
    i = math.floor(v)
    a, b = xs[i], xs[i + 1]
    gamma = v - i
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
