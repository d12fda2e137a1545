"""Incremental ingestion: files -> briefs -> chunks -> vectors -> store, with per-file errors.

A brief whose bytes (and chunking settings) are unchanged is skipped before parsing, so re-running
ingest on an unchanged corpus computes no embeddings. A changed brief replaces its old chunks; a
brief whose file is gone from an ingested folder is removed. One bad file never stops the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assistant import failpoints
from assistant.config import Settings
from assistant.errors import BriefReadError
from assistant.indexing.chunking import chunk_brief, chunker_signature, embedding_text
from assistant.indexing.discovery import discover, under
from assistant.indexing.embeddings import Embedder
from assistant.indexing.index import KeywordSearch, VectorIndex
from assistant.indexing.records import route_id
from assistant.indexing.report import IngestReport, Outcome, Progress
from assistant.indexing.sketch import Sketch, SketchIndex
from assistant.models import Brief, BriefRecord, Chunk
from assistant.reading import load_bytes, parse_brief
from assistant.reading.metadata import word_count

log = logging.getLogger(__name__)

_EMBED_GROUP = 256  # chunks embedded together, across briefs, so batches stay full
ROUTE_CHARS = 600  # characters of a brief that its multilingual route embeds (see `route_text`)
ROUTE_MIN_WORDS = 3  # words (two letters or more, any script) a passage needs for a route part of its own


@dataclass
class _Pending:
    record: BriefRecord
    chunks: list[Chunk]
    outcome: Outcome
    replaces: str | None  # an older doc id this file was indexed under


def ingest(
    paths: Iterable[Path],
    *,
    settings: Settings,
    store: VectorIndex,
    embedder: Embedder,
    keyword: KeywordSearch | None = None,
    router: Embedder | None = None,
    progress: Progress | None = None,
    rebuild: bool = False,
    allow_near_duplicates: bool = False,
) -> IngestReport:
    """Bring the index in line with the given files and folders; see the module docstring.

    A new brief that mostly repeats an indexed one (`settings.near_duplicate` of its text) is held
    back, not indexed, unless `allow_near_duplicates`; a brief over the page or passage limit fails.
    """
    started = time.perf_counter()
    files, roots, bad = discover(paths)
    if rebuild:
        store.reset()
    run = _Run(settings, store, embedder, keyword, router, IngestReport(outcomes=list(bad)))
    for done, path in enumerate(files):
        if progress:
            progress(done, len(files), path.name)
        run.add(path, allow_near_duplicates=allow_near_duplicates)
    run.flush()
    if progress:
        progress(len(files), len(files), "")
    run.remove_missing(roots)
    if keyword is not None:
        keyword.sync(store, fresh=True)
    # From the manifest: counting the vector collection costs more than a re-ingest of unchanged files.
    run.report.total_chunks = sum(r.chunks for r in run.records.values())
    run.report.seconds = time.perf_counter() - started
    return run.report


@dataclass(frozen=True)
class _Read:
    brief: Brief
    size: int
    digest: str
    chunks: list[Chunk]
    old: BriefRecord | None  # what this file was indexed as before


class _Run:
    """One ingest: what the index holds, what this run has queued, and the batch waiting to be written."""

    def __init__(
        self,
        settings: Settings,
        store: VectorIndex,
        embedder: Embedder,
        keyword: KeywordSearch | None,
        router: Embedder | None,
        report: IngestReport,
    ) -> None:
        self.settings, self.store, self.embedder = settings, store, embedder
        self.keyword, self.router, self.report = keyword, router, report
        self.signature = chunker_signature(settings.chunk_tokens, embedder.name)
        if router is not None:
            self.signature += f":routes={router.name}+worded-passages"  # `route_parts`
        self.records = store.records()
        self.by_path = {r.path: r for r in self.records.values()}
        self.by_hash = {r.sha256: r for r in self.records.values() if r.sha256 and os.path.exists(r.path)}
        self.claimed: dict[str, str] = {r.doc_id: r.path for r in self.records.values()}
        self.queued: dict[str, BriefRecord] = {}  # records of this run not yet written
        self.sketches = SketchIndex()  # briefs indexed before sketches were kept have none
        for r in self.records.values():
            if r.sketch and r.sha256:
                self.sketches.add(r.doc_id, Sketch.load(r.sketch, r.runs))
        self.batch: list[_Pending] = []
        self.batch_chunks = 0  # chunks in `batch`

    def add(self, path: Path, *, allow_near_duplicates: bool) -> None:
        """Read one file and queue it for writing, or record why not (unchanged, held, failed)."""
        abspath = os.path.abspath(path)
        try:
            read = self._read(path, abspath)
        except BriefReadError as exc:
            self.report.outcomes.append(Outcome(abspath, "failed", message=str(exc)))
            log.info("%s", exc)
            return
        if read is None:
            return
        sketch = Sketch.of(read.brief.text)
        new = read.old is None or bool(read.old.pending)
        if not allow_near_duplicates and new and self._held(abspath, sketch, read):
            return
        self._queue(abspath, read, sketch)

    def _read(self, path: Path, abspath: str) -> _Read | None:
        """The file parsed and split, or None when it is unchanged (its outcome then recorded)."""
        data = load_bytes(path, max_bytes=int(self.settings.max_file_mb * 1_000_000))
        digest = hashlib.sha256(data).hexdigest()
        old = self.by_path.get(abspath)
        if old and old.sha256 == digest and old.signature == self.signature and not old.pending:
            self.report.outcomes.append(Outcome(abspath, "unchanged", old.doc_id, old.chunks))
            return None
        twin = self.by_hash.get(digest)
        if old is None and twin is not None and twin.path != abspath:
            # The same bytes under another name: indexed once, not twice.
            message = f"already indexed as {twin.label} ({Path(twin.path).name}), unchanged"
            self.report.outcomes.append(Outcome(abspath, "unchanged", twin.doc_id, twin.chunks, message))
            return None
        brief = parse_brief(data, path, max_pages=self.settings.max_pages)
        chunks = _split(brief, digest, self.settings, self.embedder)
        if len(chunks) > self.settings.max_chunks:
            raise BriefReadError(
                path,
                f"{len(chunks):,} passages is over the limit of {self.settings.max_chunks:,} passages a "
                "brief (a policy brief makes 20 to 150)",
                hint="index the brief itself rather than a collection, or raise ASSISTANT_MAX_CHUNKS",
            )
        return _Read(brief, len(data), digest, chunks, old)

    def _held(self, abspath: str, sketch: Sketch, read: _Read) -> bool:
        """Hold a new brief back when most of its text repeats one indexed (or queued) already."""
        near, share = self.sketches.nearest(sketch, skip=read.old.doc_id if read.old else "")
        twin = self.queued.get(near or "") or self.records.get(near or "")
        if twin is None or share < self.settings.near_duplicate:
            return False
        message = (
            f"held back: {share:.0%} of its text repeats {twin.label} ({Path(twin.path).name}); add it "
            "anyway with --allow-near-duplicates (in the app: tick “Add near-duplicates too” and upload "
            "again)"
        )
        self.report.outcomes.append(Outcome(abspath, "held", twin.doc_id, len(read.chunks), message))
        return True

    def _queue(self, abspath: str, read: _Read, sketch: Sketch) -> None:
        brief, chunks, old = read.brief, read.chunks, read.old
        unique = _unique_id(brief, abspath, self.claimed, self.report.warnings)
        if unique.doc_id != brief.doc_id:  # chunk ids carry the doc id
            chunks = _split(unique, read.digest, self.settings, self.embedder)
        brief = unique
        self.claimed[brief.doc_id] = abspath
        record = _record(brief, abspath, read.digest, len(chunks), read.size, self.signature, sketch)
        self.by_hash[read.digest] = record
        self.queued[record.doc_id] = record
        self.sketches.add(record.doc_id, sketch)
        status = "updated" if old or self.records.get(brief.doc_id) else "added"
        replaces = old.doc_id if old and old.doc_id != brief.doc_id else None
        outcome = Outcome(abspath, status, brief.doc_id, len(chunks))
        self.batch.append(_Pending(record, chunks, outcome, replaces))
        self.batch_chunks += len(chunks)
        if self.batch_chunks >= _EMBED_GROUP:
            self.flush()

    def flush(self) -> None:
        _write(self.batch, self.store, self.embedder, self.records, self.report, self.keyword, self.router)
        self.batch, self.batch_chunks = [], 0

    def remove_missing(self, roots: list[Path]) -> None:
        """Remove briefs whose files are gone from the folders ingested."""
        seen = {o.path for o in self.report.outcomes}
        for record in list(self.records.values()):
            if record.path not in seen and under(record.path, roots) and not os.path.exists(record.path):
                self.store.remove(record.doc_id)
                del self.records[record.doc_id]
                self.report.outcomes.append(Outcome(record.path, "removed", record.doc_id, record.chunks))


def _write(
    batch: list[_Pending],
    store: VectorIndex,
    embedder: Embedder,
    records: dict[str, BriefRecord],
    report: IngestReport,
    keyword: KeywordSearch | None,
    router: Embedder | None = None,
) -> None:
    """Embed a group of briefs' chunks together, then write them in crash-safe order.

    Order: every brief of the group marked pending -> chunks (and routes) upserted -> every brief
    committed (search now returns the new versions) -> older versions' chunks deleted -> the marks of
    that deletion cleared -> keyword index. Wherever the process stops, each brief's committed version
    is searchable in full, and the records still marked tell the next write or app start what to
    finish (`recovery.finish_pending`); `failpoints` names each step for the tests that stop there.
    """
    if not batch:
        return
    texts = [embedding_text(c) for p in batch for c in p.chunks]
    unique = list(dict.fromkeys(texts))  # identical passages are embedded once
    vectors = embedder.embed_passages(unique)
    row = {text: i for i, text in enumerate(unique)}
    report.embedded += len(unique)
    # While pending, a record keeps describing what search returns: the committed older version,
    # or (a new brief) nothing, with the size of the write in progress.
    store.mark_pending(
        [
            dataclasses.replace(records[p.record.doc_id], pending=p.record.sha256)
            if p.record.doc_id in records and records[p.record.doc_id].sha256
            else dataclasses.replace(p.record, sha256="", pending=p.record.sha256)
            for p in batch
        ]
    )
    failpoints.reached("ingest.pending")
    log.info("writing %d passages of %s (pending until committed)", len(texts), _names(batch))
    chunks = [c for p in batch for c in p.chunks]
    store.write_chunks(chunks, vectors[[row[t] for t in texts]])
    failpoints.reached("ingest.chunks")
    written = {c.chunk_id for c in chunks}
    if router is not None:  # multilingual vectors, for questions in another language than the brief's
        owners, texts, parts = route_parts(batch)
        store.write_routes(owners, texts, router.embed_passages(texts), router.name, parts)
        written |= {route_id(r, n) for r, n in zip(owners, parts, strict=True)}
        failpoints.reached("ingest.routes")
    for p in batch:  # the same content read again (a new chunker) writes the same ids: drop the rest
        if p.record.doc_id in records and records[p.record.doc_id].sha256 == p.record.sha256:
            store.drop_stale_parts(p.record.doc_id, p.record.sha256, written)
    _commit(batch, store, records)
    if keyword is not None:
        keyword.add([(p.record.doc_id, p.record.sha256, p.chunks) for p in batch])
        failpoints.reached("ingest.keyword")
    for pending in batch:
        records[pending.record.doc_id] = pending.record
        if pending.replaces and pending.replaces in records:
            store.remove(pending.replaces)
            del records[pending.replaces]
        report.outcomes.append(pending.outcome)


def _commit(batch: list[_Pending], store: VectorIndex, records: dict[str, BriefRecord]) -> None:
    """Make the batch's new versions the searchable ones, then drop what is left of older versions."""
    older = [p.record for p in batch if p.record.doc_id in records]  # only these have chunks to drop
    # Committed with `pending` still the new hash: "searchable; older chunks not yet dropped".
    marked = {r.doc_id for r in older}
    store.commit(
        [
            dataclasses.replace(p.record, pending=p.record.sha256) if p.record.doc_id in marked else p.record
            for p in batch
        ]
    )
    failpoints.reached("ingest.committed")
    for record in older:
        store.drop_other_versions(record.doc_id, record.sha256)
    if older:
        store.commit(older)
    failpoints.reached("ingest.dropped")


def _names(batch: list[_Pending]) -> str:
    names = [f"{p.record.label} ({Path(p.record.path).name})" for p in batch[:3]]
    return ", ".join(names) + (f" and {len(batch) - 3} more" if len(batch) > 3 else "")


def route_parts(batch: list[_Pending]) -> tuple[list[BriefRecord], list[str], list[int]]:
    """The multilingual vectors to write for a group of briefs: (brief, text, part) of each.

    Part 0, for every brief, is its opening (`route_text`); part i >= 1 is the brief's passage of index
    i - 1. A brief not in English ranks by its best part (the index model reads English only, so for
    an English question the route is the one way into it, and its opening alone misses a passage deep
    in it: dev sets, English questions about Korean briefs, the right brief in the top 5 for 37 of 54
    with openings only, 41 with the parts). The passages of every brief also make a multilingual
    passage search that English questions fuse with the index model's (`Retriever._lists`). It costs an
    e5 embedding per passage at ingestion.

    A passage of fewer than `ROUTE_MIN_WORDS` words ("①", an image's file name, a running head) gets no
    part: embedded on its own, without the title the index model reads with it, such a fragment comes
    out close to every vague question. One file name in a Korean brief's opening ranked that brief
    first, by the route's full weight, for "What's supposed to go in it?" and "and the next worst after
    that?", whatever the brief.
    """
    owners: list[BriefRecord] = []
    texts: list[str] = []
    parts: list[int] = []
    for pending in batch:
        owners.append(pending.record)
        texts.append(route_text(pending.chunks))
        parts.append(0)
        for chunk in pending.chunks:
            if word_count(chunk.text) < ROUTE_MIN_WORDS:
                continue
            owners.append(pending.record)
            texts.append(chunk.text)
            parts.append(chunk.index + 1)
    return owners, texts, parts


def route_text(chunks: list[Chunk]) -> str:
    """What a brief's route vector embeds: its title block and the start of its summary.

    Kept short because the multilingual model is slow: 600 characters take about 67 ms a brief here,
    1,500 about 210 ms; on tests/data/qa-ko.jsonl they put the right brief first for 35 and 39 of 44
    questions.
    """
    return "\n".join(chunk.text for chunk in chunks[:3])[:ROUTE_CHARS]


def _unique_id(brief: Brief, abspath: str, claimed: dict[str, str], warnings: list[str]) -> Brief:
    """Keep both files when two claim one volume: the later one gets `volume~file-stem` as its id."""
    holder = claimed.get(brief.doc_id)
    if holder is None or holder == abspath or not os.path.exists(holder):
        return brief
    candidate = f"{brief.doc_id}~{Path(abspath).stem}"
    n = 2
    while claimed.get(candidate) not in (None, abspath):
        candidate = f"{brief.doc_id}~{Path(abspath).stem}-{n}"
        n += 1
    warnings.append(
        f"{abspath} and {holder} both claim {brief.label}; the first keeps id {brief.doc_id}, "
        f"this one is indexed as {candidate}"
    )
    return dataclasses.replace(brief, doc_id=candidate)


def _split(brief: Brief, digest: str, settings: Settings, embedder: Embedder) -> list[Chunk]:
    return chunk_brief(
        brief,
        digest,
        embedder.count_tokens,
        chunk_tokens=settings.chunk_tokens,
        model_max_tokens=embedder.max_tokens,
    )


def _record(
    brief: Brief, path: str, digest: str, chunks: int, size: int, signature: str, sketch: Sketch | None = None
) -> BriefRecord:
    return BriefRecord(
        doc_id=brief.doc_id,
        volume=brief.volume,
        title=brief.title,
        date=brief.date,
        authors=brief.authors,
        language=brief.language,
        source=brief.source,
        path=path,
        sha256=digest,
        chunks=chunks,
        size=size,
        signature=signature,
        indexed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sketch=sketch.hashes if sketch else (),
        runs=sketch.runs if sketch else 0,
    )
