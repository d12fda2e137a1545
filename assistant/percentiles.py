"""The one percentile every figure uses: nearest rank (numpy's ``method="inverted_cdf"``).

The p50 / p95 of a latency, the ends of a bootstrap interval and the benchmarks' tables are all
read with it, so figures from `assistant eval`, the benchmarks and the tests compare like with like.
It imports nothing of the package, so a benchmark can use it without loading the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """The smallest value with at least q% of the values at or below it (q in 0..100); None for none."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, not {q}")
    rank = math.ceil(q * len(ordered) / 100 - 1e-9)  # the tolerance: 2.5% of 40 is 1, not 1.0000000000000002
    return ordered[max(0, rank - 1)]


def interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float] | None:
    """The central `level` share of `values` (a bootstrap's draws), by the same rule."""
    draws = list(values)
    tail = (1 - level) / 2 * 100
    low, high = percentile(draws, tail), percentile(draws, 100 - tail)
    return None if low is None or high is None else (low, high)
