"""The index seams: what ingestion, retrieval and the library need from a vector index and a keyword
search, and the registry of vector index backends.

A vector index holds three things: chunk records (vector, text, metadata), routes (multilingual
vectors, for questions across languages: one for each brief's opening, and one per passage of a brief
not in English; `route` ranks briefs by their best part) and the manifest (one `BriefRecord` per brief).
Its rule is the same on every backend, and `tests/index_contract.py` checks it on each of them:

- a write is `mark_pending` -> `write_chunks` (+ `write_routes`) -> `drop_other_versions` -> `commit`;
  search returns only chunks and routes of a brief's committed content hash, so an interrupted write
  is invisible until it is rolled forward or back;
- `generation()` changes with every commit and removal (other processes use it to notice writes);
- filters (`SearchFilter`) mean what `records.matches` says.

Backends are entries of `INDEXES`: `chroma` (an embedded folder, or a Chroma server when
`ASSISTANT_CHROMA_URL` is set) and `memory` (this process only: tests, notebooks, short-lived tools).
Adding one is a factory here and a module beside this one; `ASSISTANT_INDEX` picks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.config import Settings
from assistant.errors import registered
from assistant.models import BriefRecord, Chunk, Passage, SearchFilter

Hits = list[tuple[str, float]]  # (chunk id or doc id, similarity), best first


class VectorIndex(Protocol):
    """Chunks, routes and manifest of one index (see the module's docstring for the rule)."""

    location: str  # where it is, for messages
    model_name: str  # the embedding model its chunk vectors are from
    dimension: int

    # manifest
    def records(self) -> dict[str, BriefRecord]: ...
    def record(self, doc_id: str) -> BriefRecord | None: ...
    def mark_pending(self, records: Sequence[BriefRecord]) -> None: ...
    def commit(self, records: Sequence[BriefRecord]) -> None: ...
    def remove(self, doc_id: str) -> None: ...
    def reset(self) -> None: ...
    def generation(self) -> str: ...
    def current_generation(self) -> str: ...
    def committed(self) -> dict[str, str]: ...
    def invalidate(self) -> None: ...

    # chunks
    def write_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray[Any, Any]) -> None: ...
    def drop_version(self, doc_id: str, content_hash: str) -> None: ...
    def drop_other_versions(self, doc_id: str, keep_hash: str) -> None: ...
    def drop_stale_parts(self, doc_id: str, content_hash: str, keep: set[str]) -> None: ...
    def count(self) -> int: ...
    def chunk_ids(self, doc_id: str) -> list[str]: ...
    def iter_chunks(self, doc_ids: Iterable[str]) -> Iterable[Passage]: ...
    def chunks_of(self, doc_ids: Iterable[str]) -> Iterator[tuple[str, list[Passage]]]: ...
    def get_passages(self, chunk_ids: Sequence[str]) -> dict[str, Passage]: ...
    def nearest(self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None) -> Hits: ...
    def only_committed(self, hits: Hits) -> Hits: ...

    # routes
    def route_model(self) -> str | None: ...
    def write_routes(
        self,
        records: Sequence[BriefRecord],
        texts: Sequence[str],
        vectors: np.ndarray[Any, Any],
        model: str,
        parts: Sequence[int] | None = None,
    ) -> None: ...
    def route(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> Hits: ...
    def nearest_passages(
        self, vector: np.ndarray[Any, Any], n: int, flt: SearchFilter | None = None, *, language: str = "en"
    ) -> Hits: ...
    def languages(self) -> set[str]: ...
    def language_of(self, doc_id: str) -> str: ...


class Indexable(Protocol):
    """What the keyword index reads of a chunk (a `Chunk` or a stored `Passage`)."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def date(self) -> str | None: ...
    @property
    def volume(self) -> str | None: ...


class KeywordSearch(Protocol):
    """Keyword (BM25) search kept in step with a vector index; derived data, rebuilt from it."""

    def sync(self, store: VectorIndex, *, fresh: bool = False) -> int: ...
    def add(self, briefs: list[tuple[str, str, Sequence[Indexable]]]) -> None: ...
    def search(self, query: str, n: int, flt: SearchFilter | None = None) -> Hits: ...
    def idf(self, tokens: list[str]) -> dict[str, float]: ...
    def shares(self, tokens: list[str]) -> dict[str, float]: ...
    def chunk_ids_of(self, doc_ids: list[str]) -> dict[str, list[str]]: ...
    def count(self) -> int: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class IndexBackend:
    """A registered vector index backend and what it can do."""

    open: Callable[[Settings, str, int, bool], VectorIndex]  # (settings, model, dimension, create)
    persistent: bool  # survives the process
    local_folder: bool  # lives in `store_dir`: one writer at a time, taken by the process lock


def _chroma(settings: Settings, model_name: str, dimension: int, create: bool) -> VectorIndex:
    from assistant.indexing.store import Store

    return Store(settings, model_name=model_name, dimension=dimension, create=create)


def _memory(settings: Settings, model_name: str, dimension: int, create: bool) -> VectorIndex:
    from assistant.indexing.memory import shared_memory_index

    return shared_memory_index(settings, model_name=model_name, dimension=dimension, create=create)


INDEXES: dict[str, IndexBackend] = {
    "chroma": IndexBackend(_chroma, persistent=True, local_folder=True),
    "memory": IndexBackend(_memory, persistent=False, local_folder=False),
}


def index_backend(settings: Settings) -> IndexBackend:
    """The backend the settings name; a Chroma server URL makes `chroma` a shared, remote index."""
    backend = registered(INDEXES, settings.index, setting="ASSISTANT_INDEX", what="index backend")
    if settings.chroma_url and settings.index == "chroma":
        return IndexBackend(backend.open, persistent=True, local_folder=False)
    return backend


def index_location(settings: Settings) -> str:
    if settings.index == "memory":
        where = "memory (this process)"
    else:
        where = settings.chroma_url or str(settings.store_dir.resolve())
    return f"{where} (namespace {settings.namespace})" if settings.namespace else where
