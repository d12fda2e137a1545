"""Hybrid retrieval: dense (Chroma) and keyword (BM25) candidates fused by reciprocal rank fusion.

Dense search finds paraphrases ("institutes that link research and production"); keyword search
finds exact names and numbers ("Manufacturing Innovation 3.0", "370,000"). RRF needs no score
calibration between the two: each list contributes 1 / (k + rank).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from assistant.embeddings import Embedder
from assistant.keyword import KeywordIndex
from assistant.models import Passage, SearchFilter
from assistant.store import Store

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Where a search spent its time, in milliseconds."""

    embed_ms: float = 0.0
    dense_ms: float = 0.0
    keyword_ms: float = 0.0
    fuse_ms: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return self.embed_ms + self.dense_ms + self.keyword_ms + self.fuse_ms + sum(self.extra.values())


class Retriever:
    """Ranks passages for a question; `mode` selects dense, keyword or hybrid (the default)."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        keyword: KeywordIndex | None,
        *,
        candidates: int = 40,
        rrf_k: int = 60,
        mode: str = "hybrid",
        keyword_weight: float = 1.0,
    ) -> None:
        if mode not in ("hybrid", "dense", "keyword"):
            raise ValueError(f"unknown retrieval mode {mode!r}")
        self.store = store
        self.embedder = embedder
        self.keyword = keyword
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.keyword_weight = keyword_weight
        self.mode = mode if keyword is not None else "dense"

    def search(
        self, query: str, k: int, flt: SearchFilter | None = None, timings: Timings | None = None
    ) -> list[Passage]:
        """The `k` best passages for `query`, restricted by `flt`; `score` is the fused score in (0, 1]."""
        t = timings if timings is not None else Timings()
        n = max(self.candidates, k)
        dense: list[tuple[str, float]] = []
        lexical: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):
            start = time.perf_counter()
            vector = self.embedder.embed_question(query)
            t.embed_ms += _ms(start)
            start = time.perf_counter()
            dense = self.store.nearest(vector, n, flt)
            t.dense_ms += _ms(start)
        if self.mode in ("hybrid", "keyword") and self.keyword is not None:
            start = time.perf_counter()
            self.keyword.sync(self.store)
            lexical = self.keyword.search(query, n, flt)
            t.keyword_ms += _ms(start)
        start = time.perf_counter()
        fused = self._fuse(dense, lexical, k)
        t.fuse_ms += _ms(start)
        return fused

    def _fuse(
        self, dense: list[tuple[str, float]], lexical: list[tuple[str, float]], k: int
    ) -> list[Passage]:
        scores: dict[str, float] = {}
        for ranked, weight in ((dense, 1.0), (lexical, self.keyword_weight)):
            for rank, (chunk_id, _) in enumerate(ranked):
                scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (self.rrf_k + rank + 1)
        lists = {"hybrid": 1.0 + self.keyword_weight, "dense": 1.0, "keyword": self.keyword_weight}[self.mode]
        best_possible = lists / (self.rrf_k + 1)
        order = sorted(scores, key=lambda cid: -scores[cid])[:k]
        known = self.store.get_passages(order)  # texts only for the passages returned
        return [
            replace(known[cid], score=round(scores[cid] / best_possible, 6)) for cid in order if cid in known
        ]


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
