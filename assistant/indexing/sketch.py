"""How much of one brief's text another brief already holds, from small fixed-size sketches.

A brief's text is cut into overlapping runs of `SHINGLE` words; each run is hashed to 64 bits and
the `SIZE` smallest hashes are kept (a bottom-k sketch) with the number of distinct runs. Two
sketches estimate the Jaccard similarity of the two sets of runs, and with the set sizes, how much of
the new brief is contained in the old one. A brief with fewer than `SIZE` runs is kept whole, so
for short briefs the figure is exact. Sketches are stored in the manifest, so a check costs no read
of the indexed briefs' text.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

SHINGLE = 5  # words per run: long enough that shared phrases of the field do not count
SIZE = 256  # hashes kept per brief: the estimate's error is about 1/sqrt(SIZE), some 6 points
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Sketch:
    hashes: tuple[int, ...]  # the smallest hashes, ascending
    runs: int  # distinct runs of words in the text

    @classmethod
    def of(cls, text: str) -> Sketch:
        words = _WORD.findall(text.lower())
        runs = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
        runs.discard("")
        hashes = sorted({_hash(run) for run in runs})
        return cls(tuple(hashes[:SIZE]), len(hashes))

    @classmethod
    def load(cls, stored: Sequence[int], runs: int) -> Sketch:
        return cls(tuple(stored), runs)

    def contained_in(self, other: Sketch) -> float:
        """The estimated share of this text's runs of words that `other` also has (0..1)."""
        if not self.hashes or not other.hashes:
            return 0.0
        mine, theirs = set(self.hashes), set(other.hashes)
        union = sorted(mine | theirs)[:SIZE]
        shared = sum(1 for h in union if h in mine and h in theirs)
        jaccard = shared / len(union)
        if jaccard == 0.0:
            return 0.0
        # |A ∩ B| = J |A ∪ B| and |A ∪ B| = (|A| + |B|) / (1 + J)
        together = jaccard * (self.runs + other.runs) / (1.0 + jaccard)
        return min(1.0, together / self.runs)


def _hash(run: str) -> int:
    return int.from_bytes(hashlib.blake2b(run.encode("utf-8"), digest_size=8).digest(), "big")


class SketchIndex:
    """Sketches by key, with the key holding most of a new text found without comparing every pair.

    Only keys sharing at least a tenth of the new sketch's hashes are compared: a text that holds
    most of another shares most of its smallest hashes, so nothing near is missed, and an ingest of a
    thousand briefs stays linear instead of a million comparisons.
    """

    def __init__(self) -> None:
        self._sketches: dict[str, Sketch] = {}
        self._holders: defaultdict[int, set[str]] = defaultdict(set)

    def add(self, key: str, sketch: Sketch) -> None:
        self.discard(key)
        self._sketches[key] = sketch
        for h in sketch.hashes:
            self._holders[h].add(key)

    def discard(self, key: str) -> None:
        old = self._sketches.pop(key, None)
        for h in old.hashes if old else ():
            self._holders[h].discard(key)

    def nearest(self, sketch: Sketch, *, skip: str = "") -> tuple[str | None, float]:
        shared = Counter(key for h in sketch.hashes for key in self._holders.get(h, ()) if key != skip)
        floor = max(1, len(sketch.hashes) // 10)
        best: tuple[str | None, float] = (None, 0.0)
        for key, n in shared.items():
            if n >= floor:
                share = sketch.contained_in(self._sketches[key])
                if share > best[1]:
                    best = (key, share)
        return best
