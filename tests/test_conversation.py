"""What a question may take from the conversation (`assistant/answering/conversation.py`): the pure
rules, fast. The same behaviour with the real model and index is in test_small_library.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answering.conversation import (
    SAME_BRIEF_COSINE,
    Turn,
    announces_new_topic,
    context_of,
    continues,
    leans_on_previous,
)
from assistant.answering.generation.evidence import title_block_request
from assistant.models import Answer, BriefRef

A = BriefRef("952", "952", "Keeping older drivers safe", "2023-02-20")
B = BriefRef("953", "953", "Turning closed schools into community hubs", "2023-03-02")
C = BriefRef("951", "951", "Cooling hot city centres", "2023-01-10")


def refused(nearest: tuple[BriefRef, ...], judged: tuple[tuple[str, float], ...]) -> Turn:
    answer = Answer("How many drivers handed in their licence?", (), True, nearest=nearest, judged=judged)
    return Turn(answer.question, answer.question, answer)


def test_after_a_refusal_the_context_is_the_named_brief_the_judge_found_likeliest() -> None:
    # The refusal named three briefs in retrieval order; the judge gave the second the best chance.
    context = context_of([refused((B, A, C), (("952", 0.31), ("953", 0.02)))], turns=4)
    assert context is not None and context.refused
    assert [b.doc_id for b in context.briefs] == ["952"] and context.quoted == frozenset()
    assert context.previous_question == "How many drivers handed in their licence?"


def test_after_a_refusal_nobody_judged_the_first_named_brief_is_the_context() -> None:
    context = context_of([refused((B, A), ())], turns=4)
    assert context is not None and [b.doc_id for b in context.briefs] == ["953"]
    assert context_of([refused((), ())], turns=4) is None  # a refusal that named nothing offers nothing
    assert context_of([], turns=4) is None


def test_after_a_refusal_the_question_is_read_on_its_own_first() -> None:
    # The refused turn's likeliest brief is a guess (for an off-topic question, an arbitrary one):
    # the question's own reading is kept, and the one within that brief is judged only if it refuses.
    context = context_of([refused((A,), (("952", 0.3),))], turns=4)
    assert context is not None
    assert not continues(0.2, 0.9, "952", context)
    assert not continues(-0.3, 0.1, "951", context)
    # After an answer, the margins decide, and landing on the previous brief continues.
    answered = Answer("q", (), False)
    after_answer = replace(context, refused=False)
    assert continues(-0.3, 0.1, "951", after_answer) and continues(0.9, 0.1, "952", after_answer)
    assert not continues(0.9, 0.1, "951", after_answer)
    assert context_of([Turn("q", "q", answered)], turns=4) is None  # an answer that cited nothing


def test_after_a_refusal_a_question_as_close_to_the_refused_brief_as_to_any_stays_in_it() -> None:
    # "How does it propose fixing that?" after a refused question on zoning: on its own it is no closer
    # to any brief than to the one the refusal found likeliest, so it is read within that brief first.
    context = context_of([refused((A,), (("952", 0.3),))], turns=4)
    assert context is not None
    assert continues(0.0, 0.0, "951", context, (0.31, 0.31 + SAME_BRIEF_COSINE / 2))
    # A question much closer to another brief is a new topic; unmeasured closeness changes nothing.
    assert not continues(0.0, 0.0, "951", context, (0.29, 0.54))
    assert not continues(0.0, 0.0, "951", context, None)


@pytest.mark.parametrize(
    "question",
    [
        "OK, switching to floods: what does the flood brief propose first?",
        "Different question: who uses the land research?",
        "Separate question - how many towns?",
        "Unrelated, but what do the housing figures say?",
        "Now, a different topic: rents",
        "다른 얘기인데, 코로나19 이후 도시는 어떻게 바뀌나요?",
        "그건 그렇고 주택 공급은요?",
    ],
)
def test_a_question_that_says_it_changes_the_subject_starts_afresh(question: str) -> None:
    assert announces_new_topic(question)


@pytest.mark.parametrize(
    "question",
    [
        "What did it propose?",
        "Is there a different approach?",
        "Another question about it: how many cities?",
        "So what about other cities?",
        "다른 나라는 어때요?",
        "What changed in the new plan?",
    ],
)
def test_a_follow_up_that_mentions_difference_is_not_a_change_of_subject(question: str) -> None:
    assert not announces_new_topic(question)


@pytest.mark.parametrize(
    ("question", "language", "leans"),
    [
        ("So what do they propose instead?", "en", True),
        ("What's supposed to go in it?", "en", True),
        ("그 사업은 어디서 해요?", "ko", True),
        # it names enough to be found on its own, or points back at nothing
        ("How many cities are classified as shrinking cities in their report?", "en", False),
        ("Which cities are affected?", "en", False),
        ("그럼 코로나 이후 도시에 어떤 변화가 생긴다고 봤어요?", "ko", False),
    ],
)
def test_a_question_that_points_back_and_names_little_leans_on_the_turns_before(
    question: str, language: str, leans: bool
) -> None:
    assert leans_on_previous(question, language) is leans


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("When did they put that out?", "en", "When was vol.952 published?"),
        ("Who wrote that one?", "en", "Who wrote vol.952?"),
        ("그 브리프는 언제 나온 거예요?", "ko", "vol.952은(는) 언제 발간되었나요?"),
        # it says what it is about, or asks for something else: not a request for the title block alone
        ("When was the brief on shrinking cities published?", "en", None),
        ("When do the conditional licences start?", "en", None),
        ("What did they propose?", "en", None),
    ],
)
def test_a_request_for_only_the_title_block_is_said_about_the_brief(
    question: str, language: str, expected: str | None
) -> None:
    assert title_block_request(question, "vol.952", language) == expected
