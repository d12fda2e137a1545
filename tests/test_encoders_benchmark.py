"""The encoder comparison's ranking (`benchmarks.encoders`): briefs by their best passage."""

from __future__ import annotations

import numpy as np

from benchmarks.encoders import hits


def test_briefs_rank_by_their_best_passage() -> None:
    owners = ["a", "a", "b", "c"]
    scores = np.array(
        [
            [0.2, 0.9, 0.5, 0.1],  # a (0.9) first
            [0.6, 0.1, 0.7, 0.65],  # b, c, a: a third
            [0.1, 0.1, 0.2, 0.3],  # c, b, a
        ]
    )
    assert hits(scores, owners, [{"a"}, {"a"}, {"a"}]) == (1 / 3, 1.0)
    assert hits(scores, owners, [{"b"}, {"b"}, {"b"}]) == (1 / 3, 1.0)
    # A two-brief question counts its better-placed brief; a brief not in the index is a miss.
    assert hits(scores, owners, [{"c", "a"}, {"c"}, {"zzz"}]) == (1 / 3, 2 / 3)
