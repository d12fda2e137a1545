"""Chunks fit the model's real limit (counted with its tokenizer), keep sections and proposals whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.indexing.chunking import chunk_brief, embedding_text
from assistant.indexing.embeddings import Embedder
from assistant.indexing.records import chunk_metadata, passage_from
from assistant.reading import read_brief
from tests.conftest import CORPUS

MAX = 10_000_000


def test_chunks_fit_the_model_limit_including_title(embedder: Embedder, tmp_path: Path) -> None:
    long_point = " ".join(
        f"Sentence number {i} explains one more detail of the urban policy." for i in range(80)
    )
    path = tmp_path / "long.txt"
    path.write_text(
        "TITLE A long brief\nVolume vol.950 DATE 2020-01-01\n\nA long brief\n\n"
        f"(Current issue) {long_point}\n"
    )
    brief = read_brief(path, max_bytes=MAX)
    chunks = chunk_brief(brief, "f" * 64, embedder.count_tokens, chunk_tokens=200, model_max_tokens=256)
    assert len(chunks) > 3  # the over-long block was cut
    for chunk in chunks:
        assert embedder.count_tokens(embedding_text(chunk)) + 2 <= embedder.max_tokens
        assert chunk.section in ("Title and authors", "Current issue")
        assert brief.text[chunk.start : chunk.end] == chunk.text  # the span points at the passage
    assert all(c.text.rstrip().endswith(".") for c in chunks[1:-1]), "cuts fall on sentence ends"


def test_proposals_are_never_cut_and_sections_never_mixed(embedder: Embedder) -> None:
    brief = read_brief(CORPUS / "vol697.txt", max_bytes=MAX)
    chunks = chunk_brief(brief, "a" * 64, embedder.count_tokens, chunk_tokens=200, model_max_tokens=256)
    proposals = [c for c in chunks if c.section == "Policy proposals"]
    joined = "\n".join(c.text for c in proposals)
    for number in ("1. Ensure active", "2. Establish an organization", "3. Build a control tower"):
        assert sum(number in c.text for c in proposals) == 1
    assert joined.count("\n") >= 2
    block_sections = {b.section for b in brief.blocks}
    assert {c.section for c in chunks} == block_sections


@pytest.mark.parametrize("chunk_tokens", [64, 128, 200])
def test_chunk_ids_are_stable_and_unique(embedder: Embedder, chunk_tokens: int) -> None:
    brief = read_brief(CORPUS / "vol697.txt", max_bytes=MAX)
    first = chunk_brief(
        brief, "b" * 64, embedder.count_tokens, chunk_tokens=chunk_tokens, model_max_tokens=256
    )
    again = chunk_brief(
        brief, "b" * 64, embedder.count_tokens, chunk_tokens=chunk_tokens, model_max_tokens=256
    )
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    assert all(c.chunk_id.startswith("697:bbbbbbbbbbbb:") for c in first)
    assert all(c.title == brief.title and c.date == "2019-11-22" for c in first)


def test_a_passage_read_back_from_the_index_embeds_as_its_chunk_did(embedder: Embedder) -> None:
    """`benchmarks.encoders` embeds stored passages again: they must read as ingestion embedded them."""
    brief = read_brief(CORPUS / "vol697.txt", max_bytes=MAX)
    chunks = chunk_brief(brief, "c" * 64, embedder.count_tokens, chunk_tokens=200, model_max_tokens=256)
    sections = {c.section for c in chunks}
    assert len(sections) >= 3  # the title block, the overview and body sections take different forms
    for chunk in chunks:
        stored = passage_from(chunk.chunk_id, chunk.text, chunk_metadata(chunk))
        assert embedding_text(stored) == embedding_text(chunk)
