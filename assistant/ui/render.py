"""Turning answers, passages and evaluation results into what the page shows and what users download.

Pure functions over the package's dataclasses: no Gradio here, so all of it is testable directly.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from typing import Any

from assistant.models import Answer, BriefRecord, Citation, Passage

PASSAGE_COLUMNS = ["rank", "volume", "title", "date", "section", "page", "score", "passage", "file"]


def _anchor(citation: Citation) -> str:
    return "src-" + re.sub(r"[^A-Za-z0-9_-]", "-", citation.chunk_id)


def answer_markdown(answer: Answer) -> str:
    """The answer for the chat: each cited sentence followed by chips linking to its sources."""
    parts = []
    for sentence in answer.sentences:
        chips = "".join(
            f' <a class="chip" href="#{_anchor(c)}" title="{html.escape(c.title)}">{html.escape(c.label)}</a>'
            for c in _unique(sentence.citations)
        )
        parts.append(html.escape(sentence.text, quote=False) + chips)
    text = " ".join(parts)
    notes = "".join(f"\n\n<small>Note: {html.escape(n)}</small>" for n in answer.notes)
    return text + notes


def _unique(citations: Sequence[Citation]) -> list[Citation]:
    seen: dict[str, Citation] = {}
    for c in citations:
        seen.setdefault(c.label, c)
    return list(seen.values())


def sources_html(answer: Answer | None) -> str:
    """The sources panel: every cited passage with its full citation and the supporting quote marked."""
    if answer is None:
        return "<p class='muted'>Sources of the latest answer appear here.</p>"
    if answer.refused:
        items = "".join(
            f"<li><b>{html.escape(n.label)}</b> {html.escape(n.title)} ({html.escape(n.date or 'undated')})"
            "</li>"
            for n in answer.nearest
        )
        intro = "<p>No brief answers this question. Nearest briefs:</p>"
        return f"<div class='sources'>{intro}<ul>{items}</ul></div>"
    by_chunk = {p.chunk_id: p for p in answer.passages}
    blocks = []
    for citation in answer.citations:
        passage = by_chunk.get(citation.chunk_id)
        text = passage.text if passage else citation.quote
        marked = _mark(text, citation.quote)
        page = f", page {citation.page}" if citation.page else ""
        blocks.append(
            f"<div class='source' id='{_anchor(citation)}'>"
            f"<div class='source-head'><span class='chip'>{html.escape(citation.label)}</span> "
            f"<b>{html.escape(citation.title)}</b></div>"
            f"<div class='source-meta'>{html.escape(citation.date or 'undated')} · section: "
            f"{html.escape(citation.section)}{page} · file: {html.escape(citation.source)}</div>"
            f"<div class='source-text'>{marked}</div></div>"
        )
    return "<div class='sources'>" + "".join(blocks) + "</div>"


def _mark(text: str, quote: str) -> str:
    """The passage with the supporting sentence highlighted."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return html.escape(text)
    end = at + len(quote)
    return html.escape(text[:at]) + "<mark>" + html.escape(quote) + "</mark>" + html.escape(text[end:])


def answer_export(answer: Answer) -> str:
    """The answer and its citations as Markdown, for copying or downloading."""
    lines = [f"**Question:** {answer.question}", "", answer.text, ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for c in answer.citations:
            page = f", p. {c.page}" if c.page else ""
            lines.append(
                f"- [{c.label}] KRIHS Policy Brief, “{c.title}”, {c.date or 'n.d.'}; {c.section}{page}."
            )
            lines.append(f"  > {c.quote}")
    elif answer.nearest:
        lines += ["**Nearest briefs**", ""] + [
            f"- {n.label} “{n.title}” ({n.date or 'n.d.'})" for n in answer.nearest
        ]
    return "\n".join(lines) + "\n"


def passage_rows(passages: Sequence[Passage]) -> list[list[Any]]:
    return [
        [i, p.label, p.title, p.date or "", p.section, p.page or "", round(p.score, 3), p.text, p.source]
        for i, p in enumerate(passages, start=1)
    ]


def passages_csv(passages: Sequence[Passage]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*PASSAGE_COLUMNS, "doc_id", "chunk_id", "authors", "citation"])
    for row, p in zip(passage_rows(passages), passages, strict=True):
        writer.writerow([*row, p.doc_id, p.chunk_id, p.authors or "", citation_text(p)])
    return out.getvalue()


def passages_json(passages: Sequence[Passage]) -> str:
    return json.dumps(
        [{**p.to_dict(), "citation": citation_text(p)} for p in passages], ensure_ascii=False, indent=2
    )


def passages_markdown(query: str, passages: Sequence[Passage]) -> str:
    lines = [f"# Passages for: {query}", ""]
    for i, p in enumerate(passages, start=1):
        lines += [f"## {i}. {citation_text(p)}", "", f"> {p.text}", ""]
    return "\n".join(lines)


def citation_text(p: Passage) -> str:
    """A reference a researcher can paste: authors, title, brief number, date, section, page."""
    who = f"{p.authors}. " if p.authors else ""
    page = f", p. {p.page}" if p.page else ""
    return f"{who}“{p.title}”. KRIHS Policy Brief {p.label}, {p.date or 'n.d.'}. Section: {p.section}{page}."


def library_rows(records: Sequence[BriefRecord]) -> list[list[Any]]:
    return [
        [r.label, r.title, r.date or "", r.language, r.chunks, r.source, r.doc_id]
        for r in sorted(records, key=lambda r: (r.date or "", r.doc_id), reverse=True)
    ]
