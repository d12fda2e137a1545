"""Backends come from registries: a new one is a factory and an entry, and every name the settings,
the CLI and the app offer is read from there."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answering.generation import GENERATORS, Condenser, make_generator
from assistant.answering.generation.extractive import ExtractiveGenerator
from assistant.answering.generation.llm import ChatGenerator
from assistant.answering.reader import READERS, NoReader, make_reader
from assistant.cli import build_parser
from assistant.config import Settings
from assistant.errors import ConfigError


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_unknown_backends_name_the_choices() -> None:
    with pytest.raises(ConfigError) as reader:
        make_reader(settings(reader="gpt-9"))
    assert "ASSISTANT_READER" in reader.value.message and "local, openai, none" in (reader.value.hint or "")
    with pytest.raises(ConfigError) as generator:
        make_generator(settings(generator="gpt-9"))
    assert "extractive, llamacpp, openai" in (generator.value.hint or "")


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
