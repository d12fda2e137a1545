"""Backends come from registries: a new one is a factory and an entry, and every name the settings,
the CLI and the app offer is read from there."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answering.generation import GENERATORS, Condenser, make_generator
from assistant.answering.generation.extractive import ExtractiveGenerator
from assistant.answering.generation.llm import ChatGenerator
from assistant.answering.reader import READERS, NoReader, make_reader
from assistant.cli import build_parser
from assistant.config import Settings
from assistant.errors import ConfigError, StoreError
from assistant.indexing.embeddings import make_embeddings
from assistant.indexing.index import index_backend
from assistant.library import Library


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_unknown_backends_name_the_choices() -> None:
    with pytest.raises(ConfigError) as reader:
        make_reader(settings(reader="gpt-9"))
    assert "ASSISTANT_READER" in reader.value.message and "local, openai, none" in (reader.value.hint or "")
    with pytest.raises(ConfigError) as generator:
        make_generator(settings(generator="gpt-9"))
    assert "extractive, llamacpp, openai" in (generator.value.hint or "")
    with pytest.raises(ConfigError) as embedding:
        make_embeddings(settings(embedding_model="word2vec"))
    assert "minilm, minilm-torch, e5" in (embedding.value.hint or "")
    with pytest.raises(ConfigError) as index:
        index_backend(settings(index="faiss"))
    assert "ASSISTANT_INDEX" in index.value.message and "chroma, memory" in (index.value.hint or "")


def test_the_index_backend_decides_locking_and_where_the_keyword_index_lives(tmp_path: Path) -> None:
    embedded = index_backend(settings(store_dir=str(tmp_path)))
    server = index_backend(settings(store_dir=str(tmp_path), chroma_url="http://127.0.0.1:9"))
    memory = index_backend(settings(store_dir=str(tmp_path), index="memory"))
    assert (embedded.persistent, embedded.local_folder) == (True, True)
    assert (server.persistent, server.local_folder) == (True, False)
    assert (memory.persistent, memory.local_folder) == (False, False)
    with pytest.raises(StoreError, match="memory"):  # nothing written to it in this process yet
        Library.open(settings(store_dir=str(tmp_path / "never"), index="memory"))


def test_a_registered_backend_is_chosen_by_name_and_offered_by_the_cli(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terse(ExtractiveGenerator):
        name = "terse"

    monkeypatch.setitem(GENERATORS, "terse", lambda s: Terse(max_sentences=1))
    monkeypatch.setitem(READERS, "silent", lambda s: NoReader())
    assert make_generator(settings(generator="terse")).name == "terse"
    assert make_reader(settings(reader="silent")).name == "none"
    args = build_parser().parse_args(["ask", "housing", "--generator", "terse"])
    assert args.generator == "terse"


def test_capabilities_not_classes_decide_behaviour() -> None:
    extractive = ExtractiveGenerator()
    assert extractive.quotes and not isinstance(extractive, Condenser)
    chat = ChatGenerator(FakeListChatModel(responses=["ok"]), name="chat")
    assert not chat.quotes and isinstance(chat, Condenser)
