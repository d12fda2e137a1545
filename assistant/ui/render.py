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
from dataclasses import dataclass
from typing import Any

from assistant.answering.conversation import Turn
from assistant.models import Answer, BriefRecord, Citation, Passage

# The columns of a passage export (CSV/JSON); the page's table is narrower (`SEARCH_COLUMNS`).
PASSAGE_COLUMNS = ["rank", "volume", "title", "date", "section", "page", "score", "passage", "file"]
SEARCH_COLUMNS = ["#", "passage", "brief", "date", "section · page", "match"]
SEARCH_WIDTHS: list[str | int] = ["4%", "54%", "18%", "9%", "10%", "5%"]
LIBRARY_COLUMNS = ["volume", "title", "date", "language", "chunks", "file"]


@dataclass(frozen=True)
class SourceView:
    """A cited passage with the text around it in its brief (the page's text, for a PDF)."""

    before: tuple[Passage, ...]
    after: tuple[Passage, ...]


def anchor(chunk_id: str) -> str:
    return "src-" + re.sub(r"[^A-Za-z0-9_-]", "-", chunk_id)


def _chip(citation: Citation) -> str:
    return (
        f' <a class="chip" href="#{anchor(citation.chunk_id)}" title="{html.escape(citation.title)}">'
        f"{html.escape(citation.label)}</a>"
    )


def context_note(answer: Answer) -> str:
    """ "About vol.616, from your previous question", when the answer continued the conversation."""
    if not answer.context:
        return ""
    labels = ", ".join(b.label for b in answer.context)
    return f"About {labels}, from your previous question."


def answer_markdown(answer: Answer) -> str:
    """The answer for the chat: each cited sentence followed by chips linking to its source card."""
    parts = []
    for sentence in answer.sentences:
        chips = "".join(_chip(c) for c in _one_per_passage(sentence.citations))
        parts.append(html.escape(sentence.text, quote=False) + chips)
    text = " ".join(parts)
    note = context_note(answer)
    head = f"<small class='context-note'>{html.escape(note)}</small>\n\n" if note else ""
    notes = "".join(f"\n\n<small>Note: {html.escape(n)}</small>" for n in answer.notes)
    return head + text + notes


def answer_plain(answer: Answer) -> str:
    """The answer as a person copies it: plain text with [vol.616] markers."""
    note = context_note(answer)
    return (f"({note})\n" if note else "") + answer.text


def _one_per_passage(citations: Sequence[Citation]) -> list[Citation]:
    seen: dict[str, Citation] = {}
    for c in citations:
        seen.setdefault(c.chunk_id, c)
    return list(seen.values())


def sources_html(answer: Answer | None, views: dict[str, SourceView] | None = None) -> str:
    """The sources panel: one card per cited passage, every sentence it supports highlighted; each card
    opens the passage in its brief, among the text around it."""
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
    quotes: dict[str, list[str]] = {}
    first: dict[str, Citation] = {}
    for citation in answer.citations:
        quotes.setdefault(citation.chunk_id, []).append(citation.quote)
        first.setdefault(citation.chunk_id, citation)
    blocks = []
    for chunk_id, citation in first.items():
        passage = by_chunk.get(chunk_id)
        text = passage.text if passage else citation.quote
        marked = mark(text, quotes[chunk_id])
        page = f", page {citation.page}" if citation.page else ""
        view = (views or {}).get(chunk_id)
        blocks.append(
            f"<div class='source' id='{anchor(chunk_id)}'>"
            f"<div class='source-head'><span class='chip'>{html.escape(citation.label)}</span> "
            f"<b>{html.escape(citation.title)}</b></div>"
            f"<div class='source-meta'>{html.escape(citation.date or 'undated')} · section: "
            f"{html.escape(citation.section)}{page} · file: {html.escape(citation.source)}</div>"
            f"<div class='source-text'>{marked}</div>{_in_brief(view, marked, citation)}</div>"
        )
    return "<div class='sources'>" + "".join(blocks) + "</div>"


def _in_brief(view: SourceView | None, marked: str, citation: Citation) -> str:
    if view is None:
        return ""
    where = f"page {citation.page} of the brief" if citation.page else "the brief"
    around = "".join(f"<p class='around'>{html.escape(p.text)}</p>" for p in view.before)
    after = "".join(f"<p class='around'>{html.escape(p.text)}</p>" for p in view.after)
    return (
        f"<details class='in-brief'><summary>Open in {where}</summary>"
        f"<div class='brief-view'>{around}<p class='cited'>{marked}</p>{after}</div></details>"
    )


def mark(text: str, quotes: Sequence[str]) -> str:
    """The passage with every supporting sentence highlighted."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        at = text.find(quote.rstrip("…")) if quote else -1
        if at >= 0:
            spans.append((at, at + len(quote.rstrip("…"))))
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            start = pos
        if start >= end:
            continue
        out += [html.escape(text[pos:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        pos = end
    return "".join(out) + html.escape(text[pos:])


def answer_export(answer: Answer) -> str:
    """The answer and its citations as Markdown, for downloading."""
    lines = [f"**Question:** {_md(answer.question)}", ""]
    if answer.context:
        lines += [f"*{context_note(answer)}*", ""]
    lines += [_md(answer.text), ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for c in answer.citations:
            page = f", p. {c.page}" if c.page else ""
            lines.append(
                f"- [{c.label}] KRIHS Policy Brief, “{_md(c.title)}”, {c.date or 'n.d.'}; "
                f"{_md(c.section)}{page}."
            )
            lines.append(f"  > {_md(c.quote)}")
    elif answer.nearest:
        lines += ["**Nearest briefs**", ""] + [
            f"- {n.label} “{_md(n.title)}” ({n.date or 'n.d.'})" for n in answer.nearest
        ]
    return "\n".join(lines) + "\n"


def conversation_export(turns: Sequence[Turn]) -> str:
    """A whole conversation as Markdown: every question, its answer and its sources."""
    parts = ["# Conversation with the KRIHS Policy Brief assistant", ""]
    for i, turn in enumerate(turns, start=1):
        parts += [f"## {i}. {_md(turn.question)}", "", answer_export(turn.answer)]
    return "\n".join(parts)


_MD_LINK = re.compile(r"\b(?:javascript|data|vbscript):", re.IGNORECASE)


def _md(text: str) -> str:
    """Text from a brief or a user, made inert in Markdown: no HTML, no script links."""
    return _MD_LINK.sub("(link removed):", html.escape(text, quote=False))


def passage_rows(passages: Sequence[Passage], matches: Sequence[float] | None = None) -> list[list[Any]]:
    """The search table: the passage first, the rest compact."""
    rows = []
    for i, p in enumerate(passages, start=1):
        title = p.title if len(p.title) <= 60 else p.title[:57].rstrip() + "…"
        where = p.section + (f" · p. {p.page}" if p.page else "")
        match = f"{matches[i - 1]:.0%}" if matches is not None else ""
        rows.append([i, p.text, f"{p.label} · {title} ({p.source})", p.date or "", where, match])
    return rows


def export_rows(passages: Sequence[Passage]) -> list[list[Any]]:
    return [
        [i, p.label, p.title, p.date or "", p.section, p.page or "", round(p.score, 3), p.text, p.source]
        for i, p in enumerate(passages, start=1)
    ]


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


def passages_csv(passages: Sequence[Passage]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*PASSAGE_COLUMNS, "doc_id", "chunk_id", "authors", "citation"])
    for row, p in zip(export_rows(passages), passages, strict=True):
        writer.writerow([_cell(v) for v in [*row, p.doc_id, p.chunk_id, p.authors or "", citation_text(p)]])
    return out.getvalue()


def passages_json(passages: Sequence[Passage]) -> str:
    return json.dumps(
        [{**p.to_dict(), "citation": citation_text(p)} for p in passages], ensure_ascii=False, indent=2
    )


def passages_markdown(query: str, passages: Sequence[Passage]) -> str:
    lines = [f"# Passages for: {_md(query)}", ""]
    for i, p in enumerate(passages, start=1):
        lines += [f"## {i}. {_md(citation_text(p))}", "", f"> {_md(p.text)}", ""]
    return "\n".join(lines)


def citation_text(p: Passage) -> str:
    """A reference a researcher can paste: authors, title, brief number, date, section, page."""
    who = f"{p.authors}. " if p.authors else ""
    page = f", p. {p.page}" if p.page else ""
    return f"{who}“{p.title}”. KRIHS Policy Brief {p.label}, {p.date or 'n.d.'}. Section: {p.section}{page}."


_STATE_NOTE = {
    "indexed": "",
    "updating": "⏳ update unfinished, the indexed version answers: ",
    "pending": "⏳ unfinished upload, not searchable yet: ",
}


def library_rows(records: Sequence[BriefRecord]) -> list[list[Any]]:
    return [
        [r.label, _STATE_NOTE[r.state] + r.title, r.date or "", r.language, r.chunks, r.source]
        for r in sorted(records, key=lambda r: (r.date or "", r.doc_id), reverse=True)
    ]


def brief_choices(records: Sequence[BriefRecord]) -> list[tuple[str, str]]:
    """(label, doc id) for a picker: two briefs with one volume are told apart by their files."""
    choices = []
    for r in sorted(records, key=lambda r: (volume_order(r), r.doc_id)):
        title = r.title if len(r.title) <= 50 else r.title[:47].rstrip() + "…"
        choices.append((f"{r.label} · {title} ({r.source})", r.doc_id))
    return choices


def volume_order(record: BriefRecord) -> tuple[int, str]:
    return (int(record.volume) if record.volume and record.volume.isdigit() else 10**9, record.doc_id)
