"""The vector index contract, written once: one mixin per behaviour, run on every backend.

A backend's test class inherits `IndexContract` and gives two fixtures: `index` (a fresh, empty
index opened for writing) and `reopen` (a callable opening the same index again, as another reader of
it would). The rule the mixins hold a backend to is the one in `assistant/indexing/index.py`.

Vectors here are made by hand in four dimensions, so the whole suite runs without an embedding model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.errors import EmbeddingMismatchError
from assistant.indexing.index import VectorIndex
from assistant.indexing.keyword import KeywordIndex
from assistant.indexing.records import PASSAGE_ROUTE_OFFSET, SAME_LANGUAGE_OFFSET, matches
from assistant.models import BriefRecord, Chunk, SearchFilter

MODEL, DIMENSION = "test/hand-made", 4
Reopen = Callable[[], VectorIndex]

# Three briefs: two English with volumes and dates, one Korean with neither.
BRIEFS = {
    "901": ("901", "2019-03-01", "en", "River parks"),
    "902": ("902", "2021-06-15", "en", "River ports"),
    "notes": (None, None, "ko", "강변 공원"),
}
# Per brief, its chunks' directions: each chunk leans to one axis.
DIRECTIONS = {
    "901": [[1, 0.1, 0, 0], [0.9, 0.3, 0, 0]],
    "902": [[0, 1, 0.1, 0], [0.1, 0.9, 0.2, 0]],
    "notes": [[0, 0, 1, 0.2]],
}


def digest(doc_id: str, version: int = 1) -> str:
    return f"{doc_id}-v{version}".encode().hex().ljust(64, "0")[:64]


def record(doc_id: str, version: int = 1, **changes: Any) -> BriefRecord:
    volume, date, language, title = BRIEFS[doc_id]
    base = BriefRecord(
        doc_id=doc_id,
        volume=volume,
        title=title,
        date=date,
        authors="Kim Test",
        language=language,
        source=f"{doc_id}.txt",
        path=f"/briefs/{doc_id}.txt",
        sha256=digest(doc_id, version),
        chunks=len(DIRECTIONS[doc_id]),
        size=100,
        signature="sig",
        indexed_at="2026-12-01T00:00:00+00:00",
        sketch=(3, 5, 8),
        runs=40,
    )
    return replace(base, **changes)


def chunks_of(doc_id: str, version: int = 1, text: str = "river bank {doc} part {i}") -> list[Chunk]:
    volume, date, language, title = BRIEFS[doc_id]
    content = digest(doc_id, version)
    return [
        Chunk(
            chunk_id=f"{doc_id}:{content[:12]}:{i:04d}",
            doc_id=doc_id,
            index=i,
            text=text.format(doc=doc_id, i=i),
            section="Current issue",
            start=i * 10,
            end=i * 10 + 9,
            page=None if doc_id == "notes" else i + 1,
            volume=volume,
            title=title,
            date=date,
            source=f"{doc_id}.txt",
            language=language,
            brief_hash=content,
            authors=None if doc_id == "notes" else "Kim Test",
        )
        for i in range(len(DIRECTIONS[doc_id]))
    ]


def vectors(doc_id: str) -> np.ndarray[Any, Any]:
    return np.asarray(DIRECTIONS[doc_id], dtype=np.float32)


def write(index: VectorIndex, doc_id: str, version: int = 1, *, commit: bool = True) -> BriefRecord:
    """One brief written the way ingestion writes it (pending, chunks, older versions, commit)."""
    new = record(doc_id, version)
    old = index.record(doc_id)
    pending = (
        replace(old, pending=new.sha256) if old is not None else replace(new, sha256="", pending=new.sha256)
    )
    index.mark_pending([pending])
    index.write_chunks(chunks_of(doc_id, version), vectors(doc_id))
    if commit:
        index.drop_other_versions(doc_id, new.sha256)
        index.commit([new])
    return new


def write_all(index: VectorIndex) -> None:
    for doc_id in BRIEFS:
        write(index, doc_id)


def docs(hits: list[tuple[str, float]]) -> list[str]:
    return list(dict.fromkeys(hit.rsplit(":", 2)[0] for hit, _ in hits))


class ManifestContract:
    def test_an_empty_index_has_no_records_chunks_or_generation_change(self, index: VectorIndex) -> None:
        assert index.records() == {} and index.committed() == {} and index.count() == 0
        assert index.record("901") is None
        assert index.nearest(np.ones(DIMENSION), 5) == []

    def test_records_come_back_as_they_were_written(self, index: VectorIndex) -> None:
        written = write(index, "901")
        assert index.record("901") == written
        assert index.records() == {"901": written}
        assert index.committed() == {"901": written.sha256}

    def test_every_commit_and_removal_changes_the_generation(self, index: VectorIndex) -> None:
        seen = {index.generation()}
        write(index, "901")
        seen.add(index.generation())
        write(index, "902")
        seen.add(index.generation())
        index.remove("901")
        seen.add(index.generation())
        assert len(seen) == 4

    def test_another_reader_sees_a_commit(self, index: VectorIndex, reopen: Reopen) -> None:
        other = reopen()
        before = other.generation()
        write(index, "901")
        assert other.generation() != before
        other.invalidate()
        assert other.committed() == {"901": digest("901")}


class VisibilityContract:
    def test_a_brief_never_committed_is_not_searched(self, index: VectorIndex) -> None:
        write(index, "901", commit=False)
        assert index.record("901") is not None and index.record("901").state == "pending"  # type: ignore[union-attr]
        assert index.nearest(vectors("901")[0], 10) == []
        assert dict(index.chunks_of(["901"])) == {"901": []}
        ids = [c.chunk_id for c in chunks_of("901")]
        assert index.only_committed([(cid, 1.0) for cid in ids]) == []

    def test_an_unfinished_update_leaves_the_old_version_searched(self, index: VectorIndex) -> None:
        write(index, "901")
        write(index, "901", version=2, commit=False)
        index.invalidate()
        old_ids = {c.chunk_id for c in chunks_of("901")}
        assert {cid for cid, _ in index.nearest(vectors("901")[0], 10)} == old_ids
        assert {p.chunk_id for p in index.iter_chunks(["901"])} == old_ids
        assert index.record("901").state == "updating"  # type: ignore[union-attr]

    def test_a_finished_update_replaces_the_old_version(self, index: VectorIndex) -> None:
        write(index, "901")
        write(index, "901", version=2)
        index.invalidate()
        new_ids = {c.chunk_id for c in chunks_of("901", 2)}
        assert {cid for cid, _ in index.nearest(vectors("901")[0], 10)} == new_ids
        assert set(index.chunk_ids("901")) == new_ids  # the old version's chunks are gone

    def test_a_large_unfinished_write_does_not_crowd_committed_chunks_out(self, index: VectorIndex) -> None:
        write(index, "902")
        index.mark_pending([replace(record("901"), sha256="", pending=digest("901"))])
        ghosts = [
            replace(chunks_of("901")[0], chunk_id=f"901:{digest('901')[:12]}:{i:04d}") for i in range(30)
        ]
        index.write_chunks(ghosts, np.tile(vectors("901")[:1], (30, 1)))
        assert docs(index.nearest(vectors("901")[0], 2)) == ["902"]

    def test_rolling_a_write_back_drops_only_that_version(self, index: VectorIndex) -> None:
        write(index, "901")
        write(index, "901", version=2, commit=False)
        index.drop_version("901", digest("901", 2))
        assert set(index.chunk_ids("901")) == {c.chunk_id for c in chunks_of("901")}

    def test_a_version_read_again_into_fewer_parts_keeps_only_those(self, index: VectorIndex) -> None:
        # The same content chunked again (a new chunker) writes the same ids, fewer of them: the
        # rows it no longer writes go, of that brief and version only.
        write_all(index)
        write_routes(index)
        kept = {c.chunk_id for c in chunks_of("901")[:1]}
        index.drop_stale_parts("901", digest("901"), kept)
        index.invalidate()
        assert set(index.chunk_ids("901")) == kept
        assert set(index.chunk_ids("902")) == {c.chunk_id for c in chunks_of("902")}
        assert [doc for doc, _ in index.route(np.asarray([1, 0, 0, 0]), 3)] == ["notes", "902"]  # not 901


class NearestContract:
    def test_nearest_ranks_by_cosine_similarity_and_keeps_to_n(self, index: VectorIndex) -> None:
        write_all(index)
        hits = index.nearest(np.asarray([1, 0.1, 0, 0]), 3)
        assert len(hits) == 3
        assert hits[0][0].startswith("901:") and hits[0][1] == pytest.approx(1.0, abs=1e-4)
        assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
        assert index.nearest(np.asarray([0, 0, 1, 0.2]), 1)[0][0].startswith("notes:")

    def test_passages_carry_the_chunks_citation_fields(self, index: VectorIndex) -> None:
        write_all(index)
        wanted = chunks_of("901") + chunks_of("notes")
        got = index.get_passages([c.chunk_id for c in wanted] + ["901:000000000000:9999"])
        assert set(got) == {c.chunk_id for c in wanted}
        for chunk in wanted:
            passage = got[chunk.chunk_id]
            assert (passage.doc_id, passage.volume, passage.title, passage.date) == (
                chunk.doc_id,
                chunk.volume,
                chunk.title,
                chunk.date,
            )
            assert (passage.section, passage.page, passage.text, passage.authors, passage.language) == (
                chunk.section,
                chunk.page,
                chunk.text,
                chunk.authors,
                chunk.language,
            )
            assert (passage.start, passage.end, passage.score) == (chunk.start, chunk.end, 0.0)

    def test_chunks_of_a_brief_come_in_the_order_written(self, index: VectorIndex) -> None:
        write_all(index)
        got = dict(index.chunks_of(["902", "901", "unknown"]))
        assert [p.chunk_id for p in got["901"]] == [c.chunk_id for c in chunks_of("901")]
        assert [p.chunk_id for p in got["902"]] == [c.chunk_id for c in chunks_of("902")]
        assert got["unknown"] == []


FILTERS = [
    SearchFilter(doc_ids=("902",)),
    SearchFilter(doc_ids=("901", "notes")),
    SearchFilter(date_from="2020-01-01"),
    SearchFilter(date_to="2020-01-01"),
    SearchFilter(date_from="2019-03-01", date_to="2019-03-01"),
    SearchFilter(volume_min=902),
    SearchFilter(volume_max=901),
    SearchFilter(volume_min=900, volume_max=905, date_from="2021-01-01"),
]


class FilterContract:
    @pytest.mark.parametrize("flt", FILTERS, ids=lambda f: f.describe())
    def test_a_filter_means_the_same_in_the_vector_and_the_keyword_index(
        self, index: VectorIndex, flt: SearchFilter, tmp_path: Path
    ) -> None:
        write_all(index)
        every = [c for doc_id in BRIEFS for c in chunks_of(doc_id)]
        from assistant.indexing.records import chunk_metadata

        expected = {c.chunk_id for c in every if matches(flt, chunk_metadata(c))}
        assert expected, "each filter keeps something"
        assert {cid for cid, _ in index.nearest(np.ones(DIMENSION), 50, flt)} == expected
        keyword = KeywordIndex(tmp_path / "keyword.sqlite3")
        try:
            keyword.sync(index, fresh=True)
            assert {cid for cid, _ in keyword.search("river bank", 50, flt)} == expected
        finally:
            keyword.close()

    def test_routes_keep_to_the_filter(self, index: VectorIndex) -> None:
        write_all(index)
        write_routes(index)
        routed = index.route(np.ones(DIMENSION), 10, SearchFilter(date_from="2020-01-01"))
        assert [doc for doc, _ in routed] == ["902"]


def write_routes(index: VectorIndex, model: str = "test/router") -> None:
    records = [record(doc_id) for doc_id in BRIEFS]
    rows = np.asarray([[1, 0, 0, 0], [0, 1, 0, 0], [0.7, 0, 0.7, 0]], dtype=np.float32)
    index.write_routes(records, [r.title for r in records], rows, model)


class RoutesContract:
    def test_routes_rank_briefs_with_the_same_language_bonus_taken_off(self, index: VectorIndex) -> None:
        write_all(index)
        write_routes(index)
        query = np.asarray([1, 0, 0, 0])
        english = dict(index.route(query, 3, language="en"))
        korean = dict(index.route(query, 3, language="ko"))
        assert list(english) == ["901", "notes", "902"]
        assert english["901"] == pytest.approx(1.0 - SAME_LANGUAGE_OFFSET, abs=1e-4)
        assert english["notes"] == pytest.approx(korean["notes"] + SAME_LANGUAGE_OFFSET, abs=1e-4)
        assert index.route_model() == "test/router"
        assert len(index.route(query, 1)) == 1

    def test_a_brief_with_passage_routes_is_ranked_by_its_best_part(self, index: VectorIndex) -> None:
        # Part 0 of each brief is its opening; the Korean brief "notes" also has 40 passage parts,
        # all closer to the query than any opening. Its best part counts, once, with the passage
        # offset (and, for a Korean question, the same-language offset) taken off.
        write_all(index)
        records = [record(doc_id) for doc_id in BRIEFS]
        close = [0.88, (1 - 0.88**2) ** 0.5, 0, 0]
        openings = [close, [0, 1, 0, 0], [0, 0, 0, 1]]  # 901, 902, notes
        # forty distinct vectors as close as `near` (Chroma's HNSW graph loses points among duplicates)
        parts = [[0.9, 0, (0.19 - (i / 400) ** 2) ** 0.5, i / 400] for i in range(40)]
        index.write_routes(
            records + [records[2]] * 40,
            [r.title for r in records] + [f"part {i}" for i in range(1, 41)],
            np.asarray(openings + parts, dtype=np.float32),
            "test/router",
            [0, 0, 0, *range(1, 41)],
        )
        query = np.asarray([1, 0, 0, 0])
        english = index.route(query, 3, language="en")
        assert [doc for doc, _ in english] == ["notes", "901", "902"]
        assert english[0][1] == pytest.approx(0.9 - PASSAGE_ROUTE_OFFSET, abs=1e-4)
        # For a Korean question the English opening, less similar than forty Korean parts, comes
        # first once the offsets are taken off: the backend must look past the parts to find it.
        korean = index.route(query, 1, language="ko")
        assert korean == [("901", pytest.approx(0.88, abs=1e-4))]

    def test_passage_routes_are_searched_as_passages_and_rank_only_briefs_not_in_english(
        self, index: VectorIndex
    ) -> None:
        # Every brief has a route part per passage; an English brief's part (here 901's, the closest
        # of all) is found by the passage search, under its chunk's id, but does not rank its brief.
        write_all(index)
        records = [record(doc_id) for doc_id in BRIEFS]
        openings = [[0, 0, 0, 1], [0.5, 0.75**0.5, 0, 0], [0, 0, 0, 1]]  # 901, 902, notes
        passages = [[1, 0, 0, 0], [0.8, 0.6, 0, 0], [0.6, 0, 0.8, 0]]  # the first passage of each
        index.write_routes(
            records * 2,
            [r.title for r in records] * 2,
            np.asarray(openings + passages, dtype=np.float32),
            "test/router",
            [0, 0, 0, 1, 1, 1],
        )
        query = np.asarray([1, 0, 0, 0])
        first = {doc_id: sorted(index.chunk_ids(doc_id))[0] for doc_id in BRIEFS}
        # the n nearest of the briefs in the question's language, then the n nearest of the others
        found = index.nearest_passages(query, 2, language="en")
        assert [cid for cid, _ in found] == [first["901"], first["902"], first["notes"]]
        assert [score for _, score in found] == pytest.approx([1.0, 0.8, 0.6], abs=1e-4)
        assert [cid for cid, _ in index.nearest_passages(query, 1, language="ko")] == [
            first["notes"],
            first["901"],
        ]
        assert index.nearest_passages(query, 5, SearchFilter(doc_ids=("notes",))) == [
            (first["notes"], pytest.approx(0.6, abs=1e-4))
        ]
        assert [doc for doc, _ in index.route(query, 3, language="en")] == ["notes", "902", "901"]
        index.remove("901")
        assert [cid for cid, _ in index.nearest_passages(query, 5)] == [first["902"], first["notes"]]

    def test_routes_of_uncommitted_or_removed_briefs_are_not_returned(self, index: VectorIndex) -> None:
        write(index, "901")
        write(index, "902", commit=False)
        write_routes(index)
        assert [doc for doc, _ in index.route(np.ones(DIMENSION), 5)] == ["901"]
        index.remove("901")
        assert index.route(np.ones(DIMENSION), 5) == []

    def test_a_reader_that_searched_routes_sees_briefs_committed_or_removed_later(
        self, index: VectorIndex, reopen: Reopen
    ) -> None:
        # A backend may keep what it read of the routes (the Chroma store holds them in memory); what
        # another writer commits or removes afterwards must still reach its next search.
        write(index, "901")
        index.write_routes(
            [record("901")], ["River parks"], np.asarray([[1, 0, 0, 0]], np.float32), "test/router"
        )
        other = reopen()
        query = np.asarray([0, 1, 0, 0], dtype=np.float32)
        assert [doc for doc, _ in other.route(query, 5)] == ["901"]
        write(index, "902", commit=False)
        index.write_routes(
            [record("902")], ["River ports"], np.asarray([[0, 1, 0, 0]], np.float32), "test/router"
        )
        other.invalidate()
        assert [doc for doc, _ in other.route(query, 5)] == ["901"]  # written, not yet committed
        index.commit([record("902")])
        other.invalidate()
        assert [doc for doc, _ in other.route(query, 5)] == ["902", "901"]
        index.remove("902")
        other.invalidate()
        assert [doc for doc, _ in other.route(query, 5)] == ["901"]

    def test_routes_from_another_model_are_refused(self, index: VectorIndex) -> None:
        write_all(index)
        write_routes(index)
        with pytest.raises(EmbeddingMismatchError):
            write_routes(index, model="another/router")

    def test_languages_are_those_of_committed_briefs(self, index: VectorIndex) -> None:
        write(index, "901")
        write(index, "notes", commit=False)
        assert index.languages() == {"en"}
        write(index, "notes")
        index.invalidate()
        assert index.languages() == {"en", "ko"}
        assert (index.language_of("notes"), index.language_of("901"), index.language_of("x")) == (
            "ko",
            "en",
            "en",
        )


class RemoveContract:
    def test_removing_a_brief_removes_its_chunks_and_record_only(self, index: VectorIndex) -> None:
        write_all(index)
        index.remove("902")
        index.invalidate()
        assert set(index.records()) == {"901", "notes"}
        assert index.chunk_ids("902") == []
        assert "902" not in docs(index.nearest(np.asarray([0, 1, 0, 0]), 10))
        assert index.count() == len(DIRECTIONS["901"]) + len(DIRECTIONS["notes"])

    def test_reset_empties_the_index(self, index: VectorIndex) -> None:
        write_all(index)
        write_routes(index)
        index.reset()
        assert index.records() == {} and index.count() == 0 and index.route(np.ones(DIMENSION), 3) == []
        write(index, "901")  # and it can be written again
        assert index.count() == 2


class IndexContract(
    ManifestContract, VisibilityContract, NearestContract, FilterContract, RoutesContract, RemoveContract
):
    """Every behaviour a vector index backend must have."""
