"""How chunks, routes and filters look inside an index, the same for every backend.

A chunk id is `doc_id:hash:index` (a route id `doc_id:hash:route`): the prefix of the brief's content
hash in it is what lets any backend skip the chunks of a write that was never committed. Metadata
is flat (strings and integers) so that a filter compiles to a backend's own query language; the
Python predicate `matches` is the reference the contract tests hold every backend to.
"""

from __future__ import annotations

from typing import Any

from assistant.models import BriefRecord, Chunk, Passage, SearchFilter
from assistant.reading.metadata import date_key, volume_key

# multilingual-e5-small rates any brief in the question's own language about 0.04 closer than an
# equally relevant brief in the other language; taking it off lets a Korean question find the English
# brief that answers it rather than a Korean brief on another topic (tests/data/qa-ko.jsonl,
# 1,500-character routes: top-1 brief for Korean questions about English briefs 6/22 -> 17/22, English
# questions about Korean briefs 2/10 -> 10/10, Korean about Korean 12/12). Every backend's `route`
# and the evidence scores (answering/generation/evidence.py) take it off.
SAME_LANGUAGE_OFFSET = 0.04


def committed_doc(record_id: str, committed: dict[str, str]) -> str | None:
    """The brief of a chunk or route id (`doc_id:hash:suffix`) when that hash is the committed one."""
    doc_id, digest, _ = record_id.rsplit(":", 2)
    return doc_id if digest and committed.get(doc_id, "")[: len(digest)] == digest else None


# A brief in another language than English has a route vector for each of its passages besides the
# one for its opening (title block and start of summary), so that a question finds it by a passage
# further in (`ingest.route_parts`). A passage is narrower than an opening and meets a question more
# closely by chance, so 0.02 is taken off its similarity. Dev sets, 487 answerable questions, hit@1 /
# hit@5: openings only 0.860 / 0.957; parts less 0.02: 0.871 / 0.965; less 0.03 or 0.04: 0.875 /
# 0.961 (English questions about Korean briefs found less often: hit@5 0.72 against 0.76).
PASSAGE_ROUTE_OFFSET = 0.02


def chunk_id(doc_id: str, digest: str, index: int) -> str:
    """The id of a brief's chunk: `doc_id:hash:index` (the first 12 characters of the content hash)."""
    return f"{doc_id}:{digest[:12]}:{index:04d}"


def route_id(record: BriefRecord, part: int = 0) -> str:
    """Part 0 is the brief's opening; part i >= 1 its passage of index i - 1."""
    return f"{record.doc_id}:{record.sha256[:12]}:route" + (str(part) if part else "")


def route_part(rid: str) -> int:
    suffix = rid.rsplit(":", 1)[1]
    return int(suffix[len("route") :] or 0)


def route_passage(rid: str) -> str:
    """The chunk id of a passage's route (part i >= 1): the same brief, hash and index i - 1."""
    doc_id, digest, _ = rid.rsplit(":", 2)
    return chunk_id(doc_id, digest, route_part(rid) - 1)


def counts_as_brief_route(doc_language: str, part: int) -> bool:
    """Whether a route part ranks its brief (`route`): the opening of every brief, and the passages
    of a brief not in English. An English brief's passage parts serve the multilingual passage search
    (`nearest_passages`); for ranking English briefs the index model and keywords read their passages."""
    return part == 0 or doc_language != "en"


def route_score(similarity: float, doc_language: str, question_language: str, part: int = 0) -> float:
    """A route's cosine similarity with the same-language bonus (and a passage's offset) taken off."""
    similarity -= PASSAGE_ROUTE_OFFSET if part else 0.0
    return similarity - (SAME_LANGUAGE_OFFSET if doc_language == question_language else 0.0)


def best_per_brief(scored: list[tuple[str, float]], n: int) -> list[tuple[str, float]]:
    """(doc id, route score) of every route part -> the `n` best briefs, each at its best part."""
    best: dict[str, float] = {}
    for doc_id, score in scored:
        if score > best.get(doc_id, -2.0):
            best[doc_id] = score
    return sorted(best.items(), key=lambda item: -item[1])[:n]


def route_metadata(record: BriefRecord, part: int = 0) -> dict[str, str | int]:
    """The brief's filterable fields and the part (0: the opening; `nearest_passages` reads the rest)."""
    return {
        "doc_id": record.doc_id,
        "brief_hash": record.sha256,
        "date_key": date_key(record.date),
        "volume_num": volume_key(record.volume),
        "language": record.language,
        "part": part,
    }


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
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


def passage_from(chunk_id: str, text: str, meta: dict[str, Any]) -> Passage:
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


def matches(flt: SearchFilter | None, meta: dict[str, Any]) -> bool:
    """Whether a chunk's (or route's) metadata passes the filter: what each backend's query must mean."""
    if flt is None or flt.empty:
        return True
    if flt.doc_ids and meta["doc_id"] not in flt.doc_ids:
        return False
    day = int(meta["date_key"])
    if flt.date_from and day < date_key(flt.date_from):
        return False
    if flt.date_to and day > date_key(flt.date_to):
        return False
    number = int(meta["volume_num"])
    if flt.volume_min is not None and number < flt.volume_min:
        return False
    return flt.volume_max is None or number <= flt.volume_max
