"""Recognisers for a brief's metadata lines and page chrome: volume, date, title line, authors, language.

These are plain functions over single lines so that every format (page text, HTML, PDF, Markdown)
shares them, and so that they can be tested line by line.
"""

from __future__ import annotations

import re
from datetime import date

_VOLUME_PATTERNS = (
    # "Volume vol.697", "vol.697", "Vol. 697", "VOL.697"
    re.compile(r"\bvol\s*\.\s*(\d{1,5})\b", re.IGNORECASE),
    # "Vol 697", "Volume 697", "Volume697" as some saved pages have it (capitalised, so that
    # "traffic volume 30" is not a volume)
    re.compile(r"\b(?:Vol|VOL|Volume|VOLUME)\s*(\d{1,5})\b"),
    # "국토정책 Brief 제697호", "제 697 호", "국토정책브리프 763호"
    re.compile(r"제\s*(\d{1,5})\s*호"),
    re.compile(r"국토정책\s*(?:Brief|브리프)\s*(\d{1,5})\s*호", re.IGNORECASE),
    # "Policy Brief No. 697", "Brief No.697"
    re.compile(r"\bbrief\s+no\.?\s*(\d{1,5})\b", re.IGNORECASE),
)

_DATE_PATTERNS = (
    re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})\.\s?(\d{1,2})\.\s?(\d{1,2})\.?(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})/(\d{1,2})/(\d{1,2})(?!\d)"),
    re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일"),
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")

_TITLE_LINE = re.compile(r"^\s*(?:TITLE|제목)\s*[:：]?\s+(?P<title>\S.*)$")
# "Title Analysis of …": a page's labelled title, taken only among the first lines (in a body, "Title
# deeds …" is text).
_TITLE_LABEL = re.compile(r"^\s*Title\s*[:：]?\s+(?P<title>[A-Z0-9“\"'(\uac00-\ud7a3].*)$")
_HEADER_LINE = re.compile(r"^\s*Volume\s+vol\.?\s*\d+.*$", re.IGNORECASE)
_HIT = re.compile(r"\s*(?:\bHIT|조회수?)\s*[:：]?\s*[\d,]+\s*$")

# Page chrome of the KRIHS site (English and Korean pages): navigation, boilerplate, attachments.
_CHROME = (
    # navigation: a section's name alone, or after "home" as a breadcrumb ("home Publications")
    re.compile(
        r"^\s*[•·∙●▪]?\s*(?:(?:home|홈)\s*[>›/]?\s*)?"
        r"(home|what'?s new|policy briefs|publications?|홈|정책브리프|발간물|간행물|국토정책\s*brief)\s*$",
        re.I,
    ),
    re.compile(r"^\s*policy briefs contain useful information", re.IGNORECASE),
    re.compile(r"^\s*(brief view|목록|list|print|인쇄|top|다음글|이전글|next|prev(ious)?)\s*$", re.I),
    re.compile(
        r"^\s*(파일첨부|첨부파일|다운로드|attachments?|file|download)\s*[:：]?\s*.{0,200}\.(pdf|hwp|hwpx|docx?|zip)\s*$",
        re.I,
    ),
    # a page's counters and labels, also as list items ("  • 조회수2,289", "• 분류보도자료")
    re.compile(r"^\s*[•·∙●▪◦-]?\s*(HIT|조회수?)\s*[:：]?\s*[\d,]+\s*$", re.IGNORECASE),
    re.compile(r"^\s*[•·∙●▪◦-]?\s*(?:분류\s*[:：]?\s*\S{1,12}|category\s*[:：]\s*[\w ]{1,30})\s*$", re.I),
    # an image's file name alone on a line: a thumbnail's caption in a saved page
    re.compile(r"^\s*[\w\-.()]{1,80}\.(?:jpe?g|png|gif|bmp|webp|svg)\s*$", re.IGNORECASE),
    # skip links and share bars of saved web pages ("본문으로 바로가기", "contents go")
    re.compile(
        r"^(?:\s*(본문|주\s*메뉴|메뉴|contents?|main content)\s*(으로|로)?\s*(바로\s*가기|go))+\s*$", re.I
    ),
    re.compile(r"^\s*(skip to (main )?content|sitemap|site map|facebook twitter print|공유하기)\s*$", re.I),
)

_AUTHOR_ROLE = re.compile(
    r"\b(research(er)?s?|fellows?|director|professor|head\b|president|krihs|et al\.?|"
    r"korea research institute|institute|university|ph\.?d|author)\b|"
    r"연구위원|연구원|부연구위원|전문연구원|센터장|본부장|실장|박사|교수|원장",
    re.IGNORECASE,
)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")


# Beyond the first lines, only forms that cannot be a figure of the text name the brief's own volume:
# the series name with a number ("국토정책브리프 763호") or the attached file ("Brief 685.pdf").
_LATE_VOLUME_PATTERNS = (
    re.compile(r"국토정책\s*(?:Brief|브리프)\s*제?\s*(\d{1,5})\s*호", re.IGNORECASE),
    re.compile(r"\bBrief[ _]?(\d{3,5})\.pdf\b", re.IGNORECASE),
)


def find_late_volume(line: str) -> str | None:
    """The volume named by a line outside the header zone, by the unambiguous forms only."""
    for pattern in _LATE_VOLUME_PATTERNS:
        match = pattern.search(line)
        if match:
            return str(int(match.group(1)))
    return None


def find_volume(line: str) -> str | None:
    """The volume number a line names, without leading zeros, or None."""
    for pattern in _VOLUME_PATTERNS:
        match = pattern.search(line)
        if match:
            return str(int(match.group(1)))
    return None


def find_date(line: str) -> str | None:
    """The first valid calendar date in a line, as ISO `YYYY-MM-DD`, or None."""
    candidates: list[tuple[int, int, int, int]] = []  # (position, year, month, day)
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(line):
            candidates.append((m.start(), int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in _MONTH_DAY_YEAR.finditer(line):
        month = _MONTHS.get(m.group(1).lower())
        if month:
            candidates.append((m.start(), int(m.group(3)), month, int(m.group(2))))
    for m in _DAY_MONTH_YEAR.finditer(line):
        month = _MONTHS.get(m.group(2).lower())
        if month:
            candidates.append((m.start(), int(m.group(3)), month, int(m.group(1))))
    for _, year, month, day in sorted(candidates):
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            continue
    return None


def title_line(line: str, *, early: bool = False) -> str | None:
    """The text of a page's `TITLE ...` line (often truncated by the site), or None; with `early` (a line
    among the first of the page), a `Title ...` label too."""
    match = _TITLE_LINE.match(line) or (_TITLE_LABEL.match(line) if early else None)
    return match.group("title").strip() if match else None


def header_line(line: str) -> str | None:
    """A page's `Volume vol.N DATE ... HIT n` line without the hit counter, or None."""
    if _HEADER_LINE.match(line):
        return without_counter(line)
    return None


def without_counter(line: str) -> str:
    """A metadata line without its page-view counter ("HIT 725", "조회수 12")."""
    return _HIT.sub("", line).strip()


_META_WORDS = re.compile(
    r"\b(?:krihs|policy|briefs?|vol(?:ume)?|no|date|hit|issue|published|korea research institute for "
    r"human settlements|posted|registered)\b|국토정책|국토연구원|브리프|발행일?|발간일?|조회수?|"
    # a press page's "등록자 <name> 보도일 <date>" (who posted it, when)
    r"제\s*\d+\s*호|등록자|등록일|작성자|작성일|보도일|게시일",
    re.IGNORECASE,
)


def is_metadata_line(line: str) -> bool:
    """A short line carrying only the brief's number and/or date ("KRIHS Policy Brief No. 697, 2019")."""
    stripped = line.strip()
    if not stripped or len(stripped) > 100 or not (find_volume(stripped) or find_date(stripped)):
        return False
    rest = _META_WORDS.sub(" ", stripped)
    for pattern in (*_DATE_PATTERNS, _MONTH_DAY_YEAR, _DAY_MONTH_YEAR, *_VOLUME_PATTERNS):
        rest = pattern.sub(" ", rest)
    return len(re.findall(r"[A-Za-z\uac00-\ud7a3]{2,}", rest)) <= 1


_WORD = re.compile(r"[^\W\d_]{2,}")


def word_count(text: str) -> int:
    """Words of two letters or more, in any script (digits and symbols are not words): how much a
    line or a passage says, as opposed to "①", "Ⅰ." or a file name."""
    return len(_WORD.findall(text))


def is_chrome(line: str) -> bool:
    """True for navigation, boilerplate and attachment lines that are not the brief's text."""
    return any(p.search(line) for p in _CHROME)


def looks_like_author(line: str) -> bool:
    """A short line naming people and their roles (e.g. "Chang Eungyo, Research Fellow, KRIHS")."""
    stripped = line.strip()
    if not stripped or len(stripped) > 160:
        return False
    if stripped.endswith((".", "。", "다.")) and not stripped.endswith(("et al.", "al.")):
        return False
    return bool(_AUTHOR_ROLE.search(stripped))


def detect_language(text: str) -> str:
    """'ko' when Hangul makes up a real share of the letters, else 'en'."""
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if hangul == 0:
        return "en"
    # A Hangul syllable carries about three Latin letters' worth of text.
    return "ko" if hangul * 3 >= latin * 0.5 else "en"


def date_key(iso: str | None) -> int:
    """A sortable integer for an ISO date (20191122), 0 when unknown; used for range filters."""
    if not iso:
        return 0
    return int(iso.replace("-", ""))


def volume_key(volume: str | None) -> int:
    """The volume as an integer (697), -1 when there is none; used for volume-range filters."""
    return int(volume) if volume and volume.isdigit() else -1
