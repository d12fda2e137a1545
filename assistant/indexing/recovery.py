"""Writes an earlier process left unfinished, rolled forward (the file is there, unchanged) or back."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

from assistant.config import Settings
from assistant.indexing.embeddings import Embedder
from assistant.indexing.index import KeywordSearch, VectorIndex
from assistant.indexing.ingest import ingest

log = logging.getLogger(__name__)


def finish_pending(
    *,
    settings: Settings,
    store: VectorIndex,
    embedder: Embedder,
    keyword: KeywordSearch | None = None,
    router: Embedder | None = None,
) -> list[str]:
    """Finish the writes an earlier process left pending (it was killed, or its disk filled up).

    A brief already committed whose older version's chunks were not yet dropped has them dropped.
    Otherwise, a brief whose file is still there with the bytes being written is rolled forward (indexed
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
        if record.pending == record.sha256:  # committed; only the older version's chunks were left
            store.drop_other_versions(record.doc_id, record.sha256)
            store.commit([dataclasses.replace(record, pending="")])
            lines.append(f"{name}: an interrupted update was finished (older passages removed)")
            continue
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
    if lines and not forward and keyword is not None:
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
