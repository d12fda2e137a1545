"""Reading real briefs: metadata, full titles, authors, sections and chrome removal.

Uses the seed in corpus/ and every brief in ../shared/briefs (marked `shared`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.models import Brief
from assistant.reading import HEADER_SECTION, read_brief
from tests.conftest import CORPUS
from tests.pdfmaker import make_pdf

MAX = 10_000_000

# file, volume, date, start of the full title, end of the full title, author fragment (or None), sections
EXPECTED = [
    (
        "vol_559.txt",
        "559",
        "2016-03-28",
        "Proposals for integrated operation",
        "in urban regeneration projects",
        None,
        {"Overview", "Policy measures"},
    ),
    (
        "vol_571.txt",
        "571",
        "2016-07-11",
        "Prospects for 2016 housing approvals",
        "and policy recommendations",
        None,
        {"Overview", "Policy recommendations"},
    ),
    (
        "vol_586.txt",
        "586",
        "2016-10-17",
        "Direction of Improvement of Traffic Safety",
        "amid Korea’s Era of Rapidly Aging Population",
        "Choi Jaesung",
        {"Overview", "Policy Direction"},
    ),
    (
        "vol_616.txt",
        "616",
        "2017-06-09",
        "Shrinking Cities on the Verge",
        "Survive with City Diet",
        "Hyungsoo Koo",
        {"Overview", "Policy Issues > Scale Optimization", "Policy Issues > Efficient Service Provision"},
    ),
    (
        "vol_640.txt",
        "640",
        "2017-11-22",
        "Approaches to Achieving a Real- and Virtual-Linked",
        "and Tasks for Practice",
        "Lim Si-young",
        {"Characteristics of CPS", "Policy implications"},
    ),
    (
        "vol_686.txt",
        "686",
        "2019-11-20",
        "50 Years of Developing Industrial Complexes",
        "Achievements & Tasks",
        "Ryu Seunghan",
        {"Overview", "Policy proposals"},
    ),
    (
        "vol_697.txt",
        "697",
        "2019-11-22",
        "Measures to create an innovative ecosystem",
        "Centering on the case of manufacturing innovation institutes in the USA",
        "Chang Eungyo",
        {
            "Current issue",
            "Limitations in policy",
            "National manufacturing innovation network strategy",
            "Accomplishments of manufacturing innovation institutes",
            "Introduction to Korea and orientations",
            "Policy proposals",
            "Notes",
        },
    ),
    (
        "vol_713.txt",
        "713",
        "2019-11-27",
        "The Development of Gentrification Indicators",
        "Ways to Utilize Them",
        "Lee Jin-hee",
        {"Overview", "Policy proposals"},
    ),
]
CHROME = (
    "• Home",
    "What's new",
    "brief view",
    "HIT ",
    "파일첨부",
    "Policy Briefs contain useful information",
)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "volume", "date", "title_start", "title_end", "author", "sections"), EXPECTED
)
def test_real_brief_metadata_and_sections(
    shared_briefs: Path,
    name: str,
    volume: str,
    date: str,
    title_start: str,
    title_end: str,
    author: str | None,
    sections: set[str],
) -> None:
    brief = read_brief(shared_briefs / name, max_bytes=MAX)
    assert brief.doc_id == volume
    assert brief.volume == volume
    assert brief.date == date
    assert brief.title.startswith(title_start)
    assert brief.title.endswith(title_end)  # the full title, not the page's truncated TITLE line
    assert brief.language == "en"
    assert brief.source == name
    if author is None:
        assert brief.authors is None
    else:
        assert brief.authors is not None and author in brief.authors
    found = {block.section for block in brief.blocks}
    assert sections <= found, f"missing sections {sections - found}"
    for block in brief.blocks:
        assert not any(c in block.text for c in CHROME), f"page chrome in {block.section}: {block.text[:80]}"
        assert brief.text[block.start : block.end] == block.text


@pytest.mark.shared
def test_every_shared_brief_is_covered(shared_briefs: Path) -> None:
    assert {p.name for p in shared_briefs.glob("*.txt")} == {row[0] for row in EXPECTED}


def test_seed_brief_in_corpus_is_vol697() -> None:
    brief = read_brief(CORPUS / "vol697.txt", max_bytes=MAX)
    assert (brief.doc_id, brief.date) == ("697", "2019-11-22")
    assert brief.blocks[0].section == HEADER_SECTION
    assert "Chang Eungyo, Research Fellow, KRIHS" in brief.blocks[0].text
    proposals = [b for b in brief.blocks if b.section == "Policy proposals"]
    assert [b.text[:2] for b in proposals] == ["1.", "2.", "3."]  # one block per numbered proposal


@pytest.mark.shared
def test_sub_bullets_stay_with_their_point(shared_briefs: Path) -> None:
    brief = read_brief(shared_briefs / "vol_559.txt", max_bytes=MAX)
    analysis = next(b for b in brief.blocks if "An analysis of the urban regeneration" in b.text)
    assert "Infrastructure betterment projects" in analysis.text
    assert "provincial urban regeneration committee" in analysis.text
    assert not any(ord(ch) >= 0xF0000 for ch in brief.text), "private-use bullet glyphs must not leak"


def _page(tmp_path: Path, name: str, text: str) -> Brief:
    """A page written as `name` in `tmp_path`, as the reader reads it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_brief(path, max_bytes=MAX)


def _body(brief: Brief) -> str:
    """Every passage's text below the title block."""
    return "\n".join(b.text for b in brief.blocks[1:])


def test_brief_without_volume_keeps_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "river parks note.md"
    path.write_text("# River parks\n\nRivers need more parks.\n\n## Policy proposals\n\n- Build parks.\n")
    brief = read_brief(path, max_bytes=MAX)
    assert brief.volume is None
    assert brief.doc_id == "river parks note"
    assert brief.title == "River parks"
    assert {b.section for b in brief.blocks} >= {"Overview", "Policy proposals"}


def test_a_saved_page_s_title_is_its_longest_repeated_line_not_its_site_name(tmp_path: Path) -> None:
    """A site's name shown as its logo and heading repeats too; the title is the longer line that the
    page shows both alone and inside a longer header line (fictional page, a real page's layout)."""
    path = tmp_path / "saved page.txt"
    path.write_text(
        "Example Policy Institute\n\nExample Policy Institute\n\nSITEMAP\n\n"
        "FOCUS River Parks for Cooler Summer Cities in Three Regions June 2, 2024\n\nFOCUS\n\n"
        "River Parks for Cooler Summer Cities in Three Regions\n\nJune 2, 2024\n\n"
        "Rivers cool the streets around them. Parks along them extend that effect.\n",
        encoding="utf-8",
    )
    brief = read_brief(path, max_bytes=MAX)
    assert brief.title == "River Parks for Cooler Summer Cities in Three Regions"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # a series' name above the title (fictional pages, real pages' layout)
        (
            "Issue Studies\nRiver Parks for Cooler Summer Cities\nⅠ. Background\no Rivers cool streets.\n",
            "River Parks for Cooler Summer Cities",
        ),
        (
            "국토이슈리포트 (2024\n하천변 공원과 도시 열섬 대응 전략 |\n홍길동 연구위원\n"
            "|요약|\n■ 공원이 필요하다.\n",
            "하천변 공원과 도시 열섬 대응 전략",
        ),
        # a short title stays a title: under it an author line, or a sentence
        (
            "River Parks\nKim Test, Research Fellow, KRIHS\nRivers cool the streets around them.\n",
            "River Parks",
        ),
        ("River Parks\nRivers cool the streets around them in every season.\n", "River Parks"),
    ],
)
def test_a_series_name_above_the_title_is_not_the_title(tmp_path: Path, text: str, title: str) -> None:
    assert _page(tmp_path, "page.txt", text).title == title


def test_a_repeated_site_description_is_not_a_title(tmp_path: Path) -> None:
    """A sentence repeated in a page's header (a site's blurb) is not its title; the title inside a
    series label ("[국토정책 Brief …] <title>", then <title> alone) is (fictional page)."""
    path = tmp_path / "webzine.txt"
    blurb = "웹진의 최근 소식과 다양한 콘텐츠를 만나보실 수 있습니다."
    path.write_text(
        f"Web Zine\n\n{blurb}\n\nNEWS\n\n{blurb}\n\n뉴스\n\n"
        "[국토정책 Brief 5월 2주] 하천변 공원과 도시 열섬: 현황과 과제\n2024-05-13\n\n"
        "하천변 공원과 도시 열섬: 현황과 과제\n\n1> 하천변 공원은 도시 열섬을 줄인다.\n",
        encoding="utf-8",
    )
    brief = read_brief(path, max_bytes=MAX)
    assert brief.title == "하천변 공원과 도시 열섬: 현황과 과제"
    assert brief.date == "2024-05-13"


def test_a_saved_pages_furniture_above_its_title_is_not_text(tmp_path: Path) -> None:
    """A saved page's site name, slogan, menu, section blurb, share bar and post number sit above the
    title: none of them is a passage, so none can be quoted or searched (fictional pages)."""
    brief = _page(
        tmp_path,
        "press.txt",
        "푸른 강과 살기 좋은 도시 Blue Rivers, Livable Cities\n\n보도자료\n\n  • 소식\n  • 보도자료\n\n"
        "연구원의 새로운 소식에 대한 보도자료를 제공합니다.\n\n트위터 바로가기 페이스북 바로가기\n"
        "제목 하천변 공원과 도시 열섬 완화 방안\n등록자 홍길동 보도일 2024-05-13\n"
        "다운로드 하천변 공원과 도시 열섬(보도자료).pdf\n\n"
        "□ 하천변 공원은 여름철 도심 기온을 낮춘다.\n",
    )
    assert brief.title == "하천변 공원과 도시 열섬 완화 방안"
    assert brief.date == "2024-05-13"
    assert "등록자 홍길동 보도일 2024-05-13" in brief.blocks[0].text  # who posted it: the header
    body = _body(brief)
    assert "여름철 도심 기온을 낮춘다" in body
    for furniture in ("Livable Cities", "보도자료를 제공합니다", "바로가기", "소식", ".pdf", "홍길동"):
        assert furniture not in body, furniture

    brief = _page(
        tmp_path,
        "zine.txt",
        "Green Institute\n\nNews & Webzine\n\nRead our latest news in the monthly webzine.\n\n412\n"
        "[Weekly Brief, May] River Parks and Urban Heat\n2024-05-13\n\n"
        "River Parks and Urban Heat\n\nRiver parks lower summer temperatures in the streets nearby.\n",
    )
    assert brief.title == "River Parks and Urban Heat"
    body = _body(brief)
    assert "River parks lower summer temperatures" in body
    assert not any(w in body for w in ("Green Institute", "Webzine", "412")), body
    assert brief.authors is None  # the site's name above the title is not its author


def test_lines_above_a_pdfs_title_are_kept(tmp_path: Path) -> None:
    """A PDF's text order need not follow its layout (a key-points box may come out before the title):
    above its title nothing is dropped."""
    path = tmp_path / "brief.pdf"
    path.write_bytes(
        make_pdf(
            [
                [
                    "Key points: river parks cut peak heat by two degrees",
                    "TITLE River Parks and Urban Heat",
                    "River parks lower summer temperatures in the streets nearby.",
                ]
            ]
        )
    )
    brief = read_brief(path, max_bytes=MAX)
    assert brief.title == "River Parks and Urban Heat"
    assert "cut peak heat by two degrees" in "\n".join(b.text for b in brief.blocks)


def test_korean_page_format(tmp_path: Path) -> None:
    """A Korean brief page (fictional content, real layout markers)."""
    path = tmp_path / "ko.txt"
    path.write_text(
        "국토정책 Brief 제901호\n발행일 2024.11.25\n\n"
        "시험용 가상 브리프: 하천변 공원 조성 방안\n\n홍길동 연구위원\n\n"
        "□ 하천변 공원은 도시 열섬을 줄인다.\n  ◦ 여름철 기온이 낮아진다.\n\n"
        "정책 제언\n\n① 지방정부가 하천변 공원 조성을 주도한다.\n",
        encoding="utf-8",
    )
    brief = read_brief(path, max_bytes=MAX)
    assert (brief.volume, brief.date, brief.language) == ("901", "2024-11-25", "ko")
    assert brief.title == "시험용 가상 브리프: 하천변 공원 조성 방안"
    assert brief.authors == "홍길동 연구위원"
    sections = [b.section for b in brief.blocks]
    assert sections == [HEADER_SECTION, "Overview", "정책 제언"]
    assert "여름철 기온이 낮아진다" in brief.blocks[1].text
