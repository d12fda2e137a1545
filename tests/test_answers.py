"""Answering with the default extractive generator: citations, refusals, follow-ups, streaming.

Real MiniLM model and a real Chroma index of ../shared/briefs (marked `shared`).
"""

from __future__ import annotations

import pytest

from assistant.answering.conversation import Turn
from assistant.answering.parts import question_parts
from assistant.answering.questions import QuestionError
from assistant.library import Library
from assistant.models import SearchFilter

pytestmark = pytest.mark.shared


def test_answer_cites_vol697_with_quotes_from_its_passages(briefs_library: Library) -> None:
    assistant = briefs_library.assistant()
    answer = assistant.ask("What role do manufacturing innovation institutes play in the USA?")
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {"697"}
    passages = {p.chunk_id: p for p in answer.passages}
    for sentence in answer.sentences:
        assert sentence.citations, f"uncited claim: {sentence.text}"
        for citation in sentence.citations:
            assert citation.quote in passages[citation.chunk_id].text  # the quote is really in the passage
            assert citation.title.startswith("Measures to create") and citation.date == "2019-11-22"
            assert citation.section and citation.source == "vol_697.txt"
    assert "[vol.697]" in answer.text
    assert "network hubs" in answer.text


def test_unanswerable_question_is_refused_with_nearest_briefs(briefs_library: Library) -> None:
    answer = briefs_library.assistant().ask(
        "What fare structure is proposed for the GTX commuter rail lines?"
    )
    assert answer.refused and not answer.citations
    assert "do not answer" in answer.text
    assert len(answer.nearest) == 3
    assert all(n.title and n.date for n in answer.nearest)
    assert all(n.label in answer.text for n in answer.nearest)


def test_question_about_a_volume_that_is_not_indexed(briefs_library: Library) -> None:
    answer = briefs_library.assistant().ask("What does vol.999 say about ports?")
    assert answer.refused
    assert "vol.999 is not in the index" in answer.text
    assert answer.nearest  # still points somewhere useful


def test_explicit_filter_keeps_answers_inside_it(briefs_library: Library) -> None:
    answer = briefs_library.assistant().ask(
        "What should the government do to support new companies?", flt=SearchFilter(doc_ids=("686",))
    )
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {"686"}


def test_streaming_ends_with_the_verified_answer(briefs_library: Library) -> None:
    events = list(briefs_library.assistant().stream("How many cities are classified as shrinking cities?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "status" and "vol." in events[0].text  # "Reading the briefs (vol.616, ...)"
    assert kinds[-1] == "final" and set(kinds[1:-1]) == {"delta"}
    final = events[-1].answer
    assert final is not None and not final.refused
    assert "".join(e.text for e in events[1:-1]) == final.text  # extractive drafts need no correction
    assert "20 cities" in final.text


def test_quoted_bullets_without_full_stops_are_answered(briefs_library: Library) -> None:
    """vol.586's bullets end without a full stop; quoting two of them must still verify as two claims."""
    question = "What did KRIHS recommend about elderly drivers?"
    answer = briefs_library.assistant().ask(question)
    assert not answer.refused and not answer.notes
    claims = [s for s in answer.sentences if s.claim]
    assert len(claims) >= 2 and all(s.citations for s in claims)
    assert "586" in {c.doc_id for c in answer.citations}


def test_a_question_about_two_topics_quotes_both_briefs(briefs_library: Library) -> None:
    """Asked whole, no one brief answers both halves: it is refused, or answered from one of them (the
    policy with the reader's probe finds vol.586 answers its half); split into its two parts
    (`ASSISTANT_SPLIT_QUESTIONS`), each is answered from its own brief."""
    question = "What did KRIHS recommend about elderly drivers and about shrinking cities?"
    whole = briefs_library.assistant()
    whole.split_questions = False
    assert len({c.doc_id for c in whole.ask(question).citations}) <= 1
    split = briefs_library.assistant()
    split.judge._probes.clear()  # the model's readings remembered from here on
    answer = split.ask(question)
    assert {c.doc_id for c in answer.citations} == {"586", "616"}
    assert answer.standalone_question == (
        "What did KRIHS recommend about elderly drivers? | What did KRIHS recommend about shrinking cities?"
    )
    read = {key[0] for key in split.judge._probes}
    assert read and question not in read  # its parts are read, its whole (never answered as such) is not


def test_a_two_part_question_with_a_part_no_brief_states_stays_refused(briefs_library: Library) -> None:
    """Half an answer would pass a near-miss: the first part is answerable, the second asks for a
    figure no brief gives."""
    question = (
        "What did KRIHS recommend about elderly drivers, and how many elderly drivers lived in Busan in 1985?"
    )
    first, _ = question_parts(question, "en")
    assistant = briefs_library.assistant()
    assert not assistant.ask(first).refused
    assert assistant.ask(question).refused


def test_follow_up_question_uses_the_conversation(briefs_library: Library) -> None:
    assistant = briefs_library.assistant()
    first = assistant.ask("What purpose do the US manufacturing innovation institutes serve?")
    turn = Turn(first.question, first.standalone_question, first)
    follow = assistant.ask("What did it propose for Korea?", history=[turn])
    assert not follow.refused
    assert {c.doc_id for c in follow.citations} == {"697"} and [b.doc_id for b in follow.context] == ["697"]
    said = {s.text for s in first.sentences}
    assert not said & {s.text for s in follow.sentences}  # it answers the new question, not the old one
    alone = assistant.ask("What did it propose for Korea?")
    assert alone.context == ()


def test_a_new_topic_after_an_answer_is_not_held_to_the_previous_brief(briefs_library: Library) -> None:
    assistant = briefs_library.assistant()
    first = assistant.ask("What role do the US manufacturing innovation institutes play?")
    history = [Turn(first.question, first.standalone_question, first)]
    question = "How many cities are classified as shrinking cities in their report on the demographic cliff?"
    shrinking = assistant.ask(question, history=history)
    assert {c.doc_id for c in shrinking.citations} == {"616"} and shrinking.context == ()
    refused = assistant.ask("What are the tolls on the Seoul ring expressway?", history=history)
    assert refused.refused and refused.context == () and len(refused.nearest) == 3
    after_refusal = assistant.ask(
        "What indicators can diagnose gentrification?",
        history=[*history, Turn(refused.question, refused.standalone_question, refused)],
    )
    assert {c.doc_id for c in after_refusal.citations} == {"713"}


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\x02"])
def test_empty_questions_are_errors(briefs_library: Library, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        briefs_library.assistant().ask(question)


def test_overlong_questions_are_errors_and_control_characters_are_removed(briefs_library: Library) -> None:
    assistant = briefs_library.assistant()
    with pytest.raises(QuestionError, match="limit is 2,000"):
        assistant.ask("housing " * 20_000)
    answer = assistant.ask("How many cities\x07 are classified as\x1b shrinking cities?")
    assert "\x07" not in answer.question and not answer.refused
    undecodable = b"shrinking cities \xff\xfe".decode("utf-8", "surrogateescape")  # as argv gives it
    for question in (undecodable, "shrinking \ud800 cities"):
        with pytest.raises(QuestionError, match="question holds bytes that are not UTF-8 text"):
            assistant.ask(question)
        with pytest.raises(QuestionError, match="query holds bytes"):
            briefs_library.search(question)
