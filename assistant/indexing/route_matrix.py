"""The route vectors of the committed briefs held in memory and searched exactly.

A question that takes the multilingual path asks the routes twice (`route`: which briefs; and
`nearest_passages`: which passages, in the question's language and in the others). Asked of Chroma,
each is a filtered query over every route row, and with many briefs those filtered queries made the
slow tail of search (10k chunks: p95 168 ms against 10.7 ms for the tutorial pipeline). The rows are
few and small (one 384-float vector per passage: about 15 MB at 10,000 passages), so a backend reads
the committed ones once per manifest generation into a `RouteMatrix` and answers both questions with
a matrix product. The results mean exactly what `records.py` defines: the contract tests hold every
backend to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.indexing.records import (
    PASSAGE_ROUTE_OFFSET,
    SAME_LANGUAGE_OFFSET,
    route_passage,
)
from assistant.models import SearchFilter
from assistant.reading.metadata import date_key

Hits = list[tuple[str, float]]


def unit_rows(rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows scaled to length 1 (a zero row stays zero), so that a dot product is a cosine."""
    if rows.ndim != 2:
        raise ValueError(f"vectors must be a matrix, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


class RouteMatrix:
    """Committed route rows (id, vector, metadata as `records.route_metadata` writes it), searchable."""

    def __init__(self, ids: Sequence[str], vectors: Any, metas: Sequence[dict[str, Any]]) -> None:
        self.ids = list(ids)
        rows = np.asarray(vectors, dtype=np.float32)
        self.vectors = unit_rows(rows.reshape(len(self.ids), -1) if len(self.ids) else rows.reshape(0, 1))
        self.docs = list(dict.fromkeys(str(m["doc_id"]) for m in metas))
        self._code = {doc: i for i, doc in enumerate(self.docs)}
        self.doc = np.array([self._code[str(m["doc_id"])] for m in metas], dtype=np.int64)
        self.part = np.array([int(m["part"]) for m in metas], dtype=np.int64)
        self.language = np.array([str(m["language"]) for m in metas], dtype=object)
        self.day = np.array([int(m["date_key"]) for m in metas], dtype=np.int64)
        self.number = np.array([int(m["volume_num"]) for m in metas], dtype=np.int64)
        # `records.counts_as_brief_route`: every brief's opening, and the passages of briefs not in English
        self.ranks_brief = (self.part == 0) | (self.language != "en")

    def __len__(self) -> int:
        return len(self.ids)

    def allowed(self, flt: SearchFilter | None) -> np.ndarray[Any, Any]:
        """Which rows pass the filter (`records.matches`, for a whole matrix at once)."""
        keep = np.ones(len(self.ids), dtype=bool)
        if flt is None or flt.empty:
            return keep
        if flt.doc_ids:
            keep &= np.isin(self.doc, [self._code[doc] for doc in flt.doc_ids if doc in self._code])
        if flt.date_from:
            keep &= self.day >= date_key(flt.date_from)
        if flt.date_to:
            keep &= self.day <= date_key(flt.date_to)
        if flt.volume_min is not None:
            keep &= self.number >= flt.volume_min
        if flt.volume_max is not None:
            keep &= self.number <= flt.volume_max
        return keep

    def _similarities(self, vector: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Cosine similarity of every row (one product over the whole matrix: cheaper than copying the
        rows a filter keeps)."""
        query = unit_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        return np.asarray(self.vectors @ query, dtype=np.float64)

    def route(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> Hits:
        """The `n` briefs nearest to a multilingual query vector, each at its best part, by
        `records.route_score` (the same-language bonus and a passage's offset taken off)."""
        rows = np.flatnonzero(self.ranks_brief & self.allowed(flt))
        if not len(rows) or n <= 0:
            return []
        scores = self._similarities(vector)[rows]
        scores -= np.where(self.part[rows] > 0, PASSAGE_ROUTE_OFFSET, 0.0)
        scores -= np.where(self.language[rows] == language, SAME_LANGUAGE_OFFSET, 0.0)
        best = np.full(len(self.docs), -np.inf)
        np.maximum.at(best, self.doc[rows], scores)
        found = np.flatnonzero(np.isfinite(best))
        order = found[np.argsort(-best[found], kind="stable")][:n]
        return [(self.docs[i], float(best[i])) for i in order]

    def nearest_passages(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> Hits:
        """Chunk ids and cosine similarities of the `n` passages (route parts i >= 1) nearest to the
        vector among the briefs in `language`, then the `n` nearest among the others."""
        if n <= 0:
            return []
        passages = (self.part > 0) & self.allowed(flt)
        same = self.language == language
        everything = self._similarities(vector) if passages.any() else np.zeros(0)
        out: Hits = []
        for side in (passages & same, passages & ~same):
            rows = np.flatnonzero(side)
            similarities = everything[rows]
            for i in np.argsort(-similarities, kind="stable")[:n]:
                out.append((route_passage(self.ids[rows[i]]), float(similarities[i])))
        return out
