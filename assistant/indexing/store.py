"""The vector store: the only module that imports chromadb.

Two collections: `brief_chunks` (one record per chunk: vector, text, citation metadata) and
`brief_manifest` (one record per brief: what was indexed from which file, with its content hash).
Writing one brief is: manifest marked pending -> chunks upserted (ids are deterministic) -> chunks of
older versions deleted -> manifest committed. Search only returns chunks whose hash is the committed
one, so an interrupted write is invisible until the next ingest rolls it forward. The manifest lives
in Chroma itself, so the same logic holds for an embedded folder and for a Chroma server.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.config import Settings
from assistant.errors import EmbeddingMismatchError, StoreError, storage_failure
from assistant.models import BriefRecord, Chunk, Passage, SearchFilter
from assistant.reading.metadata import date_key, volume_key

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
CHUNKS = "brief_chunks"
MANIFEST = "brief_manifest"
ROUTES = "brief_routes"  # one multilingual vector per brief, for questions across languages
_GENERATION_ID = "~generation"
_MANIFEST_VECTOR = [1.0]  # manifest records are looked up by id, never by vector
_REFRESH_S = 1.0
_FETCH_BRIEFS = 64  # briefs whose chunks are read in one request
SAME_LANGUAGE_OFFSET = 0.04  # multilingual-e5-small's bonus for a shared language; see `route`


def store_location(settings: Settings) -> str:
    where = settings.chroma_url or str(settings.store_dir.resolve())
    return f"{where} (namespace {settings.namespace})" if settings.namespace else where


class Store:
    """Chunks and manifest of one index, embedded (a folder) or on a Chroma server."""

    def __init__(self, settings: Settings, *, model_name: str, dimension: int, create: bool) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.location = store_location(settings)
        # Several indexes can share one Chroma server, each under its own namespace.
        prefix = f"{settings.namespace}-" if settings.namespace else ""
        self._names = {"chunks": prefix + CHUNKS, "manifest": prefix + MANIFEST, "routes": prefix + ROUTES}
        self.model_name = model_name
        self.dimension = dimension
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        folder = None if settings.chroma_url else settings.store_dir / "chroma"
        self._explain = _Explainer(self.location, folder, settings.chroma_url)
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                headers = {}
                if settings.chroma_token:
                    headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    headers=headers,
                    settings=chroma_settings,
                )
            else:
                assert folder is not None
                if not create and not folder.exists():
                    raise StoreError(
                        f"there is no index in {settings.store_dir}",
                        hint="build it first: assistant ingest corpus/ (or make run)",
                    )
                client = chromadb.PersistentClient(path=str(folder), settings=chroma_settings)
        except StoreError:
            raise
        except Exception as exc:
            raise self._explain(exc) from exc
        self._client: Any = _Guarded(client, self._explain)
        self._chunks, self._manifest = self._open_collections(create)
        self._routes: Any = None
        self._doc_language: dict[str, str] = {}
        self._languages: set[str] = set()
        self._committed: dict[str, str] = {}
        self._size = 0
        self._generation: str | None = None
        self._checked_at = 0.0
        self._batch = max(1, min(1000, int(self._client.get_max_batch_size())))

    # -- opening -----------------------------------------------------------------------------------
    def _collection_names(self) -> set[str]:
        return {c if isinstance(c, str) else c.name for c in self._client.list_collections()}

    def _open_collections(self, create: bool) -> tuple[Any, Any]:
        if self._names["chunks"] not in self._collection_names():
            if not create:
                raise StoreError(
                    f"the index at {self.location} is empty",
                    hint="build it first: assistant ingest corpus/ (or make run)",
                )
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
            self._check_model(chunks.metadata or {})
        manifest = self._client.get_or_create_collection(self._names["manifest"], embedding_function=None)
        return _Guarded(chunks, self._explain), _Guarded(manifest, self._explain)

    def _check_model(self, meta: dict[str, Any]) -> None:
        layout = meta.get("layout")
        if layout != LAYOUT_VERSION:
            raise EmbeddingMismatchError(
                f"the index at {self.location} has layout {layout}; "
                f"this version reads layout {LAYOUT_VERSION}",
                hint="rebuild it: assistant ingest --rebuild corpus/",
            )
        model, dim = meta.get("embedding_model"), meta.get("embedding_dim")
        if model != self.model_name or dim != self.dimension:
            raise EmbeddingMismatchError(
                f"the index at {self.location} was built with {model} ({dim} dimensions); "
                f"the configured model is {self.model_name} ({self.dimension} dimensions)",
                hint=(
                    "re-index with the configured model: assistant ingest --rebuild corpus/ "
                    "(or set ASSISTANT_EMBEDDING_MODEL back to the model that built it)"
                ),
            )

    def reset(self) -> None:
        """Delete everything in this index (used by `ingest --rebuild`)."""
        for name in self._names.values():
            try:
                self._client.delete_collection(name)
            except Exception as exc:  # noqa: BLE001 - chromadb raises different types per backend
                log.debug("delete_collection %s: %s", name, exc)
        self._chunks, self._manifest = self._open_collections(create=True)
        self._routes = None
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
                    out[rid] = BriefRecord(**json.loads(doc))
            if len(got["ids"]) < self._batch:
                return out
            offset += self._batch

    def record(self, doc_id: str) -> BriefRecord | None:
        """One brief's manifest record."""
        if doc_id == _GENERATION_ID:
            return None
        got = self._manifest.get(ids=[doc_id], include=["documents"])
        docs = got["documents"] or []
        return BriefRecord(**json.loads(docs[0])) if docs and docs[0] else None

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
                metadatas=[_chunk_metadata(c) for c in part],
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

    # -- routes: one multilingual vector per brief -------------------------------------------------
    def _route_collection(self, *, create: bool, model: str = "", dimension: int = 0) -> Any:
        if self._routes is None:
            if self._names["routes"] in self._collection_names():
                self._routes = _Guarded(
                    self._client.get_collection(self._names["routes"], embedding_function=None), self._explain
                )
            elif create:
                self._routes = _Guarded(
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
        self, records: Sequence[BriefRecord], texts: Sequence[str], vectors: np.ndarray[Any, Any], model: str
    ) -> None:
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
                ids=[f"{r.doc_id}:{r.sha256[:12]}:route" for r in part],
                embeddings=vectors[i : i + self._batch],
                documents=list(texts[i : i + self._batch]),
                metadatas=[_route_metadata(r) for r in part],
            )

    def route(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> list[tuple[str, float]]:
        """Briefs (doc ids) nearest to a multilingual query vector, with adjusted cosine similarity.

        multilingual-e5-small rates any brief in the question's own language about 0.04 closer than an
        equally relevant brief in the other language; that offset is taken off, so that a Korean
        question finds the English brief that answers it rather than a Korean brief on another topic
        (measured on tests/data/qa-ko.jsonl with 1,500-character routes: top-1 brief for Korean
        questions about English briefs 6/22 -> 17/22, English questions about Korean briefs 2/10 ->
        10/10, Korean about Korean 12/12; with the 600-character routes now built, the whole pipeline
        ranks the right brief first for 17/22, 7/10 and 12/12).
        """
        collection = self._route_collection(create=False)
        committed = self.committed()
        if collection is None or not committed:
            return []
        got = collection.query(
            query_embeddings=[vector],
            n_results=min(len(committed), n + 5),
            where=chroma_where(flt),
            include=["distances"],
        )
        out = []
        for rid, dist in zip(got["ids"][0], got["distances"][0], strict=True):
            doc_id = _committed_doc(rid, committed)
            if doc_id:
                same = self._doc_language.get(doc_id, "en") == language
                out.append((doc_id, 1.0 - float(dist) - (SAME_LANGUAGE_OFFSET if same else 0.0)))
        return sorted(out, key=lambda item: -item[1])[:n]

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
                    found[doc_id].append(_passage(cid, doc, meta))
            yield from found.items()

    def get_passages(self, chunk_ids: Sequence[str]) -> dict[str, Passage]:
        if not chunk_ids:
            return {}
        got = self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return {
            cid: _passage(cid, doc, meta)
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
            n_results=min(self._size, n + 8),  # a few spare for chunks of interrupted writes
            where=chroma_where(flt),
            include=["distances"],
        )
        out = []
        for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True):
            if _committed_doc(cid, committed):
                out.append((cid, 1.0 - float(dist)))
        return out[:n]

    def only_committed(self, hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """The hits of another index (chunk id, score) whose chunk is of its brief's committed version."""
        committed = self.committed()
        return [(cid, score) for cid, score in hits if _committed_doc(cid, committed)]


class _Explainer:
    """Turns a failure inside chromadb into a StoreError that says what and where."""

    def __init__(self, location: str, folder: Path | None, url: str | None) -> None:
        self.location, self.folder, self.url = location, folder, url

    def __call__(self, exc: BaseException) -> StoreError:
        return storage_failure(
            exc, what=f"the vector store at {self.location}", folder=self.folder, url=self.url
        )


class _Guarded:
    """A chromadb client or collection whose calls raise StoreError instead of the backend's errors."""

    def __init__(self, target: Any, explain: _Explainer) -> None:
        self._target = target
        self._explain_failure = explain

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except StoreError:
                raise
            except Exception as exc:
                raise self._explain_failure(exc) from exc

        return call


def _committed_doc(record_id: str, committed: dict[str, str]) -> str | None:
    """The brief of a chunk or route id (`doc_id:hash:suffix`) when that hash is the committed one."""
    doc_id, digest, _ = record_id.rsplit(":", 2)
    return doc_id if digest and committed.get(doc_id, "")[: len(digest)] == digest else None


def chroma_where(flt: SearchFilter | None) -> dict[str, Any] | None:
    if flt is None or flt.empty:
        return None
    clauses: list[dict[str, Any]] = []
    if flt.doc_ids:
        clauses.append({"doc_id": {"$in": list(flt.doc_ids)}})
    if flt.date_from:
        clauses.append({"date_key": {"$gte": date_key(flt.date_from)}})
    if flt.date_to:
        clauses.append({"date_key": {"$lte": date_key(flt.date_to)}})
    if flt.volume_min is not None:
        clauses.append({"volume_num": {"$gte": flt.volume_min}})
    if flt.volume_max is not None:
        clauses.append({"volume_num": {"$lte": flt.volume_max}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _route_metadata(record: BriefRecord) -> dict[str, str | int]:
    return {
        "doc_id": record.doc_id,
        "brief_hash": record.sha256,
        "date_key": date_key(record.date),
        "volume_num": volume_key(record.volume),
        "language": record.language,
    }


def _chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "doc_id": chunk.doc_id,
        "volume": chunk.volume or "",
        "volume_num": volume_key(chunk.volume),
        "title": chunk.title,
        "date": chunk.date or "",
        "date_key": date_key(chunk.date),
        "section": chunk.section,
        "source": chunk.source,
        "page": chunk.page if chunk.page is not None else -1,
        "start": chunk.start,
        "end": chunk.end,
        "index": chunk.index,
        "language": chunk.language,
        "brief_hash": chunk.brief_hash,
        "authors": chunk.authors or "",
    }


def _passage(chunk_id: str, text: str, meta: dict[str, Any]) -> Passage:
    """A stored chunk as a Passage; its score is set by whoever ranks it (retrieval)."""
    page = int(meta.get("page", -1))
    return Passage(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        volume=str(meta["volume"]) or None,
        title=str(meta["title"]),
        date=str(meta["date"]) or None,
        section=str(meta["section"]),
        source=str(meta["source"]),
        page=page if page >= 0 else None,
        text=text,
        score=0.0,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        language=str(meta.get("language", "en")),
        authors=str(meta.get("authors") or "") or None,
    )
