"""The answer policy and conversations on the small library (vol.697, three fictional English briefs
and a fictional Korean one, in the in-memory index): real model, reader and verification, nothing
from ../shared. The real-brief versions of these checks are in test_answers.py."""

from __future__ import annotations

import pytest

from assistant.answering.conversation import Turn
from assistant.answering.qa import Assistant
from assistant.config import Settings
from assistant.indexing.embeddings import Embedder
from assistant.library import Library
from assistant.models import Answer


def cited(answer: Answer) -> set[str]:
    return {c.doc_id for c in answer.citations}


def turn(answer: Answer) -> Turn:
    return Turn(answer.question, answer.standalone_question, answer)


@pytest.fixture
def assistant(small_library: Library) -> Assistant:
    return small_library.assistant()


def test_the_index_holds_every_small_brief_once(small_library: Library) -> None:
    stats = small_library.stats()
    assert sorted(r.doc_id for r in stats.records) == ["697", "901", "951", "952", "953"]
    assert stats.chunks == stats.keyword_chunks > 0 and stats.disk_bytes is None


@pytest.mark.parametrize(
    ("question", "brief"),
    [
        ("How could cities cool down their centres in summer?", "951"),
        ("What should replace the transport voucher for older people who give up driving?", "952"),
        ("What can be done with closed schools?", "953"),
    ],
)
def test_a_question_in_lay_words_is_answered_from_its_brief(
    assistant: Assistant, question: str, brief: str
) -> None:
    answer = assistant.ask(question)
    assert not answer.refused and cited(answer) == {brief}
    assert all(s.citations for s in answer.sentences)


@pytest.mark.parametrize(
    "question",
    [
        "What are the tolls on the Seoul ring expressway?",  # no brief is about it
        "How many heatwave days did Maru have last year?",  # vol.951 says only that they doubled
    ],
    ids=["off-topic", "near-miss"],
)
def test_questions_the_briefs_do_not_answer_are_refused(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused and not answer.citations and len(answer.nearest) == 3


def test_a_follow_up_is_answered_within_the_previous_brief(assistant: Assistant) -> None:
    first = assistant.ask("What should replace the transport voucher for older people who give up driving?")
    follow = assistant.ask("What did the survey of older drivers find?", history=[turn(first)])
    assert cited(follow) == {"952"} and [b.doc_id for b in follow.context] == ["952"]
    assert "1,200" in follow.text
    assert not {s.text for s in first.sentences} & {s.text for s in follow.sentences}


def test_a_new_topic_and_a_question_after_a_refusal_leave_the_previous_brief(assistant: Assistant) -> None:
    first = assistant.ask("What should replace the transport voucher for older people who give up driving?")
    history = [turn(first)]
    schools = assistant.ask("What can be done with closed schools?", history=history)
    assert cited(schools) == {"953"} and schools.context == ()
    refused = assistant.ask("What are the tolls on the Seoul ring expressway?", history=history)
    assert refused.refused and refused.context == ()
    after = assistant.ask(
        "How could cities cool down their centres in summer?", history=[*history, turn(refused)]
    )
    assert cited(after) == {"951"}


def test_a_question_that_says_it_switches_topic_is_not_read_within_the_previous_brief(
    assistant: Assistant,
) -> None:
    # "the first thing proposed" matches the previous brief's proposals as well as any other's: read
    # within vol.952 it was answered with its first proposal (conditional licences), a wrong citation.
    first = assistant.ask("What should replace the transport voucher for older people who give up driving?")
    switched = assistant.ask("Switching to schools: what is the first thing proposed?", history=[turn(first)])
    assert cited(switched) == {"953"} and switched.context == ()
    assert "long leases" in switched.text


@pytest.mark.parametrize(
    ("first_question", "follow_up", "brief"),
    [
        (
            "How many older drivers handed in their licence last year?",
            "So what do they propose instead?",
            "952",
        ),
        ("How many heatwave days did Maru have last year?", "What should the city do about it?", "951"),
    ],
)
def test_a_follow_up_to_a_refused_question_is_read_within_the_brief_it_was_nearest(
    assistant: Assistant, first_question: str, follow_up: str, brief: str
) -> None:
    # The first questions ask for what the briefs do not state; the follow-ups, read on their own,
    # name nothing a brief could be found by ("they", "it").
    first = assistant.ask(first_question)
    assert first.refused and first.nearest[0].doc_id == brief
    follow = assistant.ask(follow_up, history=[turn(first)])
    assert cited(follow) == {brief} and [b.doc_id for b in follow.context] == [brief]


def test_a_vague_follow_up_is_answered(assistant: Assistant) -> None:
    first = assistant.ask("What should replace the transport voucher for older people who give up driving?")
    follow = assistant.ask("What kind of licence did it suggest?", history=[turn(first)])
    assert cited(follow) == {"952"} and "conditional" in follow.text


def test_a_follow_up_refused_as_asked_is_rewritten_to_stand_alone(assistant: Assistant) -> None:
    # "Has anyone abroad done it?" names nothing the judge can hold the brief's sentences to: as asked
    # it is refused within vol.951 and on its own. Rewritten by the model from the question it follows
    # ("... cities cooling their centres with green corridors along rivers?"), it is answered from that
    # brief. (Which of its sentences come first varies with the model's wording of the rewrite.)
    first = assistant.ask("How could cities cool down their centres in summer?")
    assert cited(first) == {"951"}
    follow_up = "Has anyone abroad done it?"
    assistant.rewrite_follow_ups = False
    try:
        assert assistant.ask(follow_up, history=[turn(first)]).refused
    finally:
        assistant.rewrite_follow_ups = True
    follow = assistant.ask(follow_up, history=[turn(first)])
    assert cited(follow) == {"951"} and not follow.refused
    assert follow.standalone_question != follow_up and [b.doc_id for b in follow.context] == ["951"]


@pytest.mark.parametrize(
    "question",
    ["How much would those taxis cost a year?", "When do the conditional licences start?"],
    ids=["cost", "date"],
)
def test_a_follow_up_asking_for_what_the_brief_does_not_state_is_refused(
    assistant: Assistant, question: str
) -> None:
    # Read with the question it follows, a follow-up is as close to the brief as that question was:
    # what it asks for (a cost, a date) must still be in the brief for it to be answered.
    first = assistant.ask("What should replace the transport voucher for older people who give up driving?")
    follow = assistant.ask(question, history=[turn(first)])
    assert follow.refused and not follow.citations


def test_a_follow_up_asking_when_the_brief_came_out_is_answered_with_its_date(assistant: Assistant) -> None:
    # The date is a line of the brief's title block ("Volume vol.952 DATE 2023-02-20"), which used to be
    # dropped as a broken-off sentence, so no brief could say when it was published.
    first = assistant.ask("What should replace the transport voucher for older people who give up driving?")
    follow = assistant.ask("When did they put that out?", history=[turn(first)])
    assert cited(follow) == {"952"} and "2023-02-20" in follow.text


def test_asked_on_its_own_when_it_came_out_names_no_arbitrary_brief(assistant: Assistant) -> None:
    # Every brief has a date line: a question that says nothing of its topic must not be answered
    # with whichever brief's date ranked first.
    answer = assistant.ask("When did they put that out?")
    assert answer.refused and not answer.citations


def test_quotes_in_another_language_are_introduced_in_the_question_s_language(
    small_index: Settings, embedder: Embedder
) -> None:
    # By default the line above English quotes says only whose words they are and in which language:
    # the model-written summary line misread or added to the quotes in about half of the cases
    # reviewed (docs/renderings-review.md). It is still there for a stronger model, behind a setting.
    question = "여름에 도시 중심부를 식히려면 어떻게 해야 하나요?"
    with Library.open(small_index, embedder=embedder) as library:
        plain = library.assistant().ask(question)
    assert cited(plain) == {"951"}
    assert plain.sentences[0].text == "vol.951에 따르면(영어 원문 인용):" and not plain.sentences[0].claim
    rendering = small_index.model_copy(update={"render_across_languages": True})
    with Library.open(rendering, embedder=embedder) as library:
        rendered = library.assistant().ask(question)
    assert cited(rendered) == {"951"} and not rendered.sentences[0].claim
    assert rendered.sentences[0].text.startswith("요지(vol.951, 모델이 옮긴 말이며")
