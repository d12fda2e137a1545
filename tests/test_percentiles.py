"""The one percentile rule behind every p50 / p95 and interval: numpy's nearest rank."""

from __future__ import annotations

import random

import numpy as np
import pytest

from assistant.percentiles import interval, percentile


def test_percentile_is_numpys_inverted_cdf() -> None:
    rng = random.Random(7)
    for size in (1, 2, 3, 10, 19, 20, 40, 101, 1000):
        values = [rng.uniform(0, 100) for _ in range(size)]
        for q in (0, 2.5, 25, 50, 90, 95, 97.5, 100):
            assert percentile(values, q) == np.percentile(values, q, method="inverted_cdf"), (size, q)


def test_percentile_edges() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # a value that was measured, never an average
    assert interval([]) is None
    assert interval(float(v) for v in range(1, 41)) == (1.0, 39.0)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 120)
