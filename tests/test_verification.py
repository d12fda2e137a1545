"""Citation verification with a scripted chat model (the one fake: a language model can't be scripted
otherwise). The retriever, embedder, reader and verifier are all real; the index is the in-memory one
over the small library (tests/conftest.py), so these run without ../shared."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answering.generation.llm import ChatGenerator
from assistant.library import Library

QUESTION = "What purpose do the US manufacturing innovation institutes serve?"


def ask_with(small_library: Library, *responses: str):  # type: ignore[no-untyped-def]
    model = FakeListChatModel(responses=list(responses))
    return small_library.assistant(ChatGenerator(model, name="scripted")).ask(QUESTION)


def passage_number(small_library: Library, doc_id: str, phrase: str) -> int:
    passages = small_library.assistant().retrieve(QUESTION).passages[:5]
    return next(i for i, p in enumerate(passages, start=1) if p.doc_id == doc_id and phrase in p.text)


def test_supported_sentences_keep_their_citations(small_library: Library) -> None:
    n = passage_number(small_library, "697", "network hubs")
    answer = ask_with(
        small_library,
        f"The USA established manufacturing innovation institutes as network hubs between basic research "
        f"and production [{n}].",
    )
    assert not answer.refused and not answer.notes
    assert [c.doc_id for c in answer.citations] == ["697"]
    assert "network hubs" in answer.citations[0].quote


def test_invented_volume_citation_is_dropped(small_library: Library) -> None:
    n = passage_number(small_library, "697", "network hubs")
    answer = ask_with(
        small_library,
        f"The USA established manufacturing innovation institutes as network hubs [{n}] [vol.999]. "
        "They were set up to link research and production [99].",
    )
    assert {c.doc_id for c in answer.citations} == {"697"}
    assert any("[vol.999]" in note and "[99]" in note for note in answer.notes)


def test_unsupported_sentence_is_removed(small_library: Library) -> None:
    n = passage_number(small_library, "697", "network hubs")
    answer = ask_with(
        small_library,
        f"The USA established manufacturing innovation institutes as network hubs to narrow the gap between "
        f"basic research and production [{n}]. The institutes also run a fleet of electric ferries on the "
        f"Han river for commuters [{n}]. The USA established manufacturing innovation institutes as network "
        f"hubs to build an innovative ecosystem for industry, academia and research cooperation [{n}].",
    )
    assert "ferries" not in answer.text
    assert any("unsupported" in note for note in answer.notes)
    assert all(s.citations for s in answer.sentences)


@pytest.mark.parametrize(
    "invented",
    [
        "The federal government invested in manufacturing innovation institutes only in the Rust Belt [{n}].",
        "The federal government invested in 45 manufacturing innovation institutes in the Rust Belt [{n}].",
        "The Obama administration invested in manufacturing innovation institutes in the Rust Belt [{n}].",
    ],
    ids=["meaning flipped", "number invented", "name invented"],
)
def test_claims_that_change_the_facts_are_not_supported(small_library: Library, invented: str) -> None:
    n = passage_number(small_library, "697", "Rust Belt")
    answer = ask_with(small_library, invented.format(n=n))
    assert "Rust Belt" not in answer.text or "not only" in answer.text  # replaced by the quoted brief
    assert answer.notes  # the reader is told the generated answer was not kept


def test_model_that_refuses_or_rambles_falls_back_to_quotes(small_library: Library) -> None:
    for reply in ("NOT IN BRIEFS", "I think the answer might be about cities, probably."):
        answer = ask_with(small_library, reply)
        assert not answer.refused
        assert {c.doc_id for c in answer.citations} == {"697"}
        assert answer.notes and "quoted sentences" in answer.notes[0]


def test_streamed_model_text_shows_volume_labels(small_library: Library) -> None:
    n = passage_number(small_library, "697", "network hubs")
    model = FakeListChatModel(
        responses=[f"Institutes act as network hubs between research and production [{n}]."]
    )
    events = list(small_library.assistant(ChatGenerator(model, name="scripted")).stream(QUESTION))
    streamed = "".join(e.text for e in events if e.kind == "delta")
    assert "[vol.697]" in streamed and f"[{n}]" not in streamed
