"""Two-part questions split by their grammar (`assistant.answering.parts`)."""

from __future__ import annotations

import pytest

from assistant.answering.parts import question_parts, stands_alone
from assistant.library import Library
from assistant.models import Passage
from assistant.retrieval.search import with_briefs


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


def _passage(doc_id: str, n: int) -> Passage:
    return Passage(f"{doc_id}:h:{n:04d}", doc_id, None, doc_id, None, "", "", None, "text", 1.0)


def test_each_parts_best_brief_joins_the_whole_questions_ranking_after_its_first_briefs() -> None:
    whole = [_passage(d, n) for d in ("a", "b", "c", "d", "e", "f") for n in range(2)]
    first = [_passage("b", 5), _passage("x", 0), _passage("y", 0)]
    second = [_passage("z", 0), _passage("a", 0), _passage("w", 0)]
    merged = with_briefs(whole, [first, second], keep=3, k=100)
    order = list(dict.fromkeys(p.doc_id for p in merged))
    # b is already among the first three, so the first part adds nothing there; z comes in at 4th,
    # then the whole ranking's next briefs take turns with the parts' next ones.
    assert order == ["a", "b", "c", "z", "d", "x", "e", "y", "w", "f"]
    # a brief keeps the passages of the ranking that found it first
    assert [p.chunk_id for p in merged if p.doc_id == "b"] == ["b:h:0000", "b:h:0001"]
    assert len(with_briefs(whole, [first, second], keep=3, k=5)) == len(whole)  # never fewer than whole


def test_a_volume_named_in_one_part_restricts_only_that_part(briefs_library: Library) -> None:
    """The whole question names vol.586, so searched whole it reaches no other brief; its first part
    asks about another brief (the shrinking-cities study, vol.616) that the search then finds too."""
    question = "How many shrinking cities were counted, and what did vol.586 recommend for elderly drivers?"
    assistant = briefs_library.assistant()
    found = assistant.retrieve(question, k=10)
    briefs = list(dict.fromkeys(p.doc_id for p in found.passages))
    assert briefs[0] == "586" and "616" in briefs[:5]
    assert found.filter.empty  # the filter read from the whole question no longer describes it
    assistant.split_questions = False
    alone = assistant.retrieve(question, k=10)
    assert {p.doc_id for p in alone.passages} == {"586"} and alone.filter.doc_ids == ("586",)


def test_parts_that_set_the_same_filters_are_not_searched_apart(briefs_library: Library) -> None:
    question = "How many shrinking cities were counted, and what did KRIHS recommend for elderly drivers?"
    assistant = briefs_library.assistant()
    found = [p.chunk_id for p in assistant.retrieve(question, k=10).passages]
    assistant.split_questions = False
    assert [p.chunk_id for p in assistant.retrieve(question, k=10).passages] == found


@pytest.mark.parametrize(
    ("part", "language", "alone"),
    [
        ("What law did Korea enact in 2023 to manage urban floods (KEI study)?", "en", True),
        ("When was it published?", "en", False),  # points back to what the other part names
        ("How has this affected the regions?", "en", False),
        ("In which year?", "en", False),  # names nothing
        ("행정안전부가 지정한 인구감소지역은 몇 곳인가?(AURI)", "ko", True),
        ("그 보고서는 언제 나왔나?", "ko", False),
    ],
)
def test_a_part_stands_alone_when_it_names_what_it_asks_about(part: str, language: str, alone: bool) -> None:
    assert stands_alone(part, language) is alone
