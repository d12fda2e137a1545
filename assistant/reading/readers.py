"""One reader per file format; each turns a file into `Line`s for `structure.assemble`."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from pathlib import Path

from assistant.errors import BriefReadError
from assistant.reading.decoding import decode_bytes, normalize_text
from assistant.reading.structure import Line

log = logging.getLogger(__name__)


def text_lines(data: bytes, path: Path) -> list[Line]:
    """A saved brief page or any plain text file."""
    return [Line(line) for line in normalize_text(decode_bytes(data, path)).split("\n")]


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_LIST = re.compile(r"^(\s*)[*+]\s+")


def markdown_lines(data: bytes, path: Path) -> list[Line]:
    """Markdown: `#` headings become heading lines; links, emphasis and code fences become plain text."""
    lines: list[Line] = []
    for raw in normalize_text(decode_bytes(data, path)).split("\n"):
        if raw.strip().startswith("```") or re.fullmatch(r"\s*([-*_]\s*){3,}", raw):
            continue
        text = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", raw))
        heading = _MD_HEADING.match(text)
        if heading:
            lines.append(Line(heading.group(1), heading=True))
            continue
        text = _MD_LIST.sub(r"\1- ", text)
        lines.append(Line(text.lstrip(">").rstrip() if text.lstrip().startswith(">") else text))
    return lines


_BLOCK_TAGS = (
    "p",
    "div",
    "li",
    "tr",
    "br",
    "section",
    "article",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
    "blockquote",
    "pre",
    "header",
    "main",
    "td",
    "th",
)
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "nav", "form", "button", "head")
_HEADING_MARK = "\x02"


def html_lines(data: bytes, path: Path) -> list[Line]:
    """HTML: scripts, styles and navigation are dropped; h1-h6 become heading lines."""
    from bs4 import BeautifulSoup  # lazy: only HTML files need it

    soup = BeautifulSoup(decode_bytes(data, path), "html.parser")
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        tag.insert_before(f"\n{_HEADING_MARK}")
        tag.insert_after("\n")
    for tag in soup.find_all("li"):
        tag.insert_before("\n• ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
    lines = []
    for raw in normalize_text(soup.get_text()).split("\n"):
        text = re.sub(r"[ \u3000]{2,}", " ", raw).strip()
        if text.startswith(_HEADING_MARK):
            heading = text.lstrip(_HEADING_MARK).strip()
            if heading:
                lines.append(Line(heading, heading=True))
            continue
        lines.append(Line(text))
    if not any(line.text for line in lines):
        raise BriefReadError(path, "the HTML page has no visible text", hint="check that it is a saved brief")
    return lines


def pdf_lines(data: bytes, path: Path, *, max_pages: int | None = None) -> tuple[list[Line], int]:
    """PDF text per page (page numbers kept); repeated running headers/footers and page numbers dropped.

    A PDF over `max_pages` is refused before any page's text is read."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip().startswith(b"%PDF"):
        raise BriefReadError(
            path, "the file is not a PDF (no %PDF header)", hint="check the file; rename it if it is text"
        )
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise BriefReadError(
                path, "the PDF is password-protected", hint="save an unprotected copy and index that"
            )
        if max_pages is not None and len(reader.pages) > max_pages:
            raise BriefReadError(
                path,
                f"{len(reader.pages):,} pages is over the limit of {max_pages:,} pages a brief "
                "(a policy brief runs to a few dozen)",
                hint="index the brief itself rather than a collection, or raise ASSISTANT_MAX_PAGES",
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except BriefReadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise BriefReadError(
            path, f"the PDF cannot be parsed ({type(exc).__name__}: {exc})", hint="the file may be truncated"
        ) from exc
    except Exception as exc:
        raise BriefReadError(path, f"the PDF cannot be parsed ({type(exc).__name__})") from exc
    if sum(len(p.strip()) for p in pages) < 20:
        raise BriefReadError(
            path,
            "the PDF has no text layer (a scanned document?)",
            hint="run OCR on it (e.g. ocrmypdf) and index the result",
        )
    per_page = [normalize_text(p).split("\n") for p in pages]
    repeated = _running_lines(per_page)
    lines: list[Line] = []
    for number, page_lines in enumerate(per_page, start=1):
        for text in page_lines:
            stripped = text.strip()
            if stripped in repeated or re.fullmatch(r"[-–\s]*\d{1,4}[-–\s]*", stripped):
                continue
            lines.append(Line(text, page=number))
        lines.append(Line("", page=number))
    return lines, len(pages)


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines that appear on most pages (running headers, footers): page furniture, not content."""
    if len(pages) < 3:
        return set()
    counts = Counter(line.strip() for page in pages for line in set(page) if line.strip())
    return {line for line, n in counts.items() if n >= max(3, len(pages) * 0.6) and len(line) < 120}
