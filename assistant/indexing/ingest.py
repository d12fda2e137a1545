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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.config import Settings
from assistant.errors import BriefReadError, UsageError
from assistant.indexing.chunking import chunk_brief, chunker_signature, embedding_text
from assistant.indexing.embeddings import Embedder
from assistant.indexing.keyword import KeywordIndex
from assistant.indexing.sketch import Sketch, SketchIndex
from assistant.indexing.store import Store
from assistant.models import Brief, BriefRecord, Chunk
from assistant.reading import is_supported, load_bytes, parse_brief

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # done, total, current file
_EMBED_GROUP = 256  # chunks embedded together, across briefs, so batches stay full
ROUTE_CHARS = 600  # characters of a brief that its multilingual route embeds (see `route_text`)
STATUSES = ("added", "updated", "unchanged", "removed", "held", "failed")


@dataclass
class Outcome:
    """What happened to one file (or, for removals, one previously indexed brief)."""

    path: str
    status: str  # added | updated | unchanged | removed | held (a near-duplicate) | failed
    doc_id: str | None = None
    chunks: int = 0
    message: str = ""


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    embedded: int = 0
    seconds: float = 0.0
    total_chunks: int = 0
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures or self.count("held") else 0

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in STATUSES if s != "held" or self.count(s))
        return (
            f"ingest: {counts}; {self.total_chunks} chunks in the index, "
            f"{self.embedded} embedded in this run; {self.seconds:.1f} s"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "summary": self.summary(),
            "counts": {s: self.count(s) for s in STATUSES},
            "chunks": self.total_chunks,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
            "files": [dataclasses.asdict(o) for o in self.outcomes],
            "warnings": self.warnings,
        }


@dataclass
class _Pending:
    record: BriefRecord
    chunks: list[Chunk]
    outcome: Outcome
    replaces: str | None  # an older doc id this file was indexed under


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path], list[Outcome]]:
    """Files to ingest (sorted, deduplicated), the roots they came from, and files that cannot be used.

    Folders are walked recursively (hidden entries skipped, symlinked folders followed once, so a
    link loop ends); inside folders, files of unsupported types are ignored. A path that does not
    exist is a usage error.
    """
    files: dict[str, Path] = {}
    roots: list[Path] = []
    bad: list[Outcome] = []
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise UsageError(f"{given}: no such file or folder", hint="check the path and try again")
        roots.append(Path(os.path.abspath(given)))
        if given.is_dir():
            seen: set[tuple[int, int]] = set()
            for folder, dirs, names in os.walk(given, followlinks=True):
                stat = os.stat(folder)
                if (stat.st_dev, stat.st_ino) in seen:
                    dirs[:] = []
                    continue
                seen.add((stat.st_dev, stat.st_ino))
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    path = Path(folder) / name
                    if not name.startswith(".") and is_supported(path):
                        files.setdefault(os.path.abspath(path), path)
        elif is_supported(given) or given.is_symlink():
            files.setdefault(os.path.abspath(given), given)
        else:
            bad.append(
                Outcome(str(given), "failed", message=f"{given}: unsupported file type '{given.suffix}'")
            )
    return [files[k] for k in sorted(files)], roots, bad


def ingest(
    paths: Iterable[Path],
    *,
    settings: Settings,
    store: Store,
    embedder: Embedder,
    keyword: KeywordIndex | None = None,
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
    report = IngestReport(outcomes=list(bad))
    signature = chunker_signature(settings.chunk_tokens, embedder.name)
    if router is not None:
        signature += f":routes={router.name}"
    records = store.records()
    by_path = {r.path: r for r in records.values()}
    by_hash = {r.sha256: r for r in records.values() if r.sha256 and os.path.exists(r.path)}
    claimed: dict[str, str] = {r.doc_id: r.path for r in records.values()}
    queued: dict[str, BriefRecord] = {}  # records of this run not yet written
    sketches = SketchIndex()  # briefs indexed before sketches were kept have none and are not compared
    for r in records.values():
        if r.sketch and r.sha256:
            sketches.add(r.doc_id, Sketch.load(r.sketch, r.runs))
    batch: list[_Pending] = []
    batch_chunks = 0  # chunks in `batch`
    max_bytes = int(settings.max_file_mb * 1_000_000)

    for done, path in enumerate(files):
        if progress:
            progress(done, len(files), path.name)
        abspath = os.path.abspath(path)
        try:
            data = load_bytes(path, max_bytes=max_bytes)
            digest = hashlib.sha256(data).hexdigest()
            old = by_path.get(abspath)
            if old and old.sha256 == digest and old.signature == signature and not old.pending:
                report.outcomes.append(Outcome(abspath, "unchanged", old.doc_id, old.chunks))
                continue
            twin = by_hash.get(digest)
            if old is None and twin is not None and twin.path != abspath:
                # The same bytes under another name: indexed once, not twice.
                message = f"already indexed as {twin.label} ({Path(twin.path).name}), unchanged"
                report.outcomes.append(Outcome(abspath, "unchanged", twin.doc_id, twin.chunks, message))
                continue
            brief = parse_brief(data, path, max_pages=settings.max_pages)
            chunks = _split(brief, digest, settings, embedder)
            if len(chunks) > settings.max_chunks:
                raise BriefReadError(
                    path,
                    f"{len(chunks):,} passages is over the limit of {settings.max_chunks:,} passages a brief "
                    "(a policy brief makes 20 to 150)",
                    hint="index the brief itself rather than a collection, or raise ASSISTANT_MAX_CHUNKS",
                )
        except BriefReadError as exc:
            report.outcomes.append(Outcome(abspath, "failed", message=str(exc)))
            log.info("%s", exc)
            continue
        sketch = Sketch.of(brief.text)
        if not allow_near_duplicates and (old is None or old.pending):
            near, share = sketches.nearest(sketch, skip=old.doc_id if old else "")
            twin_record = queued.get(near or "") or records.get(near or "")
            if twin_record is not None and share >= settings.near_duplicate:
                message = (
                    f"held back: {share:.0%} of its text repeats {twin_record.label} "
                    f"({Path(twin_record.path).name}); add it anyway with --allow-near-duplicates "
                    "(in the app: tick “Add near-duplicates too” and upload again)"
                )
                report.outcomes.append(Outcome(abspath, "held", twin_record.doc_id, len(chunks), message))
                continue
        unique = _unique_id(brief, abspath, claimed, report.warnings)
        if unique.doc_id != brief.doc_id:  # chunk ids carry the doc id
            chunks = _split(unique, digest, settings, embedder)
        brief = unique
        claimed[brief.doc_id] = abspath
        previous = records.get(brief.doc_id)
        record = _record(brief, abspath, digest, len(chunks), len(data), signature, sketch)
        by_hash[digest] = record
        queued[record.doc_id] = record
        sketches.add(record.doc_id, sketch)
        status = "updated" if old or previous else "added"
        replaces = old.doc_id if old and old.doc_id != brief.doc_id else None
        batch.append(_Pending(record, chunks, Outcome(abspath, status, brief.doc_id, len(chunks)), replaces))
        batch_chunks += len(chunks)
        if batch_chunks >= _EMBED_GROUP:
            _write(batch, store, embedder, records, report, keyword, router)
            batch, batch_chunks = [], 0
    _write(batch, store, embedder, records, report, keyword, router)
    if progress:
        progress(len(files), len(files), "")

    seen = {o.path for o in report.outcomes}
    for record in list(records.values()):
        if record.path not in seen and _under(record.path, roots) and not os.path.exists(record.path):
            store.remove(record.doc_id)
            del records[record.doc_id]
            report.outcomes.append(Outcome(record.path, "removed", record.doc_id, record.chunks))
    if keyword is not None:
        keyword.sync(store, fresh=True)
    # From the manifest: counting the vector collection costs more than a re-ingest of unchanged files.
    report.total_chunks = sum(r.chunks for r in records.values())
    report.seconds = time.perf_counter() - started
    return report


def _write(
    batch: list[_Pending],
    store: Store,
    embedder: Embedder,
    records: dict[str, BriefRecord],
    report: IngestReport,
    keyword: KeywordIndex | None,
    router: Embedder | None = None,
) -> None:
    """Embed a group of briefs' chunks together, then write them in crash-safe order.

    Order: every brief of the group marked pending -> chunks upserted -> older versions' chunks
    deleted -> every brief committed -> keyword index. A crash anywhere leaves the committed versions
    searchable and the pending marks tell the next ingest what to finish.
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
    log.info("writing %d passages of %s (pending until committed)", len(texts), _names(batch))
    chunks = [c for p in batch for c in p.chunks]
    store.write_chunks(chunks, vectors[[row[t] for t in texts]])
    if router is not None:  # one multilingual vector per brief, for questions in another language
        routes = [route_text(p.chunks) for p in batch]
        store.write_routes([p.record for p in batch], routes, router.embed_passages(routes), router.name)
    for pending in batch:
        if pending.record.doc_id in records:  # only an older version has chunks to drop
            store.drop_other_versions(pending.record.doc_id, pending.record.sha256)
    store.commit([p.record for p in batch])
    if keyword is not None:
        keyword.add([(p.record.doc_id, p.record.sha256, p.chunks) for p in batch])
    for pending in batch:
        records[pending.record.doc_id] = pending.record
        if pending.replaces and pending.replaces in records:
            store.remove(pending.replaces)
            del records[pending.replaces]
        report.outcomes.append(pending.outcome)


def _names(batch: list[_Pending]) -> str:
    names = [f"{p.record.label} ({Path(p.record.path).name})" for p in batch[:3]]
    return ", ".join(names) + (f" and {len(batch) - 3} more" if len(batch) > 3 else "")


def finish_pending(
    *,
    settings: Settings,
    store: Store,
    embedder: Embedder,
    keyword: KeywordIndex | None = None,
    router: Embedder | None = None,
) -> list[str]:
    """Finish the writes an earlier process left pending (it was killed, or its disk filled up).

    A brief whose file is still there with the bytes being written is rolled forward (indexed
    again: chunk ids are deterministic, so the chunks already written are overwritten, not doubled);
    otherwise it is rolled back: the unfinished version's chunks are deleted and the record goes back
    to the committed version, or away if there was none. Returns one line per brief for the log.
    """
    lines: list[str] = []
    forward: list[Path] = []
    for record in store.records().values():
        if not record.pending:
            continue
        name = f"{record.label} ({Path(record.path).name})"
        if _file_hash(record.path) == record.pending:
            forward.append(Path(record.path))
            continue
        store.drop_version(record.doc_id, record.pending)
        if record.sha256:
            store.commit([dataclasses.replace(record, pending="")])
            lines.append(f"{name}: an interrupted update was rolled back; the indexed version is unchanged")
        else:
            store.remove(record.doc_id)
            lines.append(f"{name}: an interrupted write was rolled back (its file is gone or has changed)")
    if forward:
        report = ingest(
            forward, settings=settings, store=store, embedder=embedder, keyword=keyword, router=router
        )
        for outcome in report.outcomes:
            name = Path(outcome.path).name
            if outcome.status == "failed":
                lines.append(f"{name}: an interrupted write could not be finished: {outcome.message}")
            else:
                lines.append(
                    f"{outcome.doc_id} ({name}): an interrupted write was finished, {outcome.chunks} chunks"
                )
    elif lines and keyword is not None:
        keyword.sync(store, fresh=True)
    for line in lines:
        log.warning("%s", line)
    return lines


def _file_hash(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


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


def _under(path: str, roots: list[Path]) -> bool:
    candidate = Path(path)
    return any(candidate == root or root in candidate.parents for root in roots)
