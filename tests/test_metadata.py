"""Line-level recognisers: volume, date, chrome, authors, language (table-driven)."""

from __future__ import annotations

import pytest

from assistant.reading import metadata as meta


@pytest.mark.parametrize(
    ("line", "volume"),
    [
        ("Volume vol.697 DATE 2019-11-22 HIT 725", "697"),
        ("vol.697", "697"),
        ("Vol. 697", "697"),
        ("VOL.0697", "697"),
        ("Volume 559", "559"),
        ("국토정책 Brief 제697호", "697"),
        ("국토정책 Brief 제 986 호 2024.11.25", "986"),
        ("KRIHS Policy Brief No. 712", "712"),
        ("traffic volume 30 percent higher", None),
        ("Housing approvals fell to 370,000", None),
    ],
)
def test_find_volume(line: str, volume: str | None) -> None:
    assert meta.find_volume(line) == volume


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("Volume vol.697 DATE 2019-11-22 HIT 725", "2019-11-22"),
        ("발행일 2024.11.25.", "2024-11-25"),
        ("2024년 3월 5일 발간", "2024-03-05"),
        ("November 22, 2019", "2019-11-22"),
        ("22 Nov 2019", "2019-11-22"),
        ("2019/01/31", "2019-01-31"),
        ("DATE 2019-02-30", None),  # not a calendar date
        ("between 2008-2010 and 2015", None),
    ],
)
def test_find_date(line: str, iso: str | None) -> None:
    assert meta.find_date(line) == iso


@pytest.mark.parametrize(
    "line",
    [
        "  • Home",
        "  • What's new",
        "  • Policy Briefs",
        "Policy Briefs",
        "brief view",
        "파일첨부 697.pdf",
        "파일첨부 brief 571.pdf",
        "파일첨부 brief586.eng.pdf",
        "Policy Briefs contain useful information on territorial planning policies and national strategies.",
        "HIT 725",
        "  • 조회수2,289",
        "• 분류보도자료",
        "Category: Press release",
        "thumb_20230216174157925.JPG",
        "본문으로 바로가기 주메뉴 바로가기",  # two skip links on one line
        "home Publications",  # a breadcrumb
        "발간물",
    ],
)
def test_page_chrome_is_recognised(line: str) -> None:
    assert meta.is_chrome(line)


@pytest.mark.parametrize(
    "line",
    [
        "Policy proposals",
        "(Current issue) Increasingly fierce global competition ...",
        "1. Ensure active discussions among national committees",
        "Home ownership among young households",
        "Publications on shrinking cities grew after 2015",
        "분류 체계를 개편해야 한다",  # "the classification must be reformed"
        "조회수가 많은 정책 자료",
        "Figure 2. Flood damage by year (see map.png)",
    ],
)
def test_brief_text_is_not_chrome(line: str) -> None:
    assert not meta.is_chrome(line)


@pytest.mark.parametrize(
    ("line", "is_author"),
    [
        ("Chang Eungyo, Research Fellow, KRIHS", True),
        ("Ryu Seunghan (Managing Director of Industrial Location Research Center) et al.", True),
        ("Lim Si-young (KRIHS associate research fellow)", True),
        ("Korea Research Institute for Human Settlements", True),
        ("홍길동 연구위원", True),
        ("1. The number of small and medium-sized rural cities is growing.", False),
        ("Policy proposals", False),
    ],
)
def test_author_lines(line: str, is_author: bool) -> None:
    assert meta.looks_like_author(line) is is_author


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The USA established manufacturing innovation institutes.", "en"),
        ("미국은 제조혁신연구소를 설립하였다.", "ko"),
        ("국토정책 Brief 제986호: 지역 제조업 혁신 (KRIHS)", "ko"),
        ("Policy Briefs 파일첨부 697.pdf and a long English body of text about manufacturing.", "en"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert meta.detect_language(text) == language


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Volume vol.697 DATE 2019-11-22", True),
        ("KRIHS POLICY BRIEF No. 697  November 22, 2019", True),
        ("Housing approvals in 2016 rose to 770,000 units", False),
    ],
)
def test_metadata_only_lines(line: str, expected: bool) -> None:
    assert meta.is_metadata_line(line) is expected


def test_a_labelled_title_counts_only_among_the_first_lines() -> None:
    assert meta.title_line("TITLE Urban water management") == "Urban water management"
    assert meta.title_line("Title Analysis of the Urban Regeneration New Deal", early=True) == (
        "Analysis of the Urban Regeneration New Deal"
    )
    assert meta.title_line("Title Analysis of the Urban Regeneration New Deal") is None  # in a body: text
    assert meta.title_line("Title deeds were rarely registered", early=True) is None  # not a title's form
