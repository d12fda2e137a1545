"""Reading briefs: `read_brief(path)` picks the reader for the file's format and returns a `Brief`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.errors import BriefReadError
from assistant.models import Brief
from assistant.reading.readers import html_lines, markdown_lines, pdf_lines, text_lines
from assistant.reading.structure import HEADER_SECTION, Line, assemble

_TEXT_READERS: dict[str, Callable[[bytes, Path], list[Line]]] = {
    ".txt": text_lines,
    ".text": text_lines,
    ".md": markdown_lines,
    ".markdown": markdown_lines,
    ".html": html_lines,
    ".htm": html_lines,
}
SUPPORTED_SUFFIXES = frozenset({*_TEXT_READERS, ".pdf"})

__all__ = [
    "HEADER_SECTION",
    "SUPPORTED_SUFFIXES",
    "is_supported",
    "load_bytes",
    "parse_brief",
    "read_brief",
]


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def read_brief(path: Path, *, max_bytes: int) -> Brief:
    """Read and parse one brief file.

    Raises `BriefReadError` (naming the file, the reason and the fix) for anything that is not a
    readable brief: wrong type, too large, unreadable, empty, binary, undecodable, no text.
    """
    return parse_brief(load_bytes(path, max_bytes=max_bytes), path)


def load_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A brief file's bytes, after the checks that need no parsing (exists, type, size, permissions)."""
    if path.is_symlink() and not path.exists():
        raise BriefReadError(path, "a broken or looping symbolic link", hint="fix or remove the link")
    if not path.exists():
        raise BriefReadError(path, "the file does not exist")
    if path.is_dir():
        raise BriefReadError(
            path, "this is a folder, not a file", hint="give the folder to `assistant ingest`"
        )
    if not is_supported(path):
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BriefReadError(path, f"unsupported file type '{path.suffix}'", hint=f"supported: {kinds}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BriefReadError(
                path,
                f"the file is {size:,} bytes, over the {max_bytes / 1e6:.1f} MB limit",
                hint="split it, or raise ASSISTANT_MAX_FILE_MB if it really is one brief",
            )
        return path.read_bytes()
    except PermissionError as exc:
        raise BriefReadError(path, "permission denied", hint="make the file readable (chmod +r)") from exc
    except OSError as exc:
        raise BriefReadError(path, f"the file cannot be read ({exc.strerror or exc})") from exc


def parse_brief(data: bytes, path: Path, *, max_pages: int | None = None) -> Brief:
    """Parse a brief from bytes already read; the file name decides the format (a PDF over
    `max_pages` is refused unread)."""
    if not data.strip():
        raise BriefReadError(path, "the file is empty", hint="remove it or replace it with the brief's text")
    suffix = path.suffix.lower()
    pages = None
    if suffix == ".pdf":
        lines, pages = pdf_lines(data, path, max_pages=max_pages)
    else:
        lines = _TEXT_READERS[suffix](data, path)
    brief = assemble(lines, source=path.name, stem=path.stem, pages=pages)
    if not any(block.section != HEADER_SECTION and block.text.strip() for block in brief.blocks):
        raise BriefReadError(
            path, "no brief text was found in the file", hint="check that the file holds a brief's text"
        )
    return brief
