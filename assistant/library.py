"""The opened index: embedding model, vector store, keyword index and retriever, under one lock.

The CLI, the web app and the evaluation harness all open the index through `Library.open`, so the
model loads once per process and every caller gets the same checks (model mismatch, busy store).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from assistant.answering.generation import Condenser, Generator, make_generator
from assistant.answering.judge import Judge
from assistant.answering.policy import load_policy, policy_digest
from assistant.answering.probe import probe_digest
from assistant.answering.qa import Assistant
from assistant.answering.questions import require_text
from assistant.answering.reader import make_reader
from assistant.config import Settings
from assistant.errors import StoreError
from assistant.indexing.embeddings import Embedder, make_embeddings, make_router, make_scorer
from assistant.indexing.index import KeywordSearch, VectorIndex, index_backend, index_location
from assistant.indexing.ingest import ingest
from assistant.indexing.keyword import KeywordIndex
from assistant.indexing.locking import StoreLock
from assistant.indexing.recovery import finish_pending
from assistant.indexing.report import IngestReport, Progress
from assistant.models import BriefRecord, Passage, SearchFilter
from assistant.retrieval import glossary
from assistant.retrieval.search import Retriever, Timings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stats:
    location: str
    embedding_model: str
    dimension: int
    briefs: int
    chunks: int
    keyword_chunks: int
    disk_bytes: int | None
    records: tuple[BriefRecord, ...]  # every record, pending ones included (see BriefRecord.state)

    @property
    def pending(self) -> tuple[BriefRecord, ...]:
        """Briefs whose write is unfinished: nothing of them is searchable yet."""
        return tuple(r for r in self.records if r.state == "pending")

    def to_dict(self) -> dict[str, object]:
        return {
            "location": self.location,
            "embedding_model": self.embedding_model,
            "dimension": self.dimension,
            "briefs": self.briefs,
            "chunks": self.chunks,
            "keyword_chunks": self.keyword_chunks,
            "disk_bytes": self.disk_bytes,
            "pending": [r.doc_id for r in self.records if r.pending],
            "records": [r.to_dict() for r in self.records],
        }


class Library:
    """An open index. Use `Library.open(settings, write=...)` as a context manager."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: VectorIndex,
        keyword: KeywordSearch,
        lock: StoreLock | None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.scorer = make_scorer(settings, embedder)
        self.router = make_router(settings, embedder)
        self.store = store
        self.keyword = keyword
        self._lock = lock
        # One write at a time within this process (the app's users); re-entrant, so that a caller
        # holding it (an upload that said "queued" while it waited) can call `ingest`.
        self._writing = threading.RLock()
        self._judge: Judge | None = None
        self.retriever = Retriever(
            store,
            embedder,
            keyword,
            candidates=settings.candidates,
            rrf_k=settings.rrf_k,
            keyword_weight=settings.keyword_weight,
            router=self.router,
            glossary=glossary.bundled if settings.glossary else None,
        )

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        write: bool = False,
        purpose: str = "assistant",
        embedder: Embedder | None = None,
    ) -> Library:
        """Open (and with `write`, create) the index the settings point at."""
        lock = None
        backend = index_backend(settings)
        if backend.local_folder:
            if not write and not (settings.store_dir / "chroma").is_dir():
                raise StoreError(
                    f"there is no index in {settings.store_dir}",
                    hint="build it first: assistant ingest corpus/ (or make run)",
                )
            lock = StoreLock(
                settings.store_dir, exclusive=write, timeout_s=settings.lock_timeout_s, purpose=purpose
            ).acquire()
        try:
            embedder = embedder or make_embeddings(settings)
            store = backend.open(settings, embedder.name, embedder.dimension, write)
            keyword = open_keyword_index(_keyword_path(settings), store)
        except BaseException:
            if lock:
                lock.release()
            raise
        return cls(settings, embedder, store, keyword, lock)

    def close(self) -> None:
        self.keyword.close()
        if self._lock:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def assistant(self, generator: Generator | None = None, *, top_k: int | None = None) -> Assistant:
        """An assistant over this index with the configured (or given) generator."""
        generator = generator or make_generator(self.settings)
        condenser = generator if isinstance(generator, Condenser) else None  # a capability, not a class
        return Assistant(
            self.retriever,
            top_k=top_k or self.settings.top_k,
            embedder=self.scorer,
            idf=self.keyword.idf,
            generator=generator,
            condenser=condenser,
            judge=self.judge(),
            # With the multilingual model as the index model, every question is weighed as multilingual.
            multilingual=self.router or (self.scorer if self.scorer.multilingual else None),
            max_question_chars=self.settings.max_question_chars,
            history_turns=self.settings.history_turns,
            translate=self.settings.translate_questions,
            rewrite_follow_ups=self.settings.rewrite_follow_ups,
            split_questions=self.settings.split_questions,
            render=self.settings.render_across_languages,
        )

    def judge(self) -> Judge:
        """The judge of this index: the configured reader (loaded once per process) and the fitted policy."""
        if self._judge is None:
            self._judge = Judge(load_policy(), self.keyword.idf, make_reader(self.settings))
        return self._judge

    def warm_up(self, *, korean: bool = True, reader: bool = True) -> None:
        """Load everything a first question would otherwise wait for: the embedding models, the reader's
        model (with `reader`) and the Korean tokenizer (with `korean`: about 4 s, and it holds the
        interpreter while it loads)."""
        self.retriever.search("warm-up 준비" if korean else "warm-up", 1)
        self.scorer.embed_sentences(["warm-up"])
        if reader:
            self.judge().warm_up()  # loads the reader's model

    def finish_pending(self) -> list[str]:
        """Roll writes an earlier process left unfinished forward or back (see `recovery.finish_pending`)."""
        with self._writing:
            return self._finish_pending()

    def _finish_pending(self) -> list[str]:
        if self._lock is None:
            # On a Chroma server other replicas may be writing right now: a pending record there is
            # finished by the ingest that names its file again, never guessed at from here.
            return []
        return finish_pending(
            settings=self.settings,
            store=self.store,
            embedder=self.embedder,
            keyword=self.keyword,
            router=self.router,
        )

    def claim_writes(self, *, blocking: bool = True) -> bool:
        """Take this process's write turn (False when `blocking` is off and another write runs).
        Release it with `release_writes` in the same thread."""
        return self._writing.acquire(blocking=blocking)

    def release_writes(self) -> None:
        self._writing.release()

    def ingest(
        self,
        paths: list[Path],
        *,
        progress: Progress | None = None,
        rebuild: bool = False,
        allow_near_duplicates: bool = False,
    ) -> IngestReport:
        with self._writing:
            finished = [] if rebuild else self._finish_pending()
            report = ingest(
                paths,
                settings=self.settings,
                store=self.store,
                embedder=self.embedder,
                keyword=self.keyword,
                router=self.router,
                progress=progress,
                rebuild=rebuild,
                allow_near_duplicates=allow_near_duplicates,
            )
            report.warnings[:0] = finished
            return report

    def search(
        self,
        query: str,
        k: int | None = None,
        flt: SearchFilter | None = None,
        timings: Timings | None = None,
    ) -> list[Passage]:
        require_text(query, "query")
        k = k or self.settings.top_k
        return self.retriever.search(query, k, flt, timings)[:k]

    def records(self) -> dict[str, BriefRecord]:
        return self.store.records()

    def remove(self, doc_id: str) -> BriefRecord | None:
        with self._writing:
            self._finish_pending()
            record = self.store.record(doc_id)
            if record is not None:
                self.store.remove(doc_id)
                self.keyword.sync(self.store, fresh=True)
            return record

    def surroundings(
        self, passage: Passage, around: int = 1
    ) -> tuple[tuple[Passage, ...], tuple[Passage, ...]]:
        """The passages before and after one in its brief: its neighbours, or for a PDF the rest of
        its page (up to a few passages each side)."""
        ids = self.keyword.chunk_ids_of([passage.doc_id]).get(passage.doc_id, [])
        if passage.chunk_id not in ids:
            return (), ()
        at = ids.index(passage.chunk_id)
        reach = around if passage.page is None else max(around, _PAGE_REACH)
        window = ids[max(0, at - reach) : at + reach + 1]
        found = self.store.get_passages([cid for cid in window if cid != passage.chunk_id])
        near = [found[cid] for cid in window if cid in found]
        if passage.page is not None:
            near = [p for p in near if p.page == passage.page]
        before = tuple(p for p in near if ids.index(p.chunk_id) < at)
        after = tuple(p for p in near if ids.index(p.chunk_id) > at)
        return before, after

    def content_hash(self) -> str:
        """A fingerprint of what the index holds: every committed brief and the hash of its content."""
        committed = sorted(self.store.committed().items())
        return hashlib.sha256(json.dumps(committed).encode()).hexdigest()[:16]

    def describe(self, assistant: Assistant | None = None) -> dict[str, Any]:
        """What answers are produced with, recorded with each evaluation run and each rating so that
        they can be told apart months later: the index (its content hash and size), the models, every
        answer-policy number and the code's version."""
        judge = assistant.judge if assistant is not None else self.judge()
        policy = judge.policy
        return {
            "index": index_location(self.settings),
            "index_hash": self.content_hash(),
            "briefs": len(self.store.committed()),
            "chunks": self.store.count(),
            "embedding_model": self.embedder.name,
            "router": self.router.name if self.router is not None else None,
            "retrieval": self.retriever.mode,
            "generator": assistant.generator.name if assistant is not None else self.settings.generator,
            "reader": judge.reader.name,
            "policy": {
                "fitted": policy.source.get("fitted", "?"),
                "sha256": policy_digest(),
                "screen": policy.screen,
                "threshold": policy.reader_model.threshold,
                "threshold_without_reader": policy.lexical_model.threshold,
                "probe_sha256": probe_digest() if "probes" in policy.asks else None,
                "first_band": list(policy.first.band) if policy.first is not None else None,
            },
            "top_k": assistant.top_k if assistant is not None else self.settings.top_k,
            "code": code_version(),
        }

    def stats(self) -> Stats:
        records = tuple(sorted(self.store.records().values(), key=lambda r: (r.date or "", r.doc_id)))
        return Stats(
            location=index_location(self.settings),
            embedding_model=self.embedder.name,
            dimension=self.embedder.dimension,
            briefs=sum(1 for r in records if r.state != "pending"),
            chunks=self.store.count(),
            keyword_chunks=self.keyword.count(),
            disk_bytes=(
                _folder_size(self.settings.store_dir) if index_backend(self.settings).local_folder else None
            ),
            records=records,
        )


_PAGE_REACH = 4  # passages each side looked at for the rest of a PDF page


def open_keyword_index(path: Path | None, store: VectorIndex) -> KeywordIndex:
    """The keyword index in step with the store (`path` None: in memory). It is derived data: a file
    SQLite cannot read (truncated, overwritten) is set aside and rebuilt from the store's chunks, with
    one log line."""
    keyword: KeywordIndex | None = None
    try:
        keyword = KeywordIndex(path)
        keyword.sync(store, fresh=True)
        return keyword
    except sqlite3.DatabaseError as exc:
        if keyword is not None:
            keyword.close()
        if path is None:
            raise
        log.warning("keyword index %s was unreadable (%s): rebuilt from the vector store", path.name, exc)
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        part.unlink(missing_ok=True)
    keyword = KeywordIndex(path)
    keyword.sync(store, fresh=True)
    return keyword


def _keyword_path(settings: Settings) -> Path | None:
    backend = index_backend(settings)
    if not backend.persistent:
        return None  # as short-lived as its vector index
    if not backend.local_folder:
        # Each replica keeps its own copy, rebuilt from the server's documents and kept in step.
        digest = hashlib.sha1(f"{settings.chroma_url}|{settings.namespace}".encode()).hexdigest()[:12]
        return settings.data_dir / f"keyword-{digest}.sqlite3"
    return settings.store_dir / "keyword.sqlite3"


@functools.cache  # a subprocess: asked once per process, not once per rating or run
def code_version() -> str:
    """The package version, and the git commit when run from a clone (with `+dirty` for local edits)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("krihs-brief-assistant")
    except PackageNotFoundError:
        text = "unknown"
    root = Path(__file__).resolve().parents[1]
    if (root / ".git").exists():
        import subprocess

        try:
            out = subprocess.run(
                ["git", "-C", str(root), "describe", "--always", "--dirty=+dirty"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            )
            text += f" ({out.stdout.strip()})"
        except (OSError, subprocess.SubprocessError):
            pass
    return text


def _folder_size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                continue
    return total
