"""Search filters: date bounds from user input, and filters read from the question itself.

Read from a question: volumes ("vol.697", "brief 697", "697호", "제697호", "vol.616 and vol.642"),
volume ranges ("between vol.600 and vol.700"), and publication dates when the words are about the
briefs ("briefs since 2018", "published in 2016", "in 2016", "2018년 이후"). Years that describe the
subject rather than the brief ("approvals in 2015", "forecast for 2016", "2008-2010") are not filters.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import replace
from datetime import date

from assistant.models import SearchFilter


def date_bound(text: str, *, end: bool) -> str:
    """'2018' -> 2018-01-01 (or 2018-12-31 with end); '2018-05' -> first/last day; full dates as given."""
    text = text.strip()
    m = re.fullmatch(r"(\d{4})(?:[-./](\d{1,2}))?(?:[-./](\d{1,2}))?", text)
    if not m:
        raise ValueError(f"'{text}' is not a date")
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (12 if end else 1)
    if m.group(3):
        day = int(m.group(3))
    else:
        day = calendar.monthrange(year, month)[1] if end else 1 if 1 <= month <= 12 else 0
    try:
        return date(year, month, day).isoformat()
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date") from exc


_VOL = r"(?:vol(?:ume)?\.?\s*|brief\s+(?:no\.?\s*)?|no\.\s*)(\d{1,4})\b"
_VOLUME_MENTION = re.compile(_VOL, re.IGNORECASE)
_KO_VOLUME = re.compile(r"(?:제\s*)?(\d{1,4})\s*호")
_VOLUME_RANGE = re.compile(
    r"between\s+vol(?:ume)?s?\.?\s*(\d{1,4})\s+and\s+(?:vol(?:ume)?\.?\s*)?(\d{1,4})|"
    r"vol(?:ume)?s?\.?\s*(\d{1,4})\s*(?:-|–|to)\s*(?:vol(?:ume)?\.?\s*)?(\d{1,4})\b",
    re.IGNORECASE,
)
_KO_VOLUME_RANGE = re.compile(r"(\d{1,4})\s*호\s*(?:부터|~|-|에서)\s*(\d{1,4})\s*호")

_ABOUT_BRIEFS = r"(?:briefs?|published|publish|issued|released|written|reports?|papers?|krihs)"
_YEAR = r"((?:19|20)\d{2})(?![-–/]\d)"
_SINCE = re.compile(rf"\b{_ABOUT_BRIEFS}\b[^.?!]{{0,40}}?\b(?:since|after|from)\s+{_YEAR}\b", re.I)
_BEFORE = re.compile(rf"\b{_ABOUT_BRIEFS}\b[^.?!]{{0,40}}?\b(?:before|until|prior to)\s+{_YEAR}\b", re.I)
_BETWEEN = re.compile(
    rf"\b{_ABOUT_BRIEFS}\b[^.?!]{{0,40}}?\bbetween\s+{_YEAR}\s+and\s+{_YEAR}\b|"
    rf"\b{_ABOUT_BRIEFS}\b[^.?!]{{0,40}}?\bfrom\s+{_YEAR}\s+(?:to|until)\s+{_YEAR}\b",
    re.I,
)
_IN_YEAR = re.compile(
    rf"(?:\b{_ABOUT_BRIEFS}\b[^.?!]{{0,40}}?\b(?:in|during)\s+{_YEAR}\b)|"
    rf"(?:^|[,;]\s*)(?:in|during)\s+{_YEAR}\s*,|"
    rf"\b(?:in|during)\s+{_YEAR}\s+{_ABOUT_BRIEFS}\b|\b{_YEAR}\s+{_ABOUT_BRIEFS}\b",
    re.I,
)
# Korean dates are filters only when the words are about the briefs ("2018년 이후 발간된 브리프"), not
# about the subject ("2011년부터 2015년까지 사망자 수").
_KO_ABOUT = r"[^.?!]{0,12}?(?:발간|발행|출간|나온|브리프|보고서)"
_KO_SINCE = re.compile(r"((?:19|20)\d{2})\s*년\s*(?:이후|부터|以後)" + _KO_ABOUT)
_KO_BEFORE = re.compile(r"((?:19|20)\d{2})\s*년\s*(?:이전|까지|以前)" + _KO_ABOUT)
_KO_IN = re.compile(r"((?:19|20)\d{2})\s*년\s*(?:에\s*(?:발간|발표|나온|출간)|발간|발표)")


def _volume(text: str) -> str:
    return str(int(text))


def filter_from_question(question: str) -> SearchFilter:
    """The filter a question asks for in its own words (empty when it names none)."""
    flt = SearchFilter()
    ranges = [m.groups() for m in _VOLUME_RANGE.finditer(question)]
    ranges += [(a, b, None, None) for a, b in _KO_VOLUME_RANGE.findall(question)]
    for groups in ranges:
        low, high = [int(x) for x in groups if x][:2]
        flt = replace(flt, volume_min=min(low, high), volume_max=max(low, high))
    if not ranges:
        volumes = [v for v in _VOLUME_MENTION.findall(question) if not _is_year(v)]
        volumes += _KO_VOLUME.findall(question)
        if volumes:
            flt = replace(flt, doc_ids=tuple(dict.fromkeys(_volume(v) for v in volumes)))
    since = _first(_SINCE, question) or _first(_KO_SINCE, question)
    before = _first(_BEFORE, question) or _first(_KO_BEFORE, question)
    if since:
        after_word = re.search(rf"\bafter\s+{since}", question, re.I)
        flt = replace(flt, date_from=date_bound(str(int(since) + 1) if after_word else since, end=False))
    if before:
        flt = replace(flt, date_to=date_bound(str(int(before) - 1), end=True))
    between = _BETWEEN.search(question)
    if between:
        years = sorted(int(y) for y in between.groups() if y)
        flt = replace(
            flt, date_from=date_bound(str(years[0]), end=False), date_to=date_bound(str(years[-1]), end=True)
        )
    elif not since and not before:
        year = _first(_IN_YEAR, question) or _first(_KO_IN, question)
        if year:
            flt = replace(flt, date_from=date_bound(year, end=False), date_to=date_bound(year, end=True))
    return flt


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    if not match:
        return None
    return next((g for g in match.groups() if g), None)


def _is_year(text: str) -> bool:
    return len(text) == 4 and text[:2] in ("19", "20")


def merge(explicit: SearchFilter, from_question: SearchFilter) -> SearchFilter:
    """Explicit filters (options, UI) win field by field over what the question says."""
    return SearchFilter(
        doc_ids=explicit.doc_ids or from_question.doc_ids,
        date_from=explicit.date_from or from_question.date_from,
        date_to=explicit.date_to or from_question.date_to,
        volume_min=explicit.volume_min if explicit.volume_min is not None else from_question.volume_min,
        volume_max=explicit.volume_max if explicit.volume_max is not None else from_question.volume_max,
    )
