"""The `chroma` vector index: the only module that reads and writes Chroma collections.

Three collections: `brief_chunks` (one record per chunk: vector, text, citation metadata),
`brief_routes` (multilingual vectors: each brief's opening, each passage of a brief not in English)
and `brief_manifest` (one record per brief: what was indexed from which file, with its content
hash). The manifest lives in Chroma itself, so the same logic holds for an embedded folder and for a
Chroma server. Connecting and error mapping are in `chroma_client.py`; the rule every backend keeps
is in `index.py`. The module runs past 300 lines because it is one backend of the whole
`VectorIndex` protocol, in the protocol's order.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.errors import EmbeddingMismatchError
from assistant.indexing.chroma_client import (
    LAYOUT_VERSION,
    Guarded,
    check_layout,
    chroma_where,
    connect,
    no_index,
)
from assistant.indexing.index import index_location
from assistant.indexing.records import (
    chunk_metadata,
    committed_doc,
    passage_from,
    route_id,
    route_metadata,
)
from assistant.indexing.route_matrix import RouteMatrix
from assistant.models import BriefRecord, Chunk, Passage, SearchFilter

log = logging.getLogger(__name__)

CHUNKS = "brief_chunks"
MANIFEST = "brief_manifest"
ROUTES = "brief_routes"  # multilingual vectors of briefs (see `route`), for questions across languages
_GENERATION_ID = "~generation"
_MANIFEST_VECTOR = [1.0]  # manifest records are looked up by id, never by vector
_REFRESH_S = 1.0  # how stale another writer's commit may look to a reader (one manifest read a second)
_FETCH_BRIEFS = 64  # briefs whose chunks are read in one request
_SPARE = 8  # extra nearest chunks asked for, in place of chunks of interrupted writes


class Store:
    """The `chroma` VectorIndex: chunks and manifest of one index, embedded (a folder) or on a Chroma
    server (see `indexing/index.py` for the rule every backend keeps)."""

    def __init__(self, settings: Settings, *, model_name: str, dimension: int, create: bool) -> None:
        self.location = index_location(settings)
        # Several indexes can share one Chroma server, each under its own namespace.
        prefix = f"{settings.namespace}-" if settings.namespace else ""
        self._names = {"chunks": prefix + CHUNKS, "manifest": prefix + MANIFEST, "routes": prefix + ROUTES}
        self.model_name = model_name
        self.dimension = dimension
        self._client, self._explain = connect(settings, self.location, create=create)
        self._chunks, self._manifest = self._open_collections(create)
        self._routes: Any = None
        self._matrix: tuple[str | None, RouteMatrix] | None = None  # (generation, committed route rows)
        self._matrix_lock = threading.Lock()
        self._doc_language: dict[str, str] = {}
        self._languages: set[str] = set()
        self._committed: dict[str, str] = {}
        self._size = 0
        self._stray = 0  # chunks not of a committed version (an interrupted write's), to ask past
        self._generation: str | None = None
        self._checked_at = 0.0
        self._batch = max(1, min(1000, int(self._client.get_max_batch_size())))

    # -- opening -----------------------------------------------------------------------------------
    def _collection_names(self) -> set[str]:
        return {c if isinstance(c, str) else c.name for c in self._client.list_collections()}

    def _open_collections(self, create: bool) -> tuple[Any, Any]:
        if self._names["chunks"] not in self._collection_names():
            if not create:
                raise no_index(self.location)
            meta = {
                "embedding_model": self.model_name,
                "embedding_dim": self.dimension,
                "layout": LAYOUT_VERSION,
            }
            chunks = self._client.create_collection(
                self._names["chunks"],
                embedding_function=None,
                metadata=meta,
                configuration={"hnsw": {"space": "cosine"}},
            )
        else:
            chunks = self._client.get_collection(self._names["chunks"], embedding_function=None)
            check_layout(chunks.metadata or {}, self.location, self.model_name, self.dimension)
        manifest = self._client.get_or_create_collection(self._names["manifest"], embedding_function=None)
        return Guarded(chunks, self._explain), Guarded(manifest, self._explain)

    def reset(self) -> None:
        """Delete everything in this index (used by `ingest --rebuild`)."""
        for name in self._names.values():
            try:
                self._client.delete_collection(name)
            except Exception as exc:  # noqa: BLE001 - chromadb raises different types per backend
                log.debug("delete_collection %s: %s", name, exc)
        self._chunks, self._manifest = self._open_collections(create=True)
        self._routes, self._matrix = None, None
        self._committed, self._generation = {}, None

    # -- manifest ----------------------------------------------------------------------------------
    def records(self) -> dict[str, BriefRecord]:
        """Every brief's manifest record, keyed by doc id."""
        out: dict[str, BriefRecord] = {}
        offset = 0
        while True:
            got = self._manifest.get(include=["documents"], limit=self._batch, offset=offset)
            for rid, doc in zip(got["ids"], got["documents"] or [], strict=False):
                if rid != _GENERATION_ID and doc:
                    out[rid] = _record_from(doc)
            if len(got["ids"]) < self._batch:
                return out
            offset += self._batch

    def record(self, doc_id: str) -> BriefRecord | None:
        """One brief's manifest record."""
        if doc_id == _GENERATION_ID:
            return None
        got = self._manifest.get(ids=[doc_id], include=["documents"])
        docs = got["documents"] or []
        return _record_from(docs[0]) if docs and docs[0] else None

    def mark_pending(self, records: Sequence[BriefRecord]) -> None:
        """Record writes about to happen (each record's `pending` holds the new content hash)."""
        self._put_records(records)

    def commit(self, records: Sequence[BriefRecord]) -> None:
        """The briefs' chunks are all written: make them the ones search returns."""
        self._put_records(records)
        self._bump_generation()

    def _put_records(self, records: Sequence[BriefRecord]) -> None:
        for i in range(0, len(records), self._batch):
            part = records[i : i + self._batch]
            self._manifest.upsert(
                ids=[r.doc_id for r in part],
                embeddings=[_MANIFEST_VECTOR] * len(part),
                documents=[json.dumps(asdict(r), ensure_ascii=False) for r in part],
                metadatas=[{"path": r.path, "sha256": r.sha256, "pending": r.pending} for r in part],
            )

    def _bump_generation(self) -> None:
        stamp = f"{time.time_ns()}"
        self._manifest.upsert(ids=[_GENERATION_ID], embeddings=[_MANIFEST_VECTOR], documents=[stamp])
        self._generation = None  # a writer sees its own writes at once (others within `_REFRESH_S`)

    def generation(self) -> str:
        got = self._manifest.get(ids=[_GENERATION_ID], include=["documents"])
        docs = got["documents"] or []
        return str(docs[0]) if docs else ""

    # -- chunks ------------------------------------------------------------------------------------
    def write_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray[Any, Any]) -> None:
        for i in range(0, len(chunks), self._batch):
            part = chunks[i : i + self._batch]
            self._chunks.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[i : i + self._batch],
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c) for c in part],
            )

    def drop_version(self, doc_id: str, content_hash: str) -> None:
        """Delete the chunks (and route) of one version of a brief, as when rolling a write back."""
        where = {"$and": [{"doc_id": doc_id}, {"brief_hash": content_hash}]}
        self._chunks.delete(where=where)
        if self._route_collection(create=False) is not None:
            self._routes.delete(where=where)

    def drop_other_versions(self, doc_id: str, keep_hash: str) -> None:
        where = {"$and": [{"doc_id": doc_id}, {"brief_hash": {"$ne": keep_hash}}]}
        self._chunks.delete(where=where)
        if self._route_collection(create=False) is not None:
            self._routes.delete(where=where)

    def drop_stale_parts(self, doc_id: str, content_hash: str, keep: set[str]) -> None:
        """Delete the rows of one version of a brief that are not in `keep`: what a brief read again
        with a new chunker (same content, same ids) no longer writes: fewer chunks, or fewer routes."""
        where = {"$and": [{"doc_id": doc_id}, {"brief_hash": content_hash}]}
        collections = [self._chunks]
        if self._route_collection(create=False) is not None:
            collections.append(self._routes)
        for collection in collections:
            stale = [rid for rid in collection.get(where=where, include=[])["ids"] if rid not in keep]
            if stale:
                collection.delete(ids=stale)

    # -- routes: multilingual vectors of briefs (openings, and passages of briefs not in English) ---
    def _route_collection(self, *, create: bool, model: str = "", dimension: int = 0) -> Any:
        if self._routes is None:
            if self._names["routes"] in self._collection_names():
                self._routes = Guarded(
                    self._client.get_collection(self._names["routes"], embedding_function=None), self._explain
                )
            elif create:
                self._routes = Guarded(
                    self._client.create_collection(
                        self._names["routes"],
                        embedding_function=None,
                        configuration={"hnsw": {"space": "cosine"}},
                        metadata={
                            "embedding_model": model,
                            "embedding_dim": dimension,
                            "layout": LAYOUT_VERSION,
                        },
                    ),
                    self._explain,
                )
        return self._routes

    def route_model(self) -> str | None:
        collection = self._route_collection(create=False)
        return None if collection is None else str((collection.metadata or {}).get("embedding_model"))

    def write_routes(
        self,
        records: Sequence[BriefRecord],
        texts: Sequence[str],
        vectors: np.ndarray[Any, Any],
        model: str,
        parts: Sequence[int] | None = None,
    ) -> None:
        parts = list(parts) if parts is not None else [0] * len(records)
        collection = self._route_collection(create=True, model=model, dimension=int(vectors.shape[1]))
        if (collection.metadata or {}).get("embedding_model") != model:
            raise EmbeddingMismatchError(
                f"the brief routes at {self.location} were built with "
                f"{collection.metadata.get('embedding_model')}",
                hint="rebuild the index: assistant ingest --rebuild corpus/",
            )
        for i in range(0, len(records), self._batch):
            part = records[i : i + self._batch]
            collection.upsert(
                ids=[route_id(r, n) for r, n in zip(part, parts[i : i + self._batch], strict=True)],
                embeddings=vectors[i : i + self._batch],
                documents=list(texts[i : i + self._batch]),
                metadatas=[
                    route_metadata(r, n) for r, n in zip(part, parts[i : i + self._batch], strict=True)
                ],
            )

    def _route_rows(self) -> RouteMatrix | None:
        """The committed briefs' route rows in memory (`route_matrix.py`), read again when the manifest's
        generation changes. Rows are read a group of briefs at a time, so that a writer deleting an
        older version meanwhile cannot shift a page and hide rows."""
        collection = self._route_collection(create=False)
        committed = self.committed()
        if collection is None or not committed:
            return None
        generation = self._generation
        with self._matrix_lock:
            if self._matrix is None or self._matrix[0] != generation:
                ids: list[str] = []
                vectors: list[Any] = []
                metas: list[dict[str, Any]] = []
                docs = sorted(committed)
                for i in range(0, len(docs), _FETCH_BRIEFS):
                    got = collection.get(
                        where={"doc_id": {"$in": docs[i : i + _FETCH_BRIEFS]}},
                        include=["embeddings", "metadatas"],
                    )
                    for rid, vector, meta in zip(
                        got["ids"], got["embeddings"], got["metadatas"], strict=True
                    ):
                        if committed_doc(rid, committed):
                            ids.append(rid)
                            vectors.append(vector)
                            metas.append(meta)
                self._matrix = (generation, RouteMatrix(ids, np.asarray(vectors, dtype=np.float32), metas))
            return self._matrix[1]

    def route(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> list[tuple[str, float]]:
        """Briefs (doc ids) nearest to a multilingual query vector, by cosine similarity with the
        same-language bonus taken off (`records.SAME_LANGUAGE_OFFSET`)."""
        rows = self._route_rows()
        return [] if rows is None else rows.route(vector, n, flt, language=language)

    def nearest_passages(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> list[tuple[str, float]]:
        """Chunk ids and multilingual cosine similarities of the `n` passages nearest to a query vector
        of the route model (the route parts i >= 1, `ingest.route_parts`) among the briefs in
        `language`, then the `n` nearest among the other briefs: up to 2n, each side best first."""
        rows = self._route_rows()
        return [] if rows is None else rows.nearest_passages(vector, n, flt, language=language)

    def languages(self) -> set[str]:
        """Languages of the committed briefs."""
        self.committed()
        return self._languages

    def language_of(self, doc_id: str) -> str:
        """A committed brief's language ("en" when unknown)."""
        self.committed()
        return self._doc_language.get(doc_id, "en")

    def remove(self, doc_id: str) -> None:
        """Remove a brief: its chunks first, then its manifest record."""
        self._chunks.delete(where={"doc_id": doc_id})
        if self._route_collection(create=False) is not None:
            self._routes.delete(where={"doc_id": doc_id})
        self._manifest.delete(ids=[doc_id])
        self._bump_generation()

    def count(self) -> int:
        return int(self._chunks.count())

    def chunk_ids(self, doc_id: str) -> list[str]:
        return list(self._chunks.get(where={"doc_id": doc_id}, include=[])["ids"])

    def iter_chunks(self, doc_ids: Iterable[str]) -> Iterable[Passage]:
        """The committed chunks of the given briefs (text and metadata), for building other indexes."""
        for _, chunks in self.chunks_of(doc_ids):
            yield from chunks

    def chunks_of(self, doc_ids: Iterable[str]) -> Iterator[tuple[str, list[Passage]]]:
        """Each brief with its committed chunks in the order they were written (none: an empty list).

        Briefs are fetched `_FETCH_BRIEFS` at a time: through a Chroma server each fetch is a request.
        """
        committed = self.committed()
        ids = list(doc_ids)
        for i in range(0, len(ids), _FETCH_BRIEFS):
            group = ids[i : i + _FETCH_BRIEFS]
            got = self._chunks.get(where={"doc_id": {"$in": group}}, include=["documents", "metadatas"])
            found: dict[str, list[Passage]] = {doc_id: [] for doc_id in group}
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                doc_id = str(meta["doc_id"])
                if meta.get("brief_hash") == committed.get(doc_id, ""):
                    found[doc_id].append(passage_from(cid, doc, meta))
            yield from found.items()

    def get_passages(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        if not chunk_ids:
            return {}
        got = self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return {
            cid: passage_from(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    # -- search ------------------------------------------------------------------------------------
    def committed(self) -> dict[str, str]:
        """doc_id -> committed content hash, re-read when another writer has changed the manifest."""
        now = time.monotonic()
        if self._generation is None or now - self._checked_at > _REFRESH_S:
            generation = self.generation()
            if generation != self._generation:
                records = self.records().values()
                self._committed = {r.doc_id: r.sha256 for r in records if r.sha256}
                self._doc_language = {r.doc_id: r.language for r in records if r.sha256}
                self._languages = set(self._doc_language.values())  # asked on every search
                self._size = self.count()
                self._stray = max(0, self._size - sum(r.chunks for r in records if r.sha256))
                self._generation = generation
            self._checked_at = now
        return self._committed

    def invalidate(self) -> None:
        self._generation = None

    def current_generation(self) -> str:
        """The manifest's generation as last seen (re-read at most once a second)."""
        self.committed()
        return self._generation or ""

    def nearest(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None
    ) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the `n` nearest committed chunks.

        Only ids and distances come back from the vector index (texts are fetched later for the few
        passages shown): a chunk id carries its brief's id and content hash, which is enough to skip
        chunks of an interrupted write.
        """
        committed = self.committed()
        if not self._size:
            return []
        got = self._chunks.query(
            query_embeddings=[vector],
            n_results=min(self._size, n + self._stray + _SPARE),
            where=chroma_where(flt),
            include=["distances"],
        )
        out = []
        for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True):
            if committed_doc(cid, committed):
                out.append((cid, 1.0 - float(dist)))
        return out[:n]

    def only_committed(self, hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """The hits of another index (chunk id, score) whose chunk is of its brief's committed version."""
        committed = self.committed()
        return [(cid, score) for cid, score in hits if committed_doc(cid, committed)]


def _record_from(document: str) -> BriefRecord:
    """A manifest record read back from its JSON document (JSON has lists where the record has tuples)."""
    fields = json.loads(document)
    fields["sketch"] = tuple(fields.get("sketch", ()))
    return BriefRecord(**fields)
