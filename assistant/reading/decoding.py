"""Bytes to text: UTF-8 first, then the encodings Korean and Windows files really use.

A file that is not text (binary junk, a mis-named archive) or that no encoding decodes cleanly is an
error naming the file and the fix, never a page of mojibake in the index.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from assistant.errors import BriefReadError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def decode_bytes(data: bytes, path: Path) -> str:
    """Decode a text file's bytes, or raise `BriefReadError` saying why it cannot be read."""
    if not data.strip():
        raise BriefReadError(path, "the file is empty", hint="remove it or replace it with the brief's text")
    text = _decode(data, path)
    if _CONTROL.search(text) and len(_CONTROL.findall(text)) > max(3, len(text) // 1000):
        raise BriefReadError(
            path,
            "the file holds binary data, not text",
            hint="check that the file is really a brief (a .txt, .md, .html or .pdf)",
        )
    return text


def _decode(data: bytes, path: Path) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise _undecodable(path, encoding, exc) from exc
    if _looks_utf16(data):
        encoding = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _undecodable(path, encoding, exc) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        # Korean files are often CP949 (a superset of EUC-KR). Accept it only when the result is
        # plausibly Korean text, so that a corrupt UTF-8 file is reported rather than garbled.
        try:
            text = data.decode("cp949")
        except UnicodeDecodeError:
            raise _undecodable(path, "utf-8", utf8_error) from utf8_error
        if len(_HANGUL.findall(text)) >= 5 and not _CONTROL.search(text):
            return text
        raise _undecodable(path, "utf-8", utf8_error) from utf8_error


def _looks_utf16(data: bytes) -> bool:
    sample = data[:4000]
    return len(sample) >= 4 and sample.count(0) > len(sample) // 4


def _undecodable(path: Path, encoding: str, exc: UnicodeDecodeError) -> BriefReadError:
    bad = exc.object[exc.start : exc.start + 4]
    return BriefReadError(
        path,
        f"the text is not valid {encoding} (bytes {bad!r} at offset {exc.start}) "
        "and is not UTF-16 or CP949/EUC-KR either",
        hint="re-save the file as UTF-8",
    )


def normalize_text(text: str) -> str:
    """Canonical form used everywhere: NFC, Unix line ends, no invisible characters, no trailing spaces."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    text = text.replace("\u00a0", " ").replace("\t", "    ")
    return "\n".join(line.rstrip() for line in text.split("\n"))
