"""Filters read from questions, date bounds, and sentence splitting (table-driven)."""

from __future__ import annotations

import pytest

from assistant.answering.generation.verify import _sentences_with_markers
from assistant.models import SearchFilter
from assistant.reading.text import display_sentence, split_sentences
from assistant.retrieval.filters import date_bound, filter_from_question, merge


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does vol.697 propose?", SearchFilter(doc_ids=("697",))),
        ("According to KRIHS brief 697, what is eroding manufacturing?", SearchFilter(doc_ids=("697",))),
        ("697호의 정책 제언은?", SearchFilter(doc_ids=("697",))),
        ("제697호 브리프 요약", SearchFilter(doc_ids=("697",))),
        ("Compare vol.616 and vol.642", SearchFilter(doc_ids=("616", "642"))),
        ("briefs since 2018 on housing", SearchFilter(date_from="2018-01-01")),
        ("briefs published after 2018", SearchFilter(date_from="2019-01-01")),
        ("briefs before 2017 about cities", SearchFilter(date_to="2016-12-31")),
        (
            "What did KRIHS publish in 2016 about housing?",
            SearchFilter(date_from="2016-01-01", date_to="2016-12-31"),
        ),
        ("In 2016, what did KRIHS recommend?", SearchFilter(date_from="2016-01-01", date_to="2016-12-31")),
        (
            "briefs published between 2016 and 2018",
            SearchFilter(date_from="2016-01-01", date_to="2018-12-31"),
        ),
        ("between vol.600 and vol.700, what about cities?", SearchFilter(volume_min=600, volume_max=700)),
        ("600호부터 700호까지 도시 관련 브리프", SearchFilter(volume_min=600, volume_max=700)),
        ("2018년 이후 발간된 브리프", SearchFilter(date_from="2018-01-01")),
        ("고령 운전자 사망자 수는 2011년부터 2015년까지 어떻게 변했나요?", SearchFilter()),
        # Years that describe the subject, not the brief, are not filters.
        ("How did housing approvals change between 2008-2010 and 2015?", SearchFilter()),
        ("What total number of housing approvals did KRIHS forecast for 2016?", SearchFilter()),
        ("What is the first recommendation in the 2016 housing approvals brief?", SearchFilter()),
        ("How did approvals change in 2015?", SearchFilter()),
        ("도시재생 뉴딜 사업의 2025년 예산은 얼마인가요?", SearchFilter()),
    ],
)
def test_filters_read_from_questions(question: str, expected: SearchFilter) -> None:
    assert filter_from_question(question) == expected


def test_explicit_filters_win_over_the_question() -> None:
    merged = merge(SearchFilter(doc_ids=("571",)), SearchFilter(doc_ids=("697",), date_from="2018-01-01"))
    assert merged == SearchFilter(doc_ids=("571",), date_from="2018-01-01")


@pytest.mark.parametrize(
    ("text", "end", "iso"),
    [
        ("2018", False, "2018-01-01"),
        ("2018", True, "2018-12-31"),
        ("2016-02", True, "2016-02-29"),
        ("2019-11-22", False, "2019-11-22"),
        ("2019.11.22", True, "2019-11-22"),
    ],
)
def test_date_bounds(text: str, end: bool, iso: str) -> None:
    assert date_bound(text, end=end) == iso


@pytest.mark.parametrize("text", ["last year", "2019-13-01", "19"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueError):
        date_bound(text, end=False)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Approvals fell to 370,000 units. But they rose to 770,000 in 2015, up 30.9 % year-on-year.",
            ["Approvals fell to 370,000 units.", "But they rose to 770,000 in 2015, up 30.9 % year-on-year."],
        ),
        (
            "1. Ensure discussions.\n2. Establish an organization.",
            ["1. Ensure discussions.", "2. Establish an organization."],
        ),
        (
            "Ryu Seunghan et al. wrote it. Vol. 697 is here. See No. 5 now. The U.S. acted.",
            ["Ryu Seunghan et al. wrote it.", "Vol. 697 is here.", "See No. 5 now.", "The U.S. acted."],
        ),
        ("No. The brief says otherwise.", ["No.", "The brief says otherwise."]),
        (
            "미국은 연구소를 설립하였다. 이는 허브 역할을 한다.\n□ 공원은 열섬을 줄인다",
            ["미국은 연구소를 설립하였다.", "이는 허브 역할을 한다.", "□ 공원은 열섬을 줄인다"],
        ),
        ("He said “it works.” Then left.", ["He said “it works.”", "Then left."]),
    ],
)
def test_sentence_splitting(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_run_on_text_without_full_stops_is_split() -> None:
    text = (
        "□ Improvement needed in transportation policy toward senior citizen drivers as the number of deaths "
        "has jumped over the last five years while that of younger drivers has gradually declined No. of "
        "traffic accident deaths caused by elderly drivers up 34.7 percent from 605 in 2011 to 815 in 2015 "
        "Among age groups of senior citizen drivers, deaths in the 65-69 range declined"
    )
    parts = split_sentences(text)
    assert len(parts) == 3 and parts[1].startswith("No. of traffic") and parts[2].startswith("Among age")


@pytest.mark.parametrize(
    ("sentence", "shown"),
    [
        ("(Current issue) Fierce competition.", "Fierce competition."),
        ("① improve signs", "Improve signs"),
        ("• Item text.", "Item text."),
        ("1> Gentrification has effects.", "Gentrification has effects."),
    ],
)
def test_display_sentence_drops_bullets_and_labels(sentence: str, shown: str) -> None:
    assert display_sentence(sentence) == shown


TWO = [("Hubs were set up.", ["1"]), ("They link research.", ["2"])]


@pytest.mark.parametrize(
    ("draft", "expected"),
    [
        ("Hubs were set up. [1] They link research. [2]", TWO),
        ("Hubs were set up [1]. They link research [2].", TWO),
        # quoted bullets without a full stop: the markers end the sentence
        ("Hubs were set up [1] They link research [2]", [(t.rstrip("."), r) for t, r in TWO]),
        # markers inside a sentence do not split it
        ("Hubs link research [1] and production [2].", [("Hubs link research and production.", ["1", "2"])]),
    ],
)
def test_drafts_split_into_sentences_with_markers(draft: str, expected: list[tuple[str, list[str]]]) -> None:
    assert _sentences_with_markers(draft) == expected
