"""From lines of text to a `Brief`: header metadata, full title, authors, sections and blocks.

Every reader (page text, HTML, PDF, Markdown) turns its file into `Line`s and hands them here, so the
rules for what a heading, a bullet, a proposal or an author line looks like live in one place.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import assistant.reading.metadata as meta
from assistant.models import Block, Brief

HEADER_SECTION = "Title and authors"
OVERVIEW_SECTION = "Overview"
NOTES_SECTION = "Notes"
_HEADER_ZONE = 25  # metadata (volume, date) is looked for only in the first lines of a brief

_PUA = "\ue000-\uf8ff\U000f0000-\U0010ffff"
_BULLET = re.compile(
    r"^(?:[□■◦○●•▪▫▶►◆◇❖➢➤✓✔\-–—·∙]|[❶-❿➀-➓①-⑳⑴-⒇]|[" + _PUA + r"]|"
    r"\d{1,2}\s*[.)>](?!\d)|\(\d{1,2}\)|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]\.?|[가-하]\.|[a-z]\))\s*"
)
# Bullets drawn with private-use glyphs (from the site's fonts) render as boxes anywhere else.
_PUA_BULLET = re.compile(r"^[" + _PUA + r"]\s*", re.MULTILINE)
# A line ending like a sentence ("… 만나보실 수 있습니다.", "… this page."), not like a title.
_SENTENCE_END = re.compile(r"[.!。]\s*$")
_NOTE = re.compile(r"^(?:\*+\s*\d*\)|※)")
_LABEL = re.compile(r"^\(\s*(?P<label>[^()]{2,80}?)\s*\)\s*")
_KNOWN_HEADING = re.compile(
    r"^(?:policy\s+(?:proposals?|recommendations?|measures?|implications?|issues?|directions?|"
    r"suggestions?|tasks?|agendas?)|recommendations?|conclusions?|summary|background|"
    r"key\s+(?:points|findings|messages)|implications?|main\s+(?:findings|contents)|references?|"
    r"정책\s*제언|정책\s*과제|정책\s*방향|정책\s*시사점|요약|결론|시사점|주요\s*내용|추진\s*과제|참고\s*문헌)$",
    re.IGNORECASE,
)
_HEADING_DECOR = re.compile(r"^[\s|\[【<〈《#]+|[\s|\]】>〉》:：]+$")


@dataclass(frozen=True)
class Line:
    """A line of source text; `page` for PDFs; `heading` when the markup says it is one."""

    text: str
    page: int | None = None
    heading: bool = False


def assemble(lines: list[Line], *, source: str, stem: str, pages: int | None = None) -> Brief:
    """Build a Brief from a document's lines (chrome is removed, metadata read, body structured)."""
    title_hint, header_text, volume, date = None, None, None, None
    late_volume: str | None = None
    body: list[Line] = []
    hint_at = 0  # body lines above the page's labelled title line ("TITLE …", "제목 …")
    for i, line in enumerate(lines):
        text = line.text
        if meta.is_chrome(text):
            continue
        if title_hint is None and (hint := meta.title_line(text, early=i < _HEADER_ZONE)):
            title_hint = hint
            hint_at = len(body) if i < _HEADER_ZONE else 0
            continue
        if header_text is None and (header := meta.header_line(text)):
            header_text = header
            volume = volume or meta.find_volume(header)
            date = date or meta.find_date(header)
            continue
        if i < _HEADER_ZONE or not body:
            volume = volume or meta.find_volume(text)
            date = date or meta.find_date(text)
            if meta.is_metadata_line(text):
                clean = meta.without_counter(text)
                header_text = f"{header_text}\n{clean}" if header_text else clean
                continue
        elif volume is None and late_volume is None:
            late_volume = meta.find_late_volume(text)
        body.append(line)
    volume = volume or late_volume

    title, series, body = _take_title(body, title_hint, stem, furniture=hint_at)
    authors, body = _take_authors(body)
    blocks = _blocks(body)
    header_block_text = "\n".join(x for x in (title, series, authors, header_text or _published(date)) if x)

    first_page = next((line.page for line in lines if line.page is not None), None)
    all_blocks = [(HEADER_SECTION, header_block_text, first_page), *blocks]
    text_parts: list[str] = []
    out: list[Block] = []
    offset = 0
    for section, block_text, page in all_blocks:
        out.append(Block(section, block_text, offset, offset + len(block_text), page))
        text_parts.append(block_text)
        offset += len(block_text) + 2
    full_text = "\n\n".join(text_parts)
    return Brief(
        doc_id=volume or stem,
        volume=volume,
        title=title,
        date=date,
        authors=authors,
        language=meta.detect_language(full_text),
        source=source,
        text=full_text,
        blocks=tuple(out),
        pages=pages,
    )


def _repeated_line(body: list[Line], first: int, window: int = _HEADER_ZONE) -> int | None:
    """The opening line that the page repeats as its title, if any: at least three words, not a
    sentence (a site's description repeated in its header and footer ends like one).

    A saved page shows its title twice: alone, and as the page's title or within a longer header line
    ("[국토정책 Brief 10월 4주] <title>", "KDI FOCUS <title> June 20, 2024"). Its site's name or section
    may repeat too ("KDI - Korea Development Institute" as logo and heading, "Policy Research
    Reports" after its breadcrumb); of the lines repeated either way, the longest is the title."""
    seen: dict[str, int] = {}
    found: list[int] = []
    for i in range(first, min(first + window, len(body))):
        text = body[i].text.strip()
        key = _norm(text)
        if len(text.split()) < 3 or len(text) > 200 or _BULLET.match(text) or _SENTENCE_END.search(text):
            continue
        if key in seen:
            found.append(seen[key])
        elif any(key in earlier for earlier in seen):
            found.append(i)
        seen.setdefault(key, i)
    return max(found, key=lambda i: (len(body[i].text.split()), -i), default=None)


def _published(date: str | None) -> str | None:
    return f"Published {date}" if date else None


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _take_title(
    body: list[Line], hint: str | None, stem: str, *, furniture: int = 0
) -> tuple[str, str | None, list[Line]]:
    """The full title, the series' name printed above it (or None) and the body without them and
    without a saved page's furniture above the title (`furniture`: how many body lines come before a
    labelled title line; for a title the page repeats, `_below_furniture` finds where it starts).

    The site's TITLE line is often cut short ("... in urban regenerat"), while the body repeats the
    title in full, sometimes over two lines. Take body lines while they extend or spell out the hint.
    """
    first = next((i for i, line in enumerate(body) if line.text.strip()), None)
    if first is None:
        return (hint or stem), None, body
    if hint and furniture > first and _saved_page(body):
        body = body[furniture:]
        first = next((i for i, line in enumerate(body) if line.text.strip()), None)
        if first is None:
            return hint, None, body
    if hint:
        target = _norm(hint)
        taken, acc = [], ""
        for i in range(first, min(first + 8, len(body))):
            text = body[i].text.strip()
            if not text:
                continue
            candidate = _norm(f"{acc} {text}")
            if target.startswith(candidate) or candidate.startswith(target):
                taken.append(i)
                acc = candidate
                if candidate.startswith(target):
                    break
            else:
                break
        if taken and acc.startswith(target):
            title = " ".join(body[i].text.strip() for i in taken)
            used = set(taken)
            return _clean_title(title), None, [line for i, line in enumerate(body) if i not in used]
        return hint, None, body
    repeated = _repeated_line(body, first)
    if repeated is not None:  # a saved page shows its title twice: as the page's and as the brief's
        text = body[repeated].text.strip()
        top = _below_furniture(body, first, _norm(text))
        rest = [
            line
            for i, line in enumerate(body)
            if i >= top and i != repeated and _norm(line.text) != _norm(text)
        ]
        return _clean_title(text), None, rest
    line = body[first]
    text = line.text.strip()
    kicker = _under_kicker(body, first)
    if kicker is not None:  # "Issue Studies" above the title: the series (kept in the header), not the brief
        rest = [x for i, x in enumerate(body) if i not in (first, kicker)]
        return _clean_title(_HEADING_DECOR.sub("", body[kicker].text.strip())), _clean_title(text), rest
    if line.heading or (len(text) <= 200 and not _BULLET.match(text)):
        rest = body[:first] + body[first + 1 :]
        return _clean_title(text.lstrip("# ")), None, rest
    return stem, None, body


def _saved_page(body: list[Line]) -> bool:
    """A page's text (a saved web page, Markdown, plain text), not a PDF's: no line has a page number."""
    return all(line.page is None for line in body)


def _below_furniture(body: list[Line], first: int, title: str) -> int:
    """Where a saved page's brief begins: the first line that holds its title (`title`, normalised),
    when that comes within the first `_HEADER_ZONE` lines; `first` otherwise, and always for a PDF.

    Above a saved page's title is the site's furniture: its name and slogan ("Human Plus", "아름다운
    산하와 살맛나는 국토 Beautiful Nature, Delightful Living Space"), a breadcrumb, a menu, the section's
    blurb ("국토연구원의 새로운 소식에 대한 보도자료를 제공합니다."), a share bar, a post number. Left in,
    these lines were passages like any other: quoted as a brief's evidence, and a bilingual slogan drew
    English questions to a Korean brief. A PDF's text order does not follow its layout (a summary box
    may come out before the title), so its lines are all kept."""
    if not _saved_page(body):
        return first
    for i in range(first, min(first + _HEADER_ZONE, len(body))):
        if title in _norm(body[i].text):
            return i
    return first


def _under_kicker(body: list[Line], first: int) -> int | None:
    """The line of the title when the page's first line is a kicker: a series' name of one or two
    words ("Issue Studies", "국토이슈리포트 (2021") right above a longer line that reads as a title
    (three words or more, not a list item, an author line or a sentence); None otherwise."""
    if body[first].heading or meta.word_count(body[first].text) > 2:
        return None
    following = next((i for i in range(first + 1, len(body)) if body[i].text.strip()), None)
    if following is None:
        return None
    text = _HEADING_DECOR.sub("", body[following].text.strip())
    if (
        len(text) > 200
        or meta.word_count(text) < 3
        or _BULLET.match(text)
        or meta.looks_like_author(text)
        or re.search(r"[.。]$", text)
    ):
        return None
    return following


def _clean_title(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip().rstrip(":").strip()


def _take_authors(body: list[Line]) -> tuple[str | None, list[Line]]:
    """Author lines right after the title, possibly separated by blank lines."""
    found: list[int] = []
    for i, line in enumerate(body):
        text = line.text.strip()
        if not text:
            continue
        if len(found) < 6 and meta.looks_like_author(text) and not _BULLET.match(text) and not line.heading:
            found.append(i)
            continue
        break
    if not found:
        return None, body
    authors = "; ".join(re.sub(r"\s+", " ", body[i].text.strip()).rstrip(",;") for i in found)
    keep = set(found)
    return authors, [line for i, line in enumerate(body) if i not in keep]


def _heading_text(line: Line, prev_blank: bool, next_line: str | None) -> str | None:
    text = line.text.strip()
    if not text:
        return None
    bare = _HEADING_DECOR.sub("", text).strip()
    if line.heading:
        return bare or None
    if _KNOWN_HEADING.match(bare):
        return bare
    if text.startswith("|") and text.endswith("|") and 0 < len(bare) <= 60:
        return bare
    # A short title-case line set apart by a blank line and followed by a list is a heading too.
    if (
        prev_blank
        and next_line is not None
        and _BULLET.match(next_line.strip())
        and not _BULLET.match(text)
        and len(bare.split()) <= 6
        and not bare.endswith((".", ",", ";", "다"))
        and (bare[:1].isupper() or bool(re.match(r"[\uac00-\ud7a3]", bare)))
    ):
        return bare
    return None


def _blocks(body: list[Line]) -> list[tuple[str, str, int | None]]:
    """Group body lines into (section, text, page) blocks in reading order."""
    blocks: list[tuple[str, str, int | None]] = []
    heading: str | None = None
    current: list[str] = []
    current_page: int | None = None
    prev_blank = True

    def flush() -> None:
        nonlocal current
        if current:
            text = _PUA_BULLET.sub("• ", "\n".join(current).strip())
            if text:
                blocks.append((_section_for(text, heading), text, current_page))
        current = []

    non_blank = [i for i, line in enumerate(body) if line.text.strip()]
    next_text = {a: body[b].text for a, b in itertools.pairwise(non_blank)}
    for i, line in enumerate(body):
        raw = line.text
        text = raw.strip()
        if not text:
            prev_blank = True
            continue
        if (h := _heading_text(line, prev_blank, next_text.get(i))) is not None:
            flush()
            heading = h
            prev_blank = True
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        is_bullet = bool(_BULLET.match(text)) or bool(_NOTE.match(text))
        if is_bullet and indent >= 2 and current:
            current.append(text)  # a sub-item stays with its parent point
        elif is_bullet or prev_blank or not current:
            flush()
            current = [text]
            current_page = line.page
        else:
            current[-1] = f"{current[-1]} {text}"  # a wrapped line continues the paragraph
        prev_blank = False
    flush()
    return blocks


def _section_for(text: str, heading: str | None) -> str:
    """A block's section: the heading it sits under and its own "(Label)" if it opens with one."""
    if _NOTE.match(text):
        return NOTES_SECTION
    body = _BULLET.sub("", text, count=1).lstrip()
    match = _LABEL.match(body)
    label = None
    if match and re.search(r"[A-Za-z\uac00-\ud7a3]", match.group("label")):
        label = match.group("label").strip()
    if heading and label:
        return f"{heading} > {label}"
    return heading or label or OVERVIEW_SECTION
