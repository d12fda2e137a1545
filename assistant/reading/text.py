"""Sentences and languages: splitting passages into quotable sentences (English and Korean).

Spans are kept, so a quote always points back at the exact characters of its passage.
"""

from __future__ import annotations

import re

from assistant.reading.metadata import detect_language

# Abbreviations after which a period does not end a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:vol|vols|mr|mrs|ms|dr|prof|st|fig|figs|approx|etc|e\.g|i\.e|al|inc|co|jr|sr|vs|u\.s|u\.k)"
    r"|\b[A-Z])\.$",
    re.IGNORECASE,
)
_END = re.compile(r"(?<=[.!?。][\"'”’)])\s+|(?<=[.!?。])\s+|(?<=다)\s+(?=[□◦○•\-①-⑳])")
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}|[a-zA-Z]|[ivx]{1,4})\.$")
_LEADING = re.compile(
    r"^\s*(?:[•□■◦○●▪▶►◆◇❖\-–·*※]|[❶-❿➀-➓①-⑳⑴-⒇]|\d{1,2}\s*[.)>](?!\d)|\(\d{1,2}\)|[가-하]\.)\s*"
)
_LABEL = re.compile(r"^\(\s*[^()]{2,80}?\s*\)\s*")


# Web copies of briefs sometimes lost the full stops between sentences ("... declined No. of deaths
# ..."). In a long run-on span, a capitalised function word right after a lower-case word starts a
# new sentence.
_RUN_ON = 250
_LOST_STOP = re.compile(
    r"(?<=[a-z0-9%)])\s+(?=(?:No\.|Among|To|The|In|This|These|Those|It|Its|A|An|For|As|With|By|However|"
    r"Also|But|Such|Of|On|At|From|Since|While|When|If)\s)"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; line breaks (bullets, list items) always end a sentence."""
    out: list[tuple[int, int]] = []
    for start, end in _sentence_spans(text):
        if end - start <= _RUN_ON:
            out.append((start, end))
            continue
        cut = start
        for match in _LOST_STOP.finditer(text, start, end):
            inside_brackets = text.count("(", cut, match.start()) > text.count(")", cut, match.start())
            if match.start() - cut >= 40 and not inside_brackets:
                out.append(_trim(cut, match.start(), text))
                cut = match.end()
        out.append(_trim(cut, end, text))
    return out


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        start = 0
        for match in _END.finditer(line):
            candidate = line[start : match.start()].rstrip()
            if (
                _ABBREV.search(candidate)
                or (
                    re.search(r"\bno\.$", candidate, re.I)
                    and re.match(r"\s*(?:of\b|\d)", line[match.end() :])
                )
                or _LIST_NUMBER.match(candidate)
                or (re.search(r"\d\.$", candidate) and _next_is_digit(line, match.end()))
            ):
                continue
            if candidate.strip():
                spans.append(_trim(offset + start, offset + start + len(candidate), text))
            start = match.end()
        if line[start:].strip():
            spans.append(_trim(offset + start, offset + len(line), text))
        offset += len(line) + 1
    return [s for s in spans if s[1] > s[0]]


def _next_is_digit(line: str, position: int) -> bool:
    return position < len(line) and line[position].isdigit()


def _trim(start: int, end: int, text: str) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def display_sentence(sentence: str) -> str:
    """A quote as it reads in an answer: without its bullet, list number or "(Section label)"."""
    text = _LEADING.sub("", sentence, count=1)
    text = _LABEL.sub("", text, count=1).strip()
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text


def question_language(question: str) -> str:
    """'ko' for a question written in Korean, else 'en' (answers follow the question's language)."""
    return detect_language(question)
