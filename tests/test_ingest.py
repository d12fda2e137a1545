"""Incremental, idempotent ingestion into a real Chroma store, with per-file errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import EmbeddingMismatchError, StoreBusyError, StoreError
from assistant.indexing.embeddings import Embedder
from assistant.indexing.store import Store
from assistant.library import Library
from tests.conftest import CORPUS, make_settings

BRIEF = (
    "brief view\nTITLE {title}\nVolume vol.{vol} DATE 2021-05-03 HIT 1\n\n{title}\n\n"
    "Kim Test, Research Fellow, KRIHS\n\n(Current issue) {body}\n\nPolicy proposals\n\n1. {proposal}\n"
)


def brief(vol: int, title: str, body: str, proposal: str = "Plant more trees.") -> str:
    return BRIEF.format(vol=vol, title=title, body=body, proposal=proposal)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "briefs"
    src.mkdir()
    (src / "a.txt").write_text(brief(901, "River parks", "Cities are getting hotter in summer."))
    (src / "b.txt").write_text(brief(902, "Bus lanes", "Commuters lose hours in traffic."))
    shutil.copy(CORPUS / "vol697.txt", src / "vol697.txt")
    (src / "notes.jsonl").write_text("{}")  # not a brief type: ignored inside a folder
    return src


def ingest(settings: Settings, embedder: Embedder, *paths: Path, rebuild: bool = False):  # type: ignore[no-untyped-def]
    with Library.open(settings, write=True, embedder=embedder) as library:
        report = library.ingest(list(paths), rebuild=rebuild)
        return report, library.stats()


def test_ingest_twice_is_idempotent_and_embeds_nothing(
    settings: Settings, embedder: Embedder, folder: Path
) -> None:
    first, stats1 = ingest(settings, embedder, folder)
    assert (first.count("added"), first.count("failed"), first.exit_code) == (3, 0, 0)
    assert first.embedded == stats1.chunks > 0
    second, stats2 = ingest(settings, embedder, folder)
    assert second.count("unchanged") == 3
    assert second.embedded == 0
    assert stats2.chunks == stats1.chunks
    assert stats2.keyword_chunks == stats1.chunks


def test_changed_brief_replaces_its_chunks(settings: Settings, embedder: Embedder, folder: Path) -> None:
    ingest(settings, embedder, folder)
    (folder / "a.txt").write_text(
        brief(901, "River parks", "Rivers flood more often now.", "Raise the banks.")
    )
    report, _ = ingest(settings, embedder, folder)
    assert report.count("updated") == 1 and report.count("unchanged") == 2
    with Library.open(settings, embedder=embedder) as library:
        texts = [p.text for p in library.search("rivers flood banks", k=20)]
        assert any("Rivers flood more often" in t for t in texts)
        assert not any("getting hotter" in t for t in texts), "old version's chunks must be gone"
        ids = library.store.chunk_ids("901")
        assert len(ids) == len(set(ids)) == library.records()["901"].chunks


def test_deleted_file_is_removed(settings: Settings, embedder: Embedder, folder: Path) -> None:
    _, before = ingest(settings, embedder, folder)
    (folder / "b.txt").unlink()
    report, after = ingest(settings, embedder, folder)
    assert report.count("removed") == 1
    assert "902" not in {r.doc_id for r in after.records}
    assert after.chunks < before.chunks
    assert after.keyword_chunks == after.chunks


def test_ingesting_another_folder_keeps_the_first(
    settings: Settings, embedder: Embedder, folder: Path, tmp_path: Path
) -> None:
    ingest(settings, embedder, folder)
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.txt").write_text(brief(903, "Heat waves", "Heat waves last longer."))
    report, stats = ingest(settings, embedder, other)
    assert report.count("removed") == 0
    assert {r.doc_id for r in stats.records} == {"697", "901", "902", "903"}


def test_bad_files_fail_alone_and_exit_1(settings: Settings, embedder: Embedder, folder: Path) -> None:
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.pdf").write_bytes(os.urandom(2000))
    (folder / "latin.txt").write_bytes(b"brief \xff\xfe text " * 20)
    report, stats = ingest(settings, embedder, folder)
    assert report.exit_code == 1
    assert report.count("added") == 3
    failed = {Path(o.path).name: o.message for o in report.failures}
    assert set(failed) == {"empty.txt", "junk.pdf", "latin.txt"}
    assert "empty" in failed["empty.txt"] and "not a PDF" in failed["junk.pdf"]
    assert stats.briefs == 3


def test_a_broken_update_keeps_the_indexed_version(
    settings: Settings, embedder: Embedder, folder: Path
) -> None:
    ingest(settings, embedder, folder)
    (folder / "a.txt").write_bytes(b"")  # the file was truncated on disk
    report, stats = ingest(settings, embedder, folder)
    assert report.count("failed") == 1
    assert "901" in {r.doc_id for r in stats.records}, "nothing already indexed is lost"


def test_two_files_claiming_one_volume_are_both_kept(
    settings: Settings, embedder: Embedder, folder: Path
) -> None:
    (folder / "z-copy.txt").write_text(
        brief(901, "River parks (revised)", "A second text of the same volume.")
    )
    report, stats = ingest(settings, embedder, folder)
    ids = {r.doc_id for r in stats.records}
    assert {"901", "901~z-copy"} <= ids
    assert any("both claim vol.901" in w for w in report.warnings)
    again, _ = ingest(settings, embedder, folder)
    assert again.count("unchanged") == 4 and again.embedded == 0


def test_rebuild_starts_from_scratch(settings: Settings, embedder: Embedder, folder: Path) -> None:
    _, first = ingest(settings, embedder, folder)
    report, stats = ingest(settings, embedder, folder, rebuild=True)
    assert report.count("added") == 3 and stats.chunks == first.chunks


def test_other_embedding_model_is_a_clear_error(settings: Settings, embedder: Embedder, folder: Path) -> None:
    ingest(settings, embedder, folder)
    with pytest.raises(EmbeddingMismatchError, match=r"(?s)all-MiniLM-L6-v2.*re-index"):
        Store(settings, model_name="some/other-model", dimension=768, create=False)


def test_search_without_an_index_says_how_to_build_it(settings: Settings, embedder: Embedder) -> None:
    with pytest.raises(StoreError, match="assistant ingest"):
        Library.open(settings, embedder=embedder)


def test_a_second_writer_stops_within_the_timeout(
    settings: Settings, embedder: Embedder, folder: Path
) -> None:
    ingest(settings, embedder, folder)
    with (
        Library.open(settings, write=True, purpose="assistant serve", embedder=embedder),
        pytest.raises(StoreBusyError, match=r"held by assistant serve \(pid \d+"),
    ):
        Library.open(settings, write=True, embedder=embedder)


def test_interrupted_update_is_invisible_then_rolled_back(
    settings: Settings, embedder: Embedder, folder: Path
) -> None:
    """A crash after a new version's chunks were written but before the commit, where the file no
    longer holds those bytes: the next write drops the unfinished version and keeps the indexed one."""
    ingest(settings, embedder, folder)
    with Library.open(settings, write=True, embedder=embedder) as library:
        record = library.records()["901"]
        ghost = next(iter(library.store.iter_chunks(["901"])))
        from dataclasses import replace

        from assistant.models import Chunk

        chunk = Chunk(
            chunk_id="901:ffffffffffff:0000",
            doc_id="901",
            index=0,
            text="GHOST TEXT about rivers",
            section=ghost.section,
            start=0,
            end=10,
            page=None,
            volume="901",
            title=ghost.title,
            date=ghost.date,
            source=ghost.source,
            language="en",
            brief_hash="f" * 64,
        )
        library.store.mark_pending([replace(record, pending="f" * 64)])
        library.store.write_chunks([chunk], embedder.embed_passages(["GHOST TEXT about rivers"]))
        library.store.invalidate()
        assert not any("GHOST" in p.text for p in library.search("GHOST TEXT about rivers", k=10))
        stats = library.stats()
        assert stats.briefs == 3 and [r.state for r in stats.records if r.doc_id == "901"] == ["updating"]
    report, stats = ingest(settings, embedder, folder)
    assert report.count("unchanged") == 3 and report.embedded == 0
    assert any("vol.901 (a.txt): an interrupted update was rolled back" in w for w in report.warnings)
    assert stats.pending == () and all(r.state == "indexed" for r in stats.records)
    with Library.open(settings, embedder=embedder) as library:
        assert library.store.chunk_ids("901") == [
            f"901:{record.sha256[:12]}:{i:04d}" for i in range(record.chunks)
        ]
        assert library.keyword.count() == library.store.count()


def test_interrupted_new_brief_is_listed_as_pending_then_rolled_forward(
    settings: Settings, embedder: Embedder, folder: Path, tmp_path: Path
) -> None:
    """A new brief whose write stopped half way: listed as pending (not counted, not searchable, not
    offered as a filter); the next write finishes it, and the index equals a clean build."""
    import hashlib
    from dataclasses import replace

    from assistant.indexing.chunking import chunk_brief, chunker_signature
    from assistant.indexing.ingest import _record
    from assistant.reading import parse_brief

    ingest(settings, embedder, folder)
    extra = tmp_path / "later" / "c.txt"
    extra.parent.mkdir()
    extra.write_text(brief(903, "Cold roofs", "White roofs reflect sunlight and cool buildings."))
    data = extra.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    parsed = parse_brief(data, extra)
    with Library.open(settings, write=True, embedder=embedder) as library:
        chunks = chunk_brief(
            parsed,
            digest,
            embedder.count_tokens,
            chunk_tokens=settings.chunk_tokens,
            model_max_tokens=embedder.max_tokens,
        )
        signature = chunker_signature(settings.chunk_tokens, embedder.name)
        record = _record(parsed, str(extra), digest, len(chunks), len(data), signature)
        # The steps `ingest._write` takes, stopped before the commit: marked pending, half written.
        library.store.mark_pending([replace(record, sha256="", pending=digest)])
        half = chunks[: max(1, len(chunks) // 2)]
        library.store.write_chunks(half, embedder.embed_passages([c.text for c in half]))
    with Library.open(settings, embedder=embedder) as library:
        stats = library.stats()
        assert stats.briefs == 3 and [r.doc_id for r in stats.pending] == ["903"]
        assert stats.to_dict()["pending"] == ["903"]
        assert library.search("white roofs reflect sunlight cool buildings")[0].doc_id != "903"
    report, stats = ingest(settings, embedder, folder)  # the next write finishes it
    assert any("903 (c.txt): an interrupted write was finished" in w for w in report.warnings), (
        report.warnings
    )
    assert stats.briefs == 4 and stats.pending == ()
    with Library.open(settings, embedder=embedder) as library:
        assert library.search("white roofs reflect sunlight cool buildings")[0].doc_id == "903"
        assert library.store.chunk_ids("903") == [c.chunk_id for c in chunks]
        assert library.keyword.count() == library.store.count()


def test_make_settings_helper_points_at_tmp(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings.store_dir == tmp_path / "store"


def test_a_brief_chunked_again_into_fewer_passages_leaves_none_of_the_old_behind(
    settings: Settings, embedder: Embedder, folder: Path
) -> None:
    # Same files, a chunker that cuts larger passages: the same ids are written again, fewer of them,
    # and the ones not written again must not stay searchable.
    ingest(settings.model_copy(update={"chunk_tokens": 48}), embedder, folder)
    larger = settings.model_copy(update={"chunk_tokens": 200})
    report, stats = ingest(larger, embedder, folder)
    assert report.count("updated") == 3
    with Library.open(larger, embedder=embedder) as library:
        ids = library.store.chunk_ids("697")
        assert sorted(int(cid.rsplit(":", 1)[1]) for cid in ids) == list(range(len(ids)))
        assert library.store.count() == stats.chunks == library.keyword.count()


def test_a_passage_of_fewer_than_three_words_gets_no_route_of_its_own(embedder: Embedder) -> None:
    # Embedded alone by the multilingual model, an image's file name or a lone "①" came out close
    # to every vague question and ranked its brief first for them.
    from dataclasses import replace

    from assistant.indexing.chunking import chunk_brief
    from assistant.indexing.ingest import _Pending, _record, route_parts
    from assistant.indexing.report import Outcome
    from assistant.reading import parse_brief

    path = CORPUS / "vol697.txt"
    parsed = parse_brief(path.read_bytes(), path)
    chunks = chunk_brief(parsed, "c" * 64, embedder.count_tokens, chunk_tokens=200, model_max_tokens=256)
    assert len(chunks) > 4
    chunks[2] = replace(chunks[2], text="thumb_20230216174157925.JPG")
    chunks[3] = replace(chunks[3], text="① ")
    chunks[4] = replace(chunks[4], text="Issue Studies 2021")
    record = _record(parsed, str(path), "c" * 64, len(chunks), 1, "test")
    pending = _Pending(record, chunks, Outcome(str(path), "added", record.doc_id, len(chunks)), None)
    owners, texts, parts = route_parts([pending])
    assert parts == [0] + [c.index + 1 for c in chunks if c.index not in (2, 3, 4)]
    assert len(owners) == len(texts) == len(parts) and texts[1] == chunks[0].text
