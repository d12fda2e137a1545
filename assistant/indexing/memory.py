"""The `memory` vector index: the whole `VectorIndex` protocol in plain Python and numpy, in this process.

It keeps the rule of `index.py` exactly as the Chroma store does (the contract tests run on both), so
the answer policy, verification and conversation tests can run on a few hand-made briefs in
milliseconds without a Chroma folder. Search is exact (a matrix product over every vector), which is
right for tests and small tools; the Chroma store is the one for a real corpus.

Indexes are shared within the process by location and namespace, as Chroma's ephemeral client shares
its collections: a second `Library.open` on the same settings sees what the first wrote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import EmbeddingMismatchError, StoreError
from assistant.indexing.index import Hits, index_location
from assistant.indexing.records import (
    best_per_brief,
    chunk_metadata,
    committed_doc,
    counts_as_brief_route,
    matches,
    passage_from,
    route_id,
    route_metadata,
    route_part,
    route_passage,
    route_score,
)
from assistant.indexing.route_matrix import unit_rows
from assistant.models import BriefRecord, Chunk, Passage, SearchFilter

_SHARED: dict[tuple[str, str], MemoryIndex] = {}
_SHARED_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Record:
    vector: np.ndarray[Any, Any]
    text: str
    meta: dict[str, Any]


def shared_memory_index(settings: Settings, *, model_name: str, dimension: int, create: bool) -> MemoryIndex:
    """The process's memory index for these settings (made on the first write)."""
    key = (str(settings.store_dir), settings.namespace)
    with _SHARED_LOCK:
        index = _SHARED.get(key)
        if index is None:
            if not create:
                raise StoreError(
                    f"there is no index in {index_location(settings)}",
                    hint="a memory index lives as long as its process: ingest into it first",
                )
            index = _SHARED[key] = MemoryIndex(
                model_name=model_name, dimension=dimension, location=index_location(settings)
            )
    if index.model_name != model_name or index.dimension != dimension:
        raise EmbeddingMismatchError(
            f"the index at {index.location} was built with {index.model_name} ({index.dimension} "
            f"dimensions); the configured model is {model_name} ({dimension} dimensions)",
            hint="re-index with the configured model: assistant ingest --rebuild",
        )
    return index


def forget_memory_indexes() -> None:
    """Drop every memory index of this process."""
    with _SHARED_LOCK:
        _SHARED.clear()


class MemoryIndex:
    """Chunks, routes and manifest held in dictionaries; thread-safe; exact nearest-neighbour search."""

    def __init__(self, *, model_name: str, dimension: int, location: str = "memory") -> None:
        self.location = location
        self.model_name = model_name
        self.dimension = dimension
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._chunks: dict[str, _Record] = {}
            self._routes: dict[str, _Record] = {}
            self._route_model: str | None = None
            self._manifest: dict[str, BriefRecord] = {}
            self._generation = ""

    # -- manifest ----------------------------------------------------------------------------------
    def records(self) -> dict[str, BriefRecord]:
        with self._lock:
            return dict(self._manifest)

    def record(self, doc_id: str) -> BriefRecord | None:
        with self._lock:
            return self._manifest.get(doc_id)

    def mark_pending(self, records: Sequence[BriefRecord]) -> None:
        with self._lock:
            self._manifest.update({r.doc_id: r for r in records})

    def commit(self, records: Sequence[BriefRecord]) -> None:
        with self._lock:
            self._manifest.update({r.doc_id: r for r in records})
            self._bump()

    def remove(self, doc_id: str) -> None:
        with self._lock:
            self._drop(self._chunks, lambda meta: meta["doc_id"] == doc_id)
            self._drop(self._routes, lambda meta: meta["doc_id"] == doc_id)
            self._manifest.pop(doc_id, None)
            self._bump()

    def _bump(self) -> None:
        self._generation = f"{time.time_ns()}"

    def generation(self) -> str:
        return self._generation

    def current_generation(self) -> str:
        return self._generation

    def committed(self) -> dict[str, str]:
        with self._lock:
            return {r.doc_id: r.sha256 for r in self._manifest.values() if r.sha256}

    def invalidate(self) -> None:
        """Nothing is cached: every read sees the latest write."""

    # -- chunks ------------------------------------------------------------------------------------
    def write_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray[Any, Any]) -> None:
        rows = unit_rows(np.asarray(vectors, dtype=np.float32))
        with self._lock:
            for chunk, row in zip(chunks, rows, strict=True):
                self._chunks[chunk.chunk_id] = _Record(row, chunk.text, chunk_metadata(chunk))

    def drop_version(self, doc_id: str, content_hash: str) -> None:
        def same(meta: dict[str, Any]) -> bool:
            return bool(meta["doc_id"] == doc_id and meta["brief_hash"] == content_hash)

        with self._lock:
            self._drop(self._chunks, same)
            self._drop(self._routes, same)

    def drop_other_versions(self, doc_id: str, keep_hash: str) -> None:
        def other(meta: dict[str, Any]) -> bool:
            return bool(meta["doc_id"] == doc_id and meta["brief_hash"] != keep_hash)

        with self._lock:
            self._drop(self._chunks, other)
            self._drop(self._routes, other)

    def drop_stale_parts(self, doc_id: str, content_hash: str, keep: set[str]) -> None:
        with self._lock:
            for table in (self._chunks, self._routes):
                for key in [
                    k
                    for k, r in table.items()
                    if r.meta["doc_id"] == doc_id and r.meta["brief_hash"] == content_hash and k not in keep
                ]:
                    del table[key]

    @staticmethod
    def _drop(table: dict[str, _Record], doomed: Any) -> None:
        for key in [k for k, record in table.items() if doomed(record.meta)]:
            del table[key]

    def count(self) -> int:
        with self._lock:
            return len(self._chunks)

    def chunk_ids(self, doc_id: str) -> list[str]:
        with self._lock:
            return [cid for cid, r in self._chunks.items() if r.meta["doc_id"] == doc_id]

    def iter_chunks(self, doc_ids: Iterable[str]) -> Iterable[Passage]:
        for _, chunks in self.chunks_of(doc_ids):
            yield from chunks

    def chunks_of(self, doc_ids: Iterable[str]) -> Iterator[tuple[str, list[Passage]]]:
        committed = self.committed()
        with self._lock:
            items = list(self._chunks.items())
        for doc_id in doc_ids:
            yield (
                doc_id,
                [
                    passage_from(cid, r.text, r.meta)
                    for cid, r in items
                    if r.meta["doc_id"] == doc_id and r.meta["brief_hash"] == committed.get(doc_id, "")
                ],
            )

    def get_passages(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        with self._lock:
            found = {cid: self._chunks[cid] for cid in chunk_ids if cid in self._chunks}
        return {cid: passage_from(cid, r.text, r.meta) for cid, r in found.items()}

    def nearest(self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None) -> Hits:
        committed = self.committed()
        with self._lock:
            items = [(cid, r) for cid, r in self._chunks.items() if matches(flt, r.meta)]
        items = [(cid, r) for cid, r in items if committed_doc(cid, committed)]
        return _ranked(items, vector, n)

    def only_committed(self, hits: Hits) -> Hits:
        committed = self.committed()
        return [(cid, score) for cid, score in hits if committed_doc(cid, committed)]

    # -- routes ------------------------------------------------------------------------------------
    def route_model(self) -> str | None:
        return self._route_model

    def write_routes(
        self,
        records: Sequence[BriefRecord],
        texts: Sequence[str],
        vectors: np.ndarray[Any, Any],
        model: str,
        parts: Sequence[int] | None = None,
    ) -> None:
        parts = list(parts) if parts is not None else [0] * len(records)
        with self._lock:
            if self._route_model is None:
                self._route_model = model
            if self._route_model != model:
                raise EmbeddingMismatchError(
                    f"the brief routes at {self.location} were built with {self._route_model}",
                    hint="rebuild the index: assistant ingest --rebuild corpus/",
                )
            rows = unit_rows(np.asarray(vectors, dtype=np.float32))
            for record, text, row, part in zip(records, texts, rows, parts, strict=True):
                self._routes[route_id(record, part)] = _Record(row, text, route_metadata(record, part))

    def route(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> Hits:
        committed = self.committed()
        with self._lock:
            items = [(rid, r) for rid, r in self._routes.items() if matches(flt, r.meta)]
        items = [
            (rid, r)
            for rid, r in items
            if committed_doc(rid, committed) and counts_as_brief_route(r.meta["language"], route_part(rid))
        ]
        scored = []
        for rid, similarity in _ranked(items, vector, len(items)):
            doc_id = rid.rsplit(":", 2)[0]
            scored.append(
                (doc_id, route_score(similarity, self.language_of(doc_id), language, route_part(rid)))
            )
        return best_per_brief(scored, n)

    def nearest_passages(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> Hits:
        committed = self.committed()
        with self._lock:
            items = [
                (rid, r)
                for rid, r in self._routes.items()
                if route_part(rid) and matches(flt, r.meta) and committed_doc(rid, committed)
            ]
        out: Hits = []
        for same in (True, False):
            side = [(rid, r) for rid, r in items if (r.meta["language"] == language) == same]
            out.extend((route_passage(rid), similarity) for rid, similarity in _ranked(side, vector, n))
        return out

    def languages(self) -> set[str]:
        with self._lock:
            return {r.language for r in self._manifest.values() if r.sha256}

    def language_of(self, doc_id: str) -> str:
        with self._lock:
            record = self._manifest.get(doc_id)
        return record.language if record is not None and record.sha256 else "en"


def _ranked(items: list[tuple[str, _Record]], vector: np.ndarray[Any, Any], n: int) -> Hits:
    """The `n` records most similar to `vector` (cosine), best first; ties keep the written order."""
    if not items or n <= 0:
        return []
    query = unit_rows(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
    similarities = np.stack([r.vector for _, r in items]) @ query
    order = np.argsort(-similarities, kind="stable")[:n]
    return [(items[i][0], float(similarities[i])) for i in order]
