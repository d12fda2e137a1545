"""Two-part questions split by their grammar (`assistant.answering.parts`)."""

from __future__ import annotations

import pytest

from assistant.answering.parts import question_parts


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How many towns did the first study count, and what tool did the institute build for floods?",
            ["How many towns did the first study count?", "What tool did the institute build for floods?"],
        ),
        (
            "Which year had the worst losses and why did the rules change?",
            ["Which year had the worst losses?", "Why did the rules change?"],
        ),
        (
            "What did the institute recommend about older drivers and about empty houses?",
            [
                "What did the institute recommend about older drivers?",
                "What did the institute recommend about empty houses?",
            ],
        ),
    ],
)
def test_an_english_question_asking_two_things_is_split(question: str, parts: list[str]) -> None:
    assert question_parts(question, "en") == parts


@pytest.mark.parametrize(
    "question",
    [
        "What does the brief say about jobs and housing?",  # one question about two things
        "What is the difference between smart cities and compact cities?",
        "How did land prices and rents change?",
        "Why, and how?",  # parts too short to search
        "What is the plan?",
    ],
)
def test_a_question_asking_one_thing_is_not_split(question: str) -> None:
    assert question_parts(question, "en") == []


def test_a_korean_question_asking_two_things_is_split_and_its_parts_end_as_questions() -> None:
    assert question_parts("지정된 지역은 몇 곳이고, 연구원이 제안한 지역은 어떤 곳인가요?", "ko") == [
        "지정된 지역은 몇 곳인가?",
        "연구원이 제안한 지역은 어떤 곳인가요?",
    ]
    # The second part has no topic of its own: it borrows the first one's.
    assert question_parts("그 법률은 언제 시행되었으며 무엇이 달라졌나?", "ko") == [
        "그 법률은 언제 시행되었나?",
        "그 법률은 무엇이 달라졌나?",
    ]


def test_a_korean_clause_without_a_question_word_is_not_a_part() -> None:
    # "늘고" joins two descriptions; only the end asks something.
    assert question_parts("인구가 줄고 빈집이 늘어나는 도시는 어떤 정책이 필요한가?", "ko") == []
    assert question_parts("도시재생 뉴딜은 언제부터, 어느 정부가 추진했나요?", "ko") == []
