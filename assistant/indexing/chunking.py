"""Structure-aware chunks: blocks of one section are packed up to a token budget; a block is cut only
when it alone exceeds the budget, and then at sentence or sub-item boundaries.

Budgets are counted with the embedding model's own tokenizer, because a chunk longer than the
model's limit is silently truncated at embedding time and its tail becomes unsearchable.
Chunk ids are `doc_id:content-hash:index`, so the same file always yields the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.indexing.index import Indexable
from assistant.indexing.records import chunk_id
from assistant.models import Block, Brief, Chunk
from assistant.reading.structure import HEADER_SECTION, OVERVIEW_SECTION

CHUNKER_VERSION = "6"  # a brief read differently re-chunks it (5: counters, category labels and image
# file names of saved pages are page chrome; a series' name above the title is not the title; 6: a
# saved page's furniture above its title, download links and "등록자 … 보도일 …" lines are not text)
TokenCounter = Callable[[str], int]

_SEPARATORS = ["\n", ". ", "? ", "! ", "다. ", "。", "; ", ", ", " ", ""]


def chunker_signature(chunk_tokens: int, model_name: str) -> str:
    """Identifies how chunks were made; a brief indexed with another signature is re-chunked."""
    return f"v{CHUNKER_VERSION}:{chunk_tokens}:{model_name}"


def embedding_text(chunk: Indexable) -> str:
    """What the model embeds: the passage with its brief's title (and section, when it says something).

    The title gives every chunk the brief's topic, so that "the brief on shrinking cities" finds the
    right brief even from a chunk that never repeats those words.
    """
    if chunk.section == HEADER_SECTION:
        return chunk.text  # it holds the title already
    if chunk.section == OVERVIEW_SECTION:
        return f"{chunk.title}\n{chunk.text}"
    return f"{chunk.title}\n{chunk.section}: {chunk.text}"


def chunk_brief(
    brief: Brief,
    brief_hash: str,
    count_tokens: TokenCounter,
    *,
    chunk_tokens: int,
    model_max_tokens: int,
) -> list[Chunk]:
    """Split a brief into chunks that fit both the target size and the model's hard limit."""
    context_tokens = count_tokens(f"{brief.title}\n{OVERVIEW_SECTION}: ") + 2  # + [CLS] and [SEP]
    budget = max(32, min(chunk_tokens, model_max_tokens - context_tokens))
    pieces = list(_pack(brief.blocks, count_tokens, budget))
    return [
        Chunk(
            chunk_id=chunk_id(brief.doc_id, brief_hash, i),
            doc_id=brief.doc_id,
            index=i,
            text=text,
            section=section,
            start=start,
            end=end,
            page=page,
            volume=brief.volume,
            title=brief.title,
            date=brief.date,
            source=brief.source,
            language=brief.language,
            brief_hash=brief_hash,
            authors=brief.authors,
        )
        for i, (section, text, start, end, page) in enumerate(pieces)
    ]


Piece = tuple[str, str, int, int, int | None]  # section, text, start, end, page


def _pack(blocks: tuple[Block, ...], count: TokenCounter, budget: int) -> Iterator[Piece]:
    group: list[Block] = []
    group_tokens = 0
    for block in blocks:
        tokens = count(block.text)
        fits = group and group[0].section == block.section and group_tokens + tokens + 1 <= budget
        if group and (not fits or block.section == HEADER_SECTION):
            yield _join(group)
            group, group_tokens = [], 0
        if tokens > budget:
            yield from _split(block, count, budget)
            continue
        group.append(block)
        group_tokens += tokens + 1
        if block.section == HEADER_SECTION:
            yield _join(group)
            group, group_tokens = [], 0
    if group:
        yield _join(group)


def _join(group: list[Block]) -> Piece:
    first, last = group[0], group[-1]
    text = "\n".join(block.text for block in group)
    return first.section, text, first.start, last.end, first.page


def _split(block: Block, count: TokenCounter, budget: int) -> Iterator[Piece]:
    """Cut an over-long block at the strongest boundary that makes each piece fit."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=budget,
        chunk_overlap=min(24, budget // 8),
        length_function=count,
        separators=_SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    cursor = 0
    for piece in splitter.split_text(block.text):
        found = block.text.find(piece, max(0, cursor - len(piece)))
        offset = found if found >= 0 else cursor
        cursor = offset + len(piece)
        yield block.section, piece, block.start + offset, block.start + offset + len(piece), block.page
